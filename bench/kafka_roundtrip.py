"""Messages/s through the Helix bus beside raw confluent-kafka, same broker, same run.

Helix side: `HelixBus.publish` (CloudEvent envelope, pydantic, confirmed delivery with
acks=all + idempotence), and a Helix consumer (decode + validate into the typed model,
dedupe check and mark, commit after the handler). Baseline: a raw confluent-kafka
Producer with the same acks/idempotence, and a raw Consumer that reads the same bytes
with auto-commit, no parsing. Uses the running local infra (`helix infra up`) or starts it.

    uv run python bench/kafka_roundtrip.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.bus import HelixBus, ensure_topics  # noqa: E402
from helix.events import CloudEvent, JobProgress, Topic, encode, new_event  # noqa: E402
from helix.events.examples import example  # noqa: E402
from helix.logs import configure_logging  # noqa: E402
from helix.settings import HelixSettings, load_settings  # noqa: E402


def bench_settings(state_dir: str) -> HelixSettings:
    if not os.environ.get("HELIX_KAFKA_BOOTSTRAP"):
        from helix_dev.infra import LocalInfra

        LocalInfra().up(("kafka",))
    return load_settings(
        topic_namespace=f"bench{uuid.uuid4().hex[:8]}",
        topic_partitions=1,  # one partition: ordered, like one production's events
        database_url=f"sqlite:///{state_dir}/bench.db",
        service_name="bench",
    )


def raw_round_trip(settings: HelixSettings, topic: str, payloads: list[bytes]) -> tuple[float, float]:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    producer.produce(settings.topic("warmup"), value=b"x")  # idempotent producer id, metadata
    producer.flush(30)
    started = time.perf_counter()
    for value in payloads:
        while True:
            try:
                producer.produce(topic, value=value, key=b"lighthouse")
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    assert producer.flush(60) == 0
    produce_rate = len(payloads) / (time.perf_counter() - started)

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"raw-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = 0
    first = None
    while got < len(payloads):
        for msg in consumer.consume(num_messages=500, timeout=1.0):
            if msg.error():
                continue
            first = first or time.perf_counter()
            got += 1
    consume_rate = got / (time.perf_counter() - first)
    consumer.close()
    return produce_rate, consume_rate


async def helix_round_trip(settings: HelixSettings, events: list[CloudEvent[Any]], concurrency: int) -> tuple[float, float]:
    done = asyncio.Event()
    handled = 0
    first: list[float] = []

    producer = HelixBus(settings, source="/bench/producer")
    async with producer:
        await producer.broker.publish(b"x", settings.topic("warmup"))  # same warm-up as raw
        started = time.perf_counter()
        for i in range(0, len(events), concurrency):
            await asyncio.gather(*(producer.publish_event(e) for e in events[i : i + concurrency]))
        produce_rate = len(events) / (time.perf_counter() - started)

    consumer = HelixBus(settings, source="/bench/consumer")

    @consumer.consumer(Topic.JOBS_STATUS, group="bench")
    async def handle(event: CloudEvent[Any]) -> None:
        nonlocal handled
        if not first:
            first.append(time.perf_counter())
        handled += 1
        if handled == len(events):
            done.set()

    async with consumer:
        await asyncio.wait_for(done.wait(), timeout=600)
        consume_rate = handled / (time.perf_counter() - first[0])
    return produce_rate, consume_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=500, help="Helix publishes awaited together")
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False)
    with tempfile.TemporaryDirectory() as state_dir:
        settings = bench_settings(state_dir)
        ensure_topics(settings, [Topic.JOBS_STATUS, Topic.DLQ])
        events = [new_event(example(JobProgress, fraction=(i % 100) / 100), source="/bench") for i in range(args.messages)]
        payloads = [encode(e) for e in events]
        raw_topic = settings.topic("raw.baseline")
        ensure_topics(settings, ["raw.baseline", "warmup"])
        print(f"{args.messages} messages of ~{sum(map(len, payloads)) // len(payloads)} bytes on {settings.kafka_bootstrap}")
        raw_produce, raw_consume = raw_round_trip(settings, raw_topic, payloads)
        print(f"raw confluent-kafka: produce {raw_produce:,.0f} msg/s, consume {raw_consume:,.0f} msg/s")
        helix_produce, helix_consume = asyncio.run(helix_round_trip(settings, events, args.concurrency))
        print(f"Helix bus:           publish {helix_produce:,.0f} msg/s, consume {helix_consume:,.0f} msg/s")

    raw_total = 1 / (1 / raw_produce + 1 / raw_consume)
    helix_total = 1 / (1 / helix_produce + 1 / helix_consume)
    for name, value, base, what in (
        ("kafka_roundtrip.publish", helix_produce, raw_produce, "publish rate: envelope + validation + confirmed delivery"),
        ("kafka_roundtrip.consume", helix_consume, raw_consume, "consume rate: decode + validate + dedupe + commit per message"),
        ("kafka_roundtrip.total", helix_total, raw_total, "publish+consume, messages/s end to end"),
    ):
        e = record(name, value=value, unit="msg/s", baseline=base, description=what, baseline_label="raw confluent-kafka")
        print(f"{name}: {e['value']:,} msg/s vs {e['baseline']:,} → ratio {e['ratio']}")


if __name__ == "__main__":
    main()
