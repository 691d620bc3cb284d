"""The request consumer on the real broker (`helix.bus.requests`): jobs run as they arrive, a
job longer than `max.poll.interval.ms` keeps its consumer in the group, commits follow the
oldest unfinished request (a restart redoes exactly what was unfinished), and a request
whose data does not validate is dead-lettered and its job ends as failed, with the reason."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from helix.bus import HelixBus
from helix.bus.requests import PartitionFence
from helix.events import Actor, CloudEvent, JobFailed, SceneRequested, Topic, decode, encode, new_event
from helix.settings import HelixSettings
from tests.conftest import make_settings
from tests.integration.kafka_helpers import eventually, produce_raw, read_topic_async

pytestmark = pytest.mark.infra
GROUP = "tests-requests"


def scene(job_id: str) -> CloudEvent[SceneRequested]:
    return new_event(SceneRequested(production_id="lighthouse", job_id=job_id, requested_by=Actor(subject="dana"), prompt="a cliff"),
                     source="/tests")


def send(settings: HelixSettings, event: CloudEvent[Any]) -> None:
    produce_raw(settings, Topic.VISUAL_REQUESTS, encode(event), key=b"lighthouse")  # one key: one partition, in order


def committed(settings: HelixSettings) -> int:
    """The offset the group committed on the partition the requests went to (-1001: none)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": GROUP})
    try:
        parts = [TopicPartition(settings.topic(Topic.VISUAL_REQUESTS), p) for p in range(settings.topic_partitions)]
        return max(tp.offset for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


class Jobs:
    """A stand-in for the generator kit: records each run; some jobs wait until released."""

    def __init__(self, *, hold: set[str] | None = None, seconds: dict[str, float] | None = None) -> None:
        self.runs: Counter[str] = Counter()
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.hold = hold or set()
        self.seconds = seconds or {}
        self.release = asyncio.Event()

    async def __call__(self, event: CloudEvent[Any], fence: PartitionFence) -> None:
        job = event.data.job_id
        self.runs[job] += 1
        self.started.setdefault(job, time.monotonic())
        if job in self.hold:
            await self.release.wait()
        await asyncio.sleep(self.seconds.get(job, 0.0))
        await fence.confirm()  # what the kit does before it stores or announces anything
        self.finished[job] = time.monotonic()


async def consuming(settings: HelixSettings, jobs: Jobs) -> HelixBus:
    bus = HelixBus(settings, source="/tests/requests")
    bus.request_consumer(Topic.VISUAL_REQUESTS, group=GROUP, handles=(SceneRequested,), run=jobs, max_in_flight=8)
    await bus.start()
    return bus


async def test_a_job_longer_than_max_poll_interval_keeps_its_consumer_and_others_run_beside_it(infra_env: dict[str, str],
                                                                                                tmp_path: Path) -> None:
    settings = make_settings(infra_env, tmp_path, consumer_max_poll_interval_ms=10_000, consumer_session_timeout_ms=6_000)
    jobs = Jobs(seconds={"long": 16.0})
    bus = await consuming(settings, jobs)
    try:
        send(settings, scene("long"))
        await eventually(lambda: "long" in jobs.started, timeout=30, what="the long job to start")
        send(settings, scene("short"))
        await eventually(lambda: "short" in jobs.finished, timeout=10, what="a request that arrived during the long job")
        assert jobs.finished["short"] - jobs.started["long"] < 8, "it ran beside the long job, not after it"
        await eventually(lambda: "long" in jobs.finished, timeout=30, what="the long job")
        await eventually(lambda: committed(settings) == 2, timeout=15, what="both offsets committed")
    finally:
        await bus.stop()
    assert jobs.runs == {"long": 1, "short": 1}, "past max.poll.interval.ms nothing was revoked or redelivered"


async def test_commits_follow_the_oldest_unfinished_request(infra_env: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(infra_env, tmp_path)
    first = Jobs(hold={"r0"})
    bus = await consuming(settings, first)
    try:
        for n in range(3):
            send(settings, scene(f"r{n}"))
        await eventually(lambda: {"r1", "r2"} <= first.finished.keys() and "r0" in first.started, timeout=30, what="r1, r2 done, r0 held")
        await asyncio.sleep(1.0)
        assert committed(settings) <= 0, "nothing is committed past the unfinished r0 (offset 0: r0 is read next)"
    finally:
        await bus.stop(drain_s=0)  # r0 is stopped unfinished, as by a rollout past its grace period
    second = Jobs()
    bus = await consuming(settings, second)
    try:
        await eventually(lambda: "r0" in second.finished, timeout=30, what="r0 redelivered to the next consumer")
        await asyncio.sleep(1.0)
        await eventually(lambda: committed(settings) == 3, timeout=15, what="all three committed")
    finally:
        await bus.stop()
    assert second.runs == {"r0": 1}, "only the unfinished request is redone; r1 and r2 are skipped as handled"


async def test_a_request_that_does_not_validate_is_dead_lettered_and_its_job_fails(infra_env: dict[str, str], tmp_path: Path) -> None:
    settings = make_settings(infra_env, tmp_path)
    jobs = Jobs()
    bus = await consuming(settings, jobs)
    try:
        bad = json.loads(encode(scene("bad-size")))
        bad["data"]["width"] = 7  # not a multiple of 8: the contract refuses it
        produce_raw(settings, Topic.VISUAL_REQUESTS, json.dumps(bad).encode(), key=b"lighthouse")
        send(settings, scene("fine"))
        await eventually(lambda: "fine" in jobs.finished, timeout=30, what="the next request")
        dead = await read_topic_async(settings, Topic.DLQ, count=1, timeout=15)
        statuses = [decode(r.value()).data for r in await read_topic_async(settings, Topic.JOBS_STATUS, count=1, timeout=15)]
    finally:
        await bus.stop()
    assert jobs.runs == {"fine": 1}
    headers = dict(dead[0].headers())
    assert headers["helix-dlq-kind"] == b"invalid_data" and b"width" in headers["helix-dlq-reason"]
    (failed,) = statuses
    assert isinstance(failed, JobFailed) and failed.job_id == "bad-size" and "width" in failed.error and not failed.retriable


class _ConsumeCrashesOnce(Consumer):
    """confluent-kafka's consume() raises SystemError when a callback left an error behind
    (confluent-kafka-python #865): seen once after a broker restart, it ended the poll loop."""

    crashed = 0

    def consume(self, *args: Any, **kwargs: Any) -> list[Any]:
        if not type(self).crashed and self.assignment():
            type(self).crashed += 1
            raise SystemError("<built-in method consume> returned a result with an exception set")
        return super().consume(*args, **kwargs)


async def test_a_crash_inside_consume_does_not_end_the_poll_loop(infra_env: dict[str, str], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("helix.bus.requests.Consumer", _ConsumeCrashesOnce)
    settings = make_settings(infra_env, tmp_path)
    jobs = Jobs()
    bus = await consuming(settings, jobs)
    try:
        await eventually(lambda: _ConsumeCrashesOnce.crashed == 1, timeout=30, what="consume() to crash once")
        send(settings, scene("after-the-crash"))
        await eventually(lambda: "after-the-crash" in jobs.finished, timeout=30, what="a request sent after the crash")
    finally:
        await bus.stop()
    assert jobs.runs == {"after-the-crash": 1}


class _WedgesOnce(Consumer):
    """The first consumer made stops answering once it holds a partition: its poll never
    returns, as a client that lost every broker after a restart never gets back into its group."""

    made = 0
    release = threading.Event()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type(self).made += 1
        self.wedges = type(self).made == 1

    def consume(self, *args: Any, **kwargs: Any) -> list[Any]:
        if self.wedges and self.assignment() and jobs_started():
            type(self).release.wait(120)
            return []
        return super().consume(*args, **kwargs)


_started: set[str] = set()


def jobs_started() -> bool:
    return bool(_started)


async def test_a_consumer_that_drops_out_of_its_group_is_replaced_and_its_running_job_ends_once(
        infra_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("helix.bus.requests.Consumer", _WedgesOnce)
    # The stuck consumer still heartbeats (its poll is stuck, not librdkafka): the group frees its
    # partitions for the new one when it has not polled for max.poll.interval.ms.
    settings = make_settings(infra_env, tmp_path, consumer_wedged_after_s=6, consumer_stats_every_s=1, consumer_max_poll_interval_ms=10_000)
    jobs = Jobs(seconds={"r0": 2.0})
    original = jobs.__call__

    async def run(event: CloudEvent[Any], fence: PartitionFence) -> None:
        _started.add(event.data.job_id)
        await original(event, fence)

    bus = HelixBus(settings, source="/tests/requests")
    consumer = bus.request_consumer(Topic.VISUAL_REQUESTS, group=GROUP, handles=(SceneRequested,), run=run, max_in_flight=8)
    await bus.start()
    try:
        send(settings, scene("r0"))
        await eventually(lambda: _WedgesOnce.made == 2, timeout=60, what="the wedged consumer to be replaced")
        send(settings, scene("r1"))
        await eventually(lambda: {"r0", "r1"} <= jobs.finished.keys(), timeout=60, what="both requests done by the new consumer")
        await eventually(lambda: committed(settings) == 2, timeout=30, what="both committed")
    finally:
        _WedgesOnce.release.set()
        await bus.stop()
        _started.clear()
    assert consumer.in_flight == 0
    assert jobs.runs["r1"] == 1
    assert jobs.runs["r0"] in (1, 2), "r0 ran on the wedged consumer (stopped, it could store nothing) and again on the new one"
    assert len(jobs.finished) == 2
