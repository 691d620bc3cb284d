"""Raw confluent-kafka clients for tests: they see the wire, not Helix's view of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Message, Producer

from helix.settings import HelixSettings


def raw_producer(settings: HelixSettings, config: dict[str, Any] | None = None) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap, "acks": "all", **(config or {})})


def produce_raw(settings: HelixSettings, topic: str, value: bytes, *, key: bytes = b"p1", headers: dict[str, bytes] | None = None) -> None:
    producer = raw_producer(settings)
    producer.produce(settings.topic(topic), value=value, key=key, headers=list((headers or {}).items()))
    assert producer.flush(10) == 0, "message not delivered"


def read_topic(settings: HelixSettings, topic: str, *, count: int, timeout: float = 30.0) -> list[Message]:
    """Read `count` messages of a topic from the beginning with a throwaway group."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic(topic)])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                messages.append(msg)
    finally:
        consumer.close()
    return messages


async def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def read_topic_async(settings: HelixSettings, topic: str, *, count: int, timeout: float = 30.0) -> list[Message]:
    """`read_topic` off the event loop, so services running in this loop keep working."""
    return await asyncio.to_thread(read_topic, settings, topic, count=count, timeout=timeout)
