"""The request consumer's rebalance callbacks, without a broker: they never let an exception
out (librdkafka would leave the rebalance half done and the consumer unassigned for good),
and losing a partition stops its jobs even while the event loop ends some of them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from helix.bus import HelixBus
from helix.bus.requests import PartitionFence, RequestConsumer, _Partition
from helix.events import SceneRequested, Topic
from helix.settings import HelixSettings


class EndingLoop:
    """An event loop that ends a job (removes it from its partition) as each cancel is scheduled,
    as the real one may while the poll thread runs a rebalance callback."""

    def __init__(self, part: _Partition) -> None:
        self.part, self.cancelled = part, 0

    def is_closed(self) -> bool:
        return False

    def call_soon_threadsafe(self, callback: Any) -> None:
        self.cancelled += 1
        if self.part.running:
            self.part.running.pop(next(iter(self.part.running)))


@pytest.fixture
def consumer() -> RequestConsumer:
    async def run(*_: Any) -> None:
        return None

    bus = HelixBus(HelixSettings(), source="/tests")
    return RequestConsumer(bus, Topic.VISUAL_REQUESTS, group="tests", handles=(SceneRequested,), run=run, max_in_flight=4)


def partition(consumer: RequestConsumer, jobs: int) -> tuple[TopicPartition, _Partition]:
    key = (consumer.topic, 0)
    part = _Partition(PartitionFence(consumer, key))
    loop = asyncio.new_event_loop()
    part.running = {offset: loop.create_task(asyncio.sleep(0)) for offset in range(jobs)}
    consumer._partitions[key] = part
    for task in part.running.values():
        task.cancel()
    loop.run_until_complete(asyncio.gather(*part.running.values(), return_exceptions=True))
    loop.close()
    return TopicPartition(consumer.topic, 0), part


def test_losing_a_partition_stops_every_job_while_the_loop_ends_some(consumer: RequestConsumer) -> None:
    tp, part = partition(consumer, jobs=5)
    loop = EndingLoop(part)
    consumer._loop = loop  # type: ignore[assignment]
    consumer._on_lost(None, [tp])  # type: ignore[arg-type]
    assert part.fence.lost and loop.cancelled == 5 and (consumer.topic, 0) not in consumer._partitions


def test_no_rebalance_callback_lets_an_exception_out(consumer: RequestConsumer, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(keys: list[tuple[str, int]]) -> None:
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(consumer, "_lose", broken)
    tp = TopicPartition(consumer.topic, 0)
    consumer._on_lost(None, [tp])  # type: ignore[arg-type]
    consumer._on_revoke(None, [tp])  # type: ignore[arg-type]
