"""Live fan-out: each production's subscribers get its events in order, a subscriber that falls
behind is dropped with a final event instead of holding up the publisher, and shutting down
ends every stream."""

from __future__ import annotations

import asyncio

from helix_gateway.fanout import CLOSED_EVENT, DROPPED_EVENT, Fanout, LiveEvent, Subscription


def event(n: int, kind: str = "helix.job.progress") -> LiveEvent:
    return LiveEvent(id=f"e{n}", type=kind, data=f'{{"n":{n}}}')


async def drain(subscription: Subscription) -> list[str]:
    return [e.id async for e in subscription.events()]


def test_events_reach_the_subscribers_of_their_production_only() -> None:
    fanout = Fanout(queue_size=4)
    a1, a2, b = fanout.subscribe("a"), fanout.subscribe("a"), fanout.subscribe("b")
    fanout.publish("a", event(1))
    fanout.publish("c", event(2))  # nobody listens: nothing happens
    assert [s.queue.qsize() for s in (a1, a2, b)] == [1, 1, 0]
    assert (fanout.subscriber_count("a"), fanout.subscriber_count("b"), fanout.subscriber_count()) == (2, 1, 3)


async def test_a_subscriber_that_falls_behind_is_dropped_with_a_final_event() -> None:
    fanout = Fanout(queue_size=2)
    slow, fast = fanout.subscribe("a"), fanout.subscribe("a")
    fanout.publish("a", event(1))
    fanout.publish("a", event(2))
    assert await fast.queue.get() == event(1) and await fast.queue.get() == event(2)
    fanout.publish("a", event(3))  # slow's buffer is full
    assert fanout.subscriber_count("a") == 1 and slow.ended
    assert await drain(slow) == ["e1", "e2", "dropped-e3"]
    fanout.publish("a", event(4))
    assert [fast.queue.get_nowait().id for _ in range(2)] == ["e3", "e4"]


async def test_the_stream_ends_with_the_final_event_and_nothing_after_it() -> None:
    fanout = Fanout()
    subscription = fanout.subscribe("a")
    fanout.publish("a", event(1))
    fanout.close()
    fanout.publish("a", event(2))  # after shutdown: no subscribers left
    events = [e async for e in subscription.events()]
    assert [e.type for e in events] == ["helix.job.progress", CLOSED_EVENT]
    assert fanout.subscriber_count() == 0


def test_an_ended_subscription_takes_no_more_events_and_ends_once() -> None:
    subscription = Subscription("a", limit=1)
    subscription.end(LiveEvent("x", DROPPED_EVENT, "{}"))
    assert subscription.offer(event(1)) is True  # not a reason to drop it again
    subscription.end(LiveEvent("y", CLOSED_EVENT, "{}"))
    assert subscription.queue.qsize() == 1


def test_unsubscribing_twice_or_an_unknown_subscription_is_harmless() -> None:
    fanout = Fanout()
    subscription = fanout.subscribe("a")
    fanout.unsubscribe(subscription)
    fanout.unsubscribe(subscription)
    fanout.unsubscribe(Subscription("zzz", 1))
    assert fanout.subscriber_count() == 0 and fanout.subscriber_count("a") == 0


async def test_a_waiting_subscriber_wakes_for_the_next_event() -> None:
    fanout = Fanout()
    subscription = fanout.subscribe("a")
    waiting = asyncio.create_task(anext(subscription.events()))
    await asyncio.sleep(0)
    fanout.publish("a", event(7))
    assert (await asyncio.wait_for(waiting, 1)).id == "e7"
