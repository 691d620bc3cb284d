"""Processed-event ids per consumer group, in SQL, so a redelivered event is handled once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, create_engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool


class _Base(DeclarativeBase):
    pass


class ProcessedEvent(_Base):
    __tablename__ = "helix_processed_events"

    consumer_group: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvents:
    """`seen`/`mark` on a SQL table; SQLite by default, PostgreSQL in production.

    This is the bus's generic guard. A handler whose own writes live in SQL should also
    make them idempotent on its own keys (e.g. a unique asset id), because a crash between
    its writes and `mark` is redelivered.
    """

    def __init__(self, url: str) -> None:
        kwargs: dict = {}
        if url.startswith("sqlite") and ":memory:" in url:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine = create_engine(url, **kwargs)
        _Base.metadata.create_all(self.engine)

    def _seen(self, group: str, event_id: str) -> bool:
        with self.engine.connect() as conn:
            query = select(ProcessedEvent.event_id).where(
                ProcessedEvent.consumer_group == group, ProcessedEvent.event_id == event_id
            )
            return conn.execute(query).first() is not None

    def _mark(self, group: str, event_id: str) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(ProcessedEvent).values(
                        consumer_group=group, event_id=event_id, processed_at=datetime.now(UTC)
                    )
                )
            return True
        except IntegrityError:
            return False

    async def seen(self, group: str, event_id: str) -> bool:
        return await asyncio.to_thread(self._seen, group, event_id)

    async def mark(self, group: str, event_id: str) -> bool:
        """Record the event as handled; False if it already was."""
        return await asyncio.to_thread(self._mark, group, event_id)

    def prune(self, older_than: datetime) -> int:
        """Drop ids older than the topic's retention: Kafka cannot redeliver them any more."""
        with self.engine.begin() as conn:
            return conn.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < older_than)).rowcount
