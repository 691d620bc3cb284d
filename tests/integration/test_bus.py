"""The Helix bus on a real Kafka broker: round trips, dedupe, dead letters, retries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from helix.bus import DLQ_HEADER_PREFIX, HelixBus, TransientError
from helix.events import (
    EVENT_MODELS,
    AssetGenerated,
    CloudEvent,
    JobProgress,
    Topic,
    encode,
    new_event,
)
from helix.events.examples import example
from helix.settings import HelixSettings
from tests.integration.kafka_helpers import eventually, produce_raw, read_topic

pytestmark = pytest.mark.infra


def _collecting_bus(settings: HelixSettings, topic: Topic, group: str = "g", **kwargs: Any) -> tuple[HelixBus, list[CloudEvent[Any]]]:
    bus = HelixBus(settings, source="/helix/tests")
    seen: list[CloudEvent[Any]] = []

    @bus.consumer(topic, group=group, **kwargs)
    async def collect(event: CloudEvent[Any]) -> None:
        seen.append(event)

    return bus, seen


async def test_every_event_type_round_trips_through_the_broker(settings: HelixSettings) -> None:
    buses, inboxes = {}, {}
    for topic in {m.topic for m in EVENT_MODELS}:
        buses[topic], inboxes[topic] = _collecting_bus(settings, topic)
    producer = HelixBus(settings, source="/helix/tests/producer")
    sent: dict[str, CloudEvent[Any]] = {}
    async with producer:
        for bus in buses.values():
            await bus.start()
        try:
            for model in EVENT_MODELS:
                event = await producer.publish(example(model))
                sent[event.id] = event
            total = len(EVENT_MODELS)
            await eventually(lambda: sum(len(v) for v in inboxes.values()) >= total, what="all events")
        finally:
            for bus in buses.values():
                await bus.stop()
    received = {e.id: e for inbox in inboxes.values() for e in inbox}
    assert received.keys() == sent.keys()
    for event_id, event in sent.items():
        got = received[event_id]
        assert type(got.data) is type(event.data)
        assert got.model_dump() == event.model_dump(), f"{event.type} changed on the way"
        assert got.data.topic == event.data.topic
    # every record landed on its contract topic with the CloudEvents content type and key
    records = read_topic(settings, Topic.ASSETS_GENERATED, count=1)
    assert dict(records[0].headers())["content-type"] == b"application/cloudevents+json"
    assert records[0].key() == b"lighthouse"


async def test_a_message_published_twice_is_handled_once(settings: HelixSettings) -> None:
    bus = HelixBus(settings, source="/helix/tests")
    handled: list[str] = []

    @bus.consumer(Topic.JOBS_STATUS, group="idempotent")
    async def count(event: CloudEvent[Any]) -> None:
        handled.append(event.id)

    event = new_event(example(JobProgress), source="/helix/tests")
    sentinel = new_event(example(JobProgress, step="after"), source="/helix/tests")
    async with bus:
        await bus.publish_event(event)
        await bus.publish_event(event)  # a producer retry or a replay: same event id
        await bus.publish_event(sentinel)  # same key, same partition: arrives after both
        await eventually(lambda: sentinel.id in handled, what="sentinel")
    assert handled == [event.id, sentinel.id]
    assert len(read_topic(settings, Topic.JOBS_STATUS, count=3)) == 3, "both copies were on the wire"


async def test_malformed_messages_go_to_the_dlq_and_the_consumer_goes_on(settings: HelixSettings) -> None:
    bus, seen = _collecting_bus(settings, Topic.ASSETS_GENERATED, group="dlq-test")
    good = new_event(example(AssetGenerated), source="/helix/tests")
    wrong_schema = json.loads(encode(good))
    del wrong_schema["data"]["sha256"]
    wrong_schema["id"] = "wrong-schema"
    unknown_type = {**json.loads(encode(good)), "id": "unknown-type", "type": "helix.asset.teleported"}
    async with bus:
        produce_raw(settings, Topic.ASSETS_GENERATED, b"\x00not json at all", headers={"x-studio": b"acme"})
        produce_raw(settings, Topic.ASSETS_GENERATED, json.dumps(wrong_schema).encode())
        produce_raw(settings, Topic.ASSETS_GENERATED, json.dumps(unknown_type).encode())
        produce_raw(settings, Topic.ASSETS_GENERATED, encode(good))
        await eventually(lambda: len(seen) == 1, what="the good event after three bad ones")
    assert seen[0].id == good.id

    dead = read_topic(settings, Topic.DLQ, count=3)
    assert len(dead) == 3
    assert REGISTRY.get_sample_value("helix_dead_letters_total", {"group": "dlq-test", "kind": "not_json"}) == 1
    assert REGISTRY.get_sample_value(
        "helix_events_consumed_total", {"group": "dlq-test", "type": "helix.asset.generated", "outcome": "handled"}
    ) == 1
    by_kind = {dict(m.headers())[f"{DLQ_HEADER_PREFIX}kind"].decode(): m for m in dead}
    assert set(by_kind) == {"not_json", "invalid_data", "unknown_type"}
    not_json = by_kind["not_json"]
    assert not_json.value() == b"\x00not json at all", "original bytes kept"
    headers = {k: v.decode() for k, v in not_json.headers()}
    assert headers["x-studio"] == "acme", "original headers kept"
    assert headers[f"{DLQ_HEADER_PREFIX}topic"] == settings.topic(Topic.ASSETS_GENERATED)
    assert headers[f"{DLQ_HEADER_PREFIX}group"] == "dlq-test"
    assert int(headers[f"{DLQ_HEADER_PREFIX}offset"]) >= 0
    assert "data.sha256: Field required" in dict(by_kind["invalid_data"].headers())[f"{DLQ_HEADER_PREFIX}reason"].decode()
    assert "helix.asset.teleported" in dict(by_kind["unknown_type"].headers())[f"{DLQ_HEADER_PREFIX}reason"].decode()


async def test_transient_failures_are_retried_then_succeed(settings: HelixSettings) -> None:
    bus = HelixBus(settings, source="/helix/tests")
    calls: list[int] = []

    @bus.consumer(Topic.JOBS_STATUS, group="flaky")
    async def flaky(event: CloudEvent[Any]) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("asset store briefly away")

    async with bus:
        await bus.publish(example(JobProgress))
        await eventually(lambda: len(calls) == 3, what="third attempt")
        await asyncio.sleep(0.5)
    assert len(calls) == 3
    assert read_topic(settings, Topic.DLQ, count=1, timeout=2) == []


async def test_persistent_failures_dead_letter_after_bounded_retries(settings: HelixSettings) -> None:
    bus = HelixBus(settings, source="/helix/tests")
    calls: dict[str, int] = {"transient": 0, "bug": 0}
    after: list[str] = []

    @bus.consumer(Topic.JOBS_STATUS, group="failing")
    async def failing(event: CloudEvent[Any]) -> None:
        step = event.data.step
        if step in calls:
            calls[step] += 1
            raise TransientError("still down") if step == "transient" else ValueError("a bug in the handler")
        after.append(step)

    async with bus:
        for step in ("transient", "bug", "ok"):
            await bus.publish(example(JobProgress, step=step))
        await eventually(lambda: after == ["ok"], what="the message after the failures")
    assert calls == {"transient": settings.retry_attempts, "bug": 1}, "transient retried, bugs not"
    dead = {dict(m.headers())[f"{DLQ_HEADER_PREFIX}kind"].decode(): m for m in read_topic(settings, Topic.DLQ, count=2)}
    assert set(dead) == {"handler_transient", "handler_error"}
    assert "ValueError: a bug in the handler" in dict(dead["handler_error"].headers())[f"{DLQ_HEADER_PREFIX}reason"].decode()


async def test_bus_failure_rewinds_instead_of_skipping(settings: HelixSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the dedupe store is unreachable, the message is retried, never committed past."""
    bus, seen = _collecting_bus(settings, Topic.JOBS_STATUS, group="rewind")
    original = bus.processed.seen_many
    failures = []

    async def seen_with_outage(group: str, event_ids: list[str]) -> set[str]:
        if not failures:
            failures.extend(event_ids)
            raise ConnectionError("database restarting")
        return await original(group, event_ids)

    monkeypatch.setattr(bus.processed, "seen_many", seen_with_outage)
    async with bus:
        event = await bus.publish(example(JobProgress))
        await eventually(lambda: len(seen) == 1, what="redelivery after the outage")
    assert failures == [event.id] and seen[0].id == event.id


