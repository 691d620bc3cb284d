"""Processed-event ids per consumer group, in SQL, so a redelivered event is handled once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helix.db import make_engine
from helix.threads import control


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
        self.engine = make_engine(url, pool_size=2)
        _Base.metadata.create_all(self.engine)

    def _seen_many(self, group: str, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        with self.engine.connect() as conn:
            query = select(ProcessedEvent.event_id).where(
                ProcessedEvent.consumer_group == group, ProcessedEvent.event_id.in_(event_ids)
            )
            return set(conn.execute(query).scalars())

    def _mark_many(self, group: str, event_ids: list[str]) -> None:
        if not event_ids:
            return
        now = datetime.now(UTC)
        rows = [{"consumer_group": group, "event_id": e, "processed_at": now} for e in dict.fromkeys(event_ids)]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ProcessedEvent), rows)
        except IntegrityError:  # a racing redelivery marked some: mark the rest one by one
            for row in rows:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(insert(ProcessedEvent), [row])
                except IntegrityError:
                    pass

    async def seen_many(self, group: str, event_ids: list[str]) -> set[str]:
        """Which of these event ids this consumer group has already handled."""
        return await control(self._seen_many, group, event_ids)

    async def mark_many(self, group: str, event_ids: list[str]) -> None:
        """Record events as handled (ids already recorded are fine)."""
        await control(self._mark_many, group, event_ids)

    def prune(self, older_than: datetime) -> int:
        """Drop ids older than the topic's retention: Kafka cannot redeliver them any more."""
        with self.engine.begin() as conn:
            return conn.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < older_than)).rowcount
