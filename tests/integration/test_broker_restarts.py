"""Consumers after many broker restarts (`helix.bus.watchdog`): every group keeps reading.

Now and then a librdkafka client comes out of a broker restart with no broker left in its
metadata (the restarting KRaft broker answered a metadata request listing none): its group
state stays `query-coord`, its coordinator connection `TRY_CONNECT`, for good. Probed here
before the watchdog: one consumer of four wedged within twelve restarts. With it, the wedged
consumer is replaced and reads on; this suite restarts the broker again and again under
four subscriber groups and a request consumer and checks that every event reaches every
group, every request ends once, and nothing is handled twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from helix.bus import HelixBus
from helix.bus.admin import ensure_topics
from helix.bus.requests import PartitionFence
from helix.events import Actor, CloudEvent, JobProgress, SceneRequested, Topic
from helix.events.examples import example
from helix_dev.infra.local import LocalInfra
from tests.conftest import make_settings
from tests.integration.private_infra import private_infra

pytestmark = [pytest.mark.infra, pytest.mark.slow]
RESTARTS = 10
GROUPS = 4


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A broker of this module's own: the test restarts it."""
    with private_infra(tmp_path_factory.mktemp("servers"), ("kafka",)) as infra:
        yield infra


def replaced() -> float:
    return sum(s.value for m in REGISTRY.collect() if m.name == "helix_kafka_consumers_replaced" for s in m.samples
               if s.name.endswith("_total"))


@pytest.mark.timeout(1200)
async def test_every_group_reads_on_after_each_of_many_broker_restarts(servers: LocalInfra, tmp_path: Path) -> None:
    settings = make_settings(servers.env(), tmp_path, consumer_wedged_after_s=20, consumer_stats_every_s=2)
    await asyncio.to_thread(ensure_topics, settings)
    handled: dict[str, Counter[str]] = {f"g{n}": Counter() for n in range(GROUPS)}
    jobs: Counter[str] = Counter()
    buses = []
    for group in handled:
        bus = HelixBus(settings, source=f"/tests/restarts/{group}")

        def collect_into(counts: Counter[str]) -> Any:
            async def collect(events: list[CloudEvent[Any]]) -> None:
                counts.update(e.id for e in events)
            return collect

        bus.batch_consumer(Topic.JOBS_STATUS, group=group)(collect_into(handled[group]))
        buses.append(bus)

    async def run(event: CloudEvent[Any], fence: PartitionFence) -> None:
        await fence.confirm()
        jobs[event.data.job_id] += 1

    buses[0].request_consumer(Topic.VISUAL_REQUESTS, group="tests-restarts-requests", handles=(SceneRequested,), run=run)
    producer = HelixBus(settings, source="/tests/restarts/producer")
    sent: list[str] = []
    requests: list[str] = []
    stop = asyncio.Event()

    async def feed() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:  # while the broker is away a publish waits, then fails: count only what the broker took
                event = await asyncio.wait_for(producer.publish(example(JobProgress, step=f"s{n}")), 30)
                sent.append(event.id)
                if n % 10 == 0:
                    request = SceneRequested(production_id="lighthouse", job_id=f"r{n}", requested_by=Actor(subject="dana"), prompt="a cliff")
                    await asyncio.wait_for(producer.publish(request), 30)
                    requests.append(f"r{n}")
            except Exception:
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.05)

    before = replaced()
    async with producer:
        for bus in buses:
            await bus.start()
        feeding = asyncio.create_task(feed())
        try:
            for restart in range(RESTARTS):
                await asyncio.sleep(5)
                await asyncio.to_thread(servers.down, ("kafka",))
                await asyncio.sleep(10)
                await asyncio.to_thread(servers.up, ("kafka",))
                mark = len(sent)
                deadline = time.monotonic() + settings.consumer_wedged_after_s * 4
                while time.monotonic() < deadline and not (
                        len(sent) > mark + 20 and all(set(sent[:mark + 10]) <= c.keys() for c in handled.values())):
                    await asyncio.sleep(1)
                behind = {g: len(set(sent[:mark + 10]) - c.keys()) for g, c in handled.items()}
                assert not any(behind.values()), f"after restart {restart + 1}, events not read by each group: {behind}"
        finally:
            stop.set()
            await feeding
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and set(requests) - jobs.keys():
            await asyncio.sleep(1)
        for bus in buses:
            await bus.stop()
    print(f"\n{RESTARTS} restarts: {len(sent)} events, {len(requests)} requests, consumers replaced {replaced() - before:.0f}")
    assert set(requests) <= jobs.keys(), f"requests never run: {sorted(set(requests) - jobs.keys())}"
    assert not [j for j, n in jobs.items() if n > 1], "a request ran to its end twice"
    for group, counts in handled.items():
        assert not [e for e, n in counts.items() if n > 1], f"{group} handled an event twice"