async def test_handles_filter_skips_other_types_on_a_shared_topic(settings: HelixSettings) -> None:
    from helix.events import JobAccepted, JobCompleted

    bus, seen = _collecting_bus(settings, Topic.JOBS_STATUS, group="only-completed", handles=(JobCompleted,))
    async with bus:
        await bus.publish(example(JobAccepted))
        done = await bus.publish(example(JobCompleted))
        await eventually(lambda: len(seen) == 1, what="completed event")
    assert [e.id for e in seen] == [done.id]
    assert read_topic(settings, Topic.DLQ, count=1, timeout=2) == [], "skipping is not dead-lettering"


async def test_batch_consumer_gets_whole_polls_and_isolates_a_poison_event(settings: HelixSettings) -> None:
    bus = HelixBus(settings, source="/helix/tests")
    calls: list[list[str]] = []

    @bus.batch_consumer(Topic.JOBS_STATUS, group="batched")
    async def handle(events: list[CloudEvent[Any]]) -> None:
        calls.append([e.data.step for e in events])
        if any(e.data.step == "poison" for e in events):
            raise ValueError("cannot handle poison")

    producer = HelixBus(settings, source="/helix/tests/producer")
    async with producer:  # published before the consumer starts: they arrive in one poll
        for step in ("a", "b", "poison", "c"):
            await producer.publish(example(JobProgress, step=step))
    async with bus:
        await eventually(lambda: ["c"] in calls, what="one-by-one retry after the failed batch")
    assert calls[0] == ["a", "b", "poison", "c"], "one call for the whole poll"
    assert calls[1:] == [["a"], ["b"], ["poison"], ["c"]]
    (dead,) = read_topic(settings, Topic.DLQ, count=1)
    assert b"poison" in dead.value()


