"""The dead-letter topic for operators: list what failed and why, inspect one record, and
replay records to the topic they came from, exactly as they were (value, key and the
original headers; the `helix-dlq-*` headers are dropped), once the cause is fixed.

A replayed event is handled again by the consumer group that dead-lettered it; groups that
had handled it skip it (the bus deduplicates event ids per group). Every replay adds a
`helix-replayed-from` header naming the DLQ record, so a record replayed twice can be told.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from helix.bus import DLQ_HEADER_PREFIX
from helix.bus.messages import error_code, header_pairs, position
from helix.events import Topic
from helix.settings import HelixSettings

REPLAYED_FROM = "helix-replayed-from"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    @property
    def coordinates(self) -> str:
        return f"{self.partition}:{self.offset}"

    def dlq(self, name: str) -> str:
        for key, value in self.headers:
            if key == DLQ_HEADER_PREFIX + name:
                return value.decode("utf-8", "replace")
        return ""

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]

    def event(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.value)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def summary(self) -> dict[str, Any]:
        event = self.event() or {}
        return {"at": self.dlq("at"), "coordinates": self.coordinates, "topic": self.dlq("topic"), "group": self.dlq("group"),
                "kind": self.dlq("kind"), "type": event.get("type", ""), "event_id": event.get("id", ""), "reason": self.dlq("reason")}


def read(settings: HelixSettings, *, timeout: float = 10.0) -> Iterator[DeadLetter]:
    """Every record on the DLQ, oldest first per partition (reads to the end, commits nothing)."""
    topic = settings.topic(Topic.DLQ)
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"helix-dlq-reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": True})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return
        partitions = []
        for p in sorted(metadata.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                partitions.append(TopicPartition(topic, p, low))
        if not partitions:
            return
        consumer.assign(partitions)
        remaining = {tp.partition for tp in partitions}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if (code := error_code(msg)) is not None:
                if code == KafkaError._PARTITION_EOF:  # this partition is read to its end
                    remaining.discard(msg.partition())
                    continue
                raise KafkaException(msg.error())
            deadline = time.monotonic() + timeout
            _topic, partition, offset = position(msg)
            yield DeadLetter(partition, offset, msg.key(), msg.value() or b"", header_pairs(msg))
    finally:
        consumer.close()


def select(letters: Iterable[DeadLetter], *, coordinates: Iterable[str] = (), kind: str = "", topic: str = "", group: str = "",
           event_type: str = "") -> list[DeadLetter]:
    wanted = set(coordinates)
    return [d for d in letters
            if (not wanted or d.coordinates in wanted) and (not kind or d.dlq("kind") == kind)
            and (not topic or d.dlq("topic").endswith(topic)) and (not group or d.dlq("group") == group)
            and (not event_type or (d.event() or {}).get("type") == event_type)]


def replay(settings: HelixSettings, letters: Iterable[DeadLetter], *, timeout: float = 30.0) -> list[tuple[DeadLetter, str]]:
    """Send each record back to its original topic, as it was; returns (record, topic) sent."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    sent: list[tuple[DeadLetter, str]] = []
    failures: list[str] = []
    for letter in letters:
        target = letter.dlq("topic")
        if not target:
            failures.append(f"{letter.coordinates}: no {DLQ_HEADER_PREFIX}topic header, so no topic to return it to")
            continue
        headers: list[tuple[str, str | bytes | None]] = [*letter.original_headers, (REPLAYED_FROM, f"{settings.topic(Topic.DLQ)}:{letter.coordinates}".encode())]

        def delivered(err: Any, _msg: Any, letter: DeadLetter = letter) -> None:
            if err is not None:
                failures.append(f"{letter.coordinates}: {err}")

        producer.produce(target, value=letter.value, key=letter.key, headers=headers, on_delivery=delivered)
        sent.append((letter, target))
    left = producer.flush(timeout)
    if left or failures:
        raise RuntimeError("replay incomplete: " + "; ".join(failures or [f"{left} records not acknowledged in {timeout} s"]))
    return sent
