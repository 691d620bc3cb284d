"""In-process fan-out of live events to Server-Sent Events subscribers.

The projection handlers publish here after their write is committed. Publishing never
waits: each subscriber has a bounded buffer, and one that falls behind is dropped (it
gets a final `helix.stream.dropped` event and its stream ends) so a slow client can
never hold up the Kafka consumer. Clients reconnect and catch up from the read model.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

SUBSCRIBERS = Gauge("helix_gateway_sse_subscribers", "Open Server-Sent Events streams")
DROPPED = Counter("helix_gateway_sse_dropped_total", "SSE subscribers dropped, by reason", ["reason"])

DROPPED_EVENT = "helix.stream.dropped"
CLOSED_EVENT = "helix.stream.closed"


@dataclass(frozen=True)
class LiveEvent:
    id: str
    type: str  # the CloudEvents type: the SSE event name
    data: str  # the CloudEvent as JSON


@dataclass(eq=False)
class Subscription:
    production_id: str
    limit: int
    queue: asyncio.Queue[LiveEvent] = field(default_factory=asyncio.Queue)
    ended: bool = False

    def offer(self, event: LiveEvent) -> bool:
        """Queue without waiting; False when the buffer is full (the caller drops us)."""
        if self.ended:
            return True
        if self.queue.qsize() >= self.limit:
            return False
        self.queue.put_nowait(event)
        return True

    def end(self, final: LiveEvent) -> None:
        # The queue itself is unbounded (the limit is ours), so the final event always fits.
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(final)

    async def events(self) -> AsyncIterator[LiveEvent]:
        """Events until the stream ends; the final event is yielded too."""
        while True:
            event = await self.queue.get()
            yield event
            if event.type in (DROPPED_EVENT, CLOSED_EVENT):
                return


class Fanout:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, production_id: str) -> Subscription:
        subscription = Subscription(production_id, self.queue_size)
        self._subscribers[production_id].add(subscription)
        SUBSCRIBERS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.production_id)
        if subscribers is not None and subscription in subscribers:
            subscribers.discard(subscription)
            SUBSCRIBERS.dec()
            if not subscribers:
                del self._subscribers[subscription.production_id]

    def publish(self, production_id: str, event: LiveEvent) -> None:
        for subscription in list(self._subscribers.get(production_id, ())):
            if not subscription.offer(event):
                DROPPED.labels(reason="slow").inc()
                self.unsubscribe(subscription)
                subscription.end(LiveEvent(f"dropped-{event.id}", DROPPED_EVENT, '{"reason":"this stream fell behind; reconnect"}'))

    def close(self) -> None:
        """End every stream (the gateway is shutting down)."""
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                self.unsubscribe(subscription)
                subscription.end(LiveEvent("closed", CLOSED_EVENT, '{"reason":"the gateway is shutting down; reconnect"}'))

    def subscriber_count(self, production_id: str | None = None) -> int:
        if production_id is not None:
            return len(self._subscribers.get(production_id, ()))
        return sum(len(s) for s in self._subscribers.values())