async def test_batch_handler_settles_each_event_on_its_own(settings: HelixSettings) -> None:
    """A batch handler that returns one outcome per event: a failed event is dead-lettered
    alone and the ones that succeeded are not run again."""
    bus = HelixBus(settings, source="/helix/tests")
    calls: list[list[str]] = []

    @bus.batch_consumer(Topic.JOBS_STATUS, group="settled")
    async def handle(events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        calls.append([e.data.step for e in events])
        return [ValueError("cannot do poison") if e.data.step == "poison" else None for e in events]

    producer = HelixBus(settings, source="/helix/tests/producer")
    async with producer:
        for step in ("a", "poison", "b"):
            await producer.publish(example(JobProgress, step=step))
    async with bus:
        await eventually(lambda: bool(read_topic(settings, Topic.DLQ, count=1, timeout=0.5)), what="the poison event dead-lettered")
        await asyncio.sleep(0.5)
    assert calls == [["a", "poison", "b"]], "one call; nothing re-run event by event"
    (dead,) = read_topic(settings, Topic.DLQ, count=1)
    headers = dict(dead.headers())
    assert b"poison" in dead.value() and headers["helix-dlq-kind"] == b"handler_error"
    assert b"cannot do poison" in headers["helix-dlq-reason"]


async def test_processed_ids_older_than_the_topic_retention_are_pruned_on_a_schedule(settings: HelixSettings) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from helix.bus.dedupe import ProcessedEvent

    settings = settings.model_copy(update={"dedupe_keep_s": 3600.0, "dedupe_prune_every_s": 0.2})
    bus = HelixBus(settings, source="/helix/tests")
    await bus.processed.mark_many("g", ["old-1", "old-2", "fresh"])
    with bus.processed.engine.begin() as conn:  # two ids handled long ago, past the retention
        conn.execute(update(ProcessedEvent).where(ProcessedEvent.event_id.in_(["old-1", "old-2"]))
                     .values(processed_at=datetime.now(UTC) - timedelta(days=9)))
    async with bus:
        await eventually(lambda: not bus.processed._seen_many("g", ["old-1", "old-2"]), what="the old ids pruned")
        await bus.processed.mark_many("g", ["newer"])
        await asyncio.sleep(0.5)  # a few more rounds: nothing recent goes
    assert await bus.processed.seen_many("g", ["old-1", "old-2", "fresh", "newer"]) == {"fresh", "newer"}


async def test_a_lost_broker_is_told_once_and_its_return_once(settings: HelixSettings) -> None:
    """Hundreds of client 'connection refused' lines become one line when the broker goes and
    one when it is back (with the count folded in); the probe sees both directions."""
    import logging

    from structlog.testing import capture_logs

    from helix.bus.health import BrokerHealth, ClientNoise
    from helix_dev.infra.process import free_port

    health = BrokerHealth()
    noise = ClientNoise(health)
    refused = [logging.LogRecord("faststream.confluent._proxy", logging.ERROR, __file__, 1,
                                 "FAIL [helix-writer#producer-1] [thrd:127.0.0.1:9092/bootstrap]: Connect to ipv4#127.0.0.1:9092 failed: "
                                 "Connection refused (after 0ms in state CONNECT)", None, None) for _ in range(500)]
    other = logging.LogRecord("faststream.confluent._proxy", logging.WARNING, __file__, 1, "Topic helix.x: unknown partition", None, None)
    with capture_logs() as logs:
        kept = [noise.filter(r) for r in refused]
        assert noise.filter(other), "other client warnings still reach the log"
        dead = {"bootstrap.servers": f"127.0.0.1:{free_port()}"}
        probe = asyncio.create_task(health.probe_forever(dead, every_s=0.3))
        await asyncio.sleep(2.0)
        probe.cancel()
        assert health.reachable is False and "unreachable since" in health.describe()
        probe = asyncio.create_task(health.probe_forever(settings.kafka_client_config(), every_s=0.3))
        await eventually(lambda: health.reachable is True, what="the probe to reach the broker")
        probe.cancel()
    assert not any(kept), "no connection error line reaches the log"
    told = [e for e in logs if e["event"].startswith("kafka.broker_")]
    assert [e["event"] for e in told] == ["kafka.broker_unreachable", "kafka.broker_reachable"], told
    assert told[1]["client_errors_folded"] >= 499 and told[1]["after_s"] >= 1.5


async def test_subscribers_found_out_of_their_group_are_replaced_and_read_on_without_doubles(settings: HelixSettings,
                                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings.model_copy(update={"consumer_stats_every_s": 0.5})
    bus, seen = _collecting_bus(settings, Topic.JOBS_STATUS, group="replaced")
    told: list[dict[str, str]] = []

    def wedged_once(**_: object) -> dict[str, str]:
        if told:
            return {}
        told.append({"helix-tests#consumer-1": "not a working member for 90 s (group state query-coord/init)"})
        return told[-1]

    producer = HelixBus(settings, source="/helix/tests/producer")
    async with producer, bus:
        before = [await producer.publish(example(JobProgress, step=f"before-{n}")) for n in range(5)]
        await eventually(lambda: len(seen) >= 5, what="the first five")
        consumers = [s.consumer for s in bus.broker.subscribers]
        monkeypatch.setattr(bus.watch, "wedged", wedged_once)
        await eventually(lambda: all(s.consumer is not None and s.consumer not in consumers for s in bus.broker.subscribers),
                         what="a new consumer for every subscriber")
        after = [await producer.publish(example(JobProgress, step=f"after-{n}")) for n in range(5)]
        await eventually(lambda: len(seen) >= 10, what="the next five, read by the new consumer")
        await asyncio.sleep(2)
    assert [e.id for e in seen] == [e.id for e in before + after], "every event once, in order"
