"""The outbox relay: decision events committed with their decisions go out in order, each once
it is marked, again after a failed publish, and right away when a decision wakes the relay.
The bus is the core's MemoryBus behind the relay's `publish_encoded`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from sqlalchemy import select

from helix.events import ReviewApproved, ReviewRejected, Topic, decode
from helix.testing import MemoryBus
from helix_review.db import OutboxEvent
from helix_review.desk import ReviewDesk
from helix_review.outbox import OutboxRelay

from .conftest import ANNA, add_item


class EncodedBus:
    """Takes encoded CloudEvents as the real bus does, and publishes them, ids kept, on a MemoryBus."""

    def __init__(self, fail: int = 0) -> None:
        self.memory = MemoryBus()
        self.fail = fail
        self.sent: list[tuple[str, str, dict[str, str] | None]] = []

    async def publish_encoded(self, topic: Topic | str, value: bytes, *, key: str, headers: dict[str, str] | None = None) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("the broker is away")
        event = decode(value)
        self.sent.append((str(topic), key, headers))
        await self.memory.publish(event.data, event_id=event.id)


def decide(desk: ReviewDesk, outcome: str = "approved", production: str = "prod-a") -> str:
    item_id = add_item(desk, production=production)
    desk.decisions.claim_next(ANNA, productions=[], item_id=item_id)
    return desk.decisions.decide(item_id, ANNA, outcome, "no" if outcome == "rejected" else "").event_id


def unpublished(desk: ReviewDesk) -> int:
    with desk.sessions() as s:
        return len(s.scalars(select(OutboxEvent.id).where(OutboxEvent.published_at.is_(None))).all())


def relay(desk: ReviewDesk, bus: EncodedBus, **kwargs: Any) -> OutboxRelay:
    return OutboxRelay(desk.sessions, bus, **kwargs)  # type: ignore[arg-type]


async def test_pending_events_go_out_in_order_once(desk: ReviewDesk) -> None:
    ids = [decide(desk, "approved", "prod-a"), decide(desk, "rejected", "prod-b")]
    bus = EncodedBus()
    assert await relay(desk, bus).publish_pending() == 2
    assert [e.id for e in bus.memory.published] == ids
    assert [type(d) for d in (e.data for e in bus.memory.published)] == [ReviewApproved, ReviewRejected]
    assert [(topic, key) for topic, key, _ in bus.sent] == [
        (Topic.REVIEW_DECISIONS.value, "prod-a"),
        (Topic.REVIEW_DECISIONS.value, "prod-b"),
    ]
    assert unpublished(desk) == 0
    assert await relay(desk, bus).publish_pending() == 0 and len(bus.memory.published) == 2


async def test_a_batch_publishes_at_most_its_size(desk: ReviewDesk) -> None:
    for _ in range(3):
        decide(desk)
    bus = EncodedBus()
    small = relay(desk, bus, batch=2)
    assert await small.publish_pending() == 2 and unpublished(desk) == 1
    assert await small.publish_pending() == 1 and unpublished(desk) == 0


async def test_a_failed_publish_leaves_the_event_for_the_next_round(desk: ReviewDesk) -> None:
    event_id = decide(desk)
    bus = EncodedBus(fail=1)
    with pytest.raises(ConnectionError):
        await relay(desk, bus).publish_pending()
    assert unpublished(desk) == 1 and bus.memory.published == []
    assert await relay(desk, bus).publish_pending() == 1
    assert [e.id for e in bus.memory.published] == [event_id]


async def test_the_running_relay_survives_failures_and_wakes_for_new_decisions(desk: ReviewDesk) -> None:
    bus = EncodedBus(fail=2)
    outbox = relay(desk, bus, idle_wait_s=30)  # only a wake-up, or a failure's retry, makes it look again soon
    first = decide(desk)
    task = asyncio.create_task(outbox.run())
    try:
        for _ in range(200):
            if bus.memory.published:
                break
            outbox.wake.set()  # a failed round waits for the idle timeout unless woken
            await asyncio.sleep(0.01)
        second = decide(desk)
        outbox.wake.set()
        for _ in range(200):
            if len(bus.memory.published) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [e.id for e in bus.memory.published] == [first, second] and bus.fail == 0
