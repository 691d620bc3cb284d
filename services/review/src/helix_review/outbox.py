"""The outbox relay: publishes decision events committed with their decisions.

At-least-once to Kafka with the event id fixed at decision time: if the relay dies after
publishing and before marking a row published, the event goes out again with the same id
and consumers deduplicate it (the Helix bus does). A decision can never be lost.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from helix.bus import HelixBus
from helix_review.db import OutboxEvent, utcnow

log = structlog.get_logger("helix.review.outbox")


class OutboxRelay:
    def __init__(self, sessions: sessionmaker, bus: HelixBus, *, batch: int = 100, idle_wait_s: float = 0.5) -> None:
        self.sessions = sessions
        self.bus = bus
        self.batch = batch
        self.idle_wait_s = idle_wait_s
        self.wake = asyncio.Event()  # set after a decision commits: publish right away

    async def run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox.publish_failed")  # Kafka or the database away: try again shortly
                published = 0
            if not published:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.idle_wait_s)
                self.wake.clear()

    async def publish_pending(self) -> int:
        rows = await asyncio.to_thread(self._pending)
        for row in rows:
            await self.bus.publish_encoded(row.topic, row.payload.encode(), key=row.key, headers=row.headers)
            await asyncio.to_thread(self._mark, row.id)
        return len(rows)

    def _pending(self) -> list[OutboxEvent]:
        with self.sessions() as s:
            query = select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id).limit(self.batch)
            return list(s.scalars(query))

    def _mark(self, row_id: int) -> None:
        with self.sessions() as s, s.begin():
            s.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(published_at=utcnow()))
