"""Reading the review database: items, the queue, audit, consents, the dashboard (keyset pages)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import sessionmaker

from helix_review.dashboard import Dashboard, build_dashboard
from helix_review.db import PENDING, AuditEntry, Consent, ReviewItem, utcnow
from helix_review.errors import NotFound
from helix_review.records import Page, bounded, cursor_key, name_key, page


class Queries:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def get_item(self, item_id: str) -> ReviewItem:
        with self.sessions() as s:
            item = s.get(ReviewItem, item_id)
            if item is None:
                raise NotFound(f"no review item {item_id!r}")
            return item

    def list_queue(self, *, page_size: int, cursor: str, productions: list[str]) -> Page:
        """Pending items, highest risk first, then oldest: one index range scan per page."""
        size = bounded(page_size)
        query = select(ReviewItem).where(ReviewItem.status == PENDING)
        if productions:
            query = query.where(ReviewItem.production_id.in_(productions))
        if (key := cursor_key(cursor, 3)) is not None:
            query = query.where(
                tuple_(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id) > (key[0], datetime.fromisoformat(key[1]), key[2])
            )
        query = query.order_by(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id).limit(size + 1)
        with self.sessions() as s:
            rows = list(s.scalars(query))
        return page(rows, size, lambda r: [r.priority, r.created_at.isoformat(), r.id])

    def list_items(self, *, page_size: int, cursor: str, production_id: str, status: str) -> Page:
        size = bounded(page_size)
        query = select(ReviewItem)
        if production_id:
            query = query.where(ReviewItem.production_id == production_id)
        if status:
            query = query.where(ReviewItem.status == status)
        if (key := cursor_key(cursor, 2)) is not None:
            query = query.where(tuple_(ReviewItem.created_at, ReviewItem.id) > (datetime.fromisoformat(key[0]), key[1]))
        query = query.order_by(ReviewItem.created_at, ReviewItem.id).limit(size + 1)
        with self.sessions() as s:
            rows = list(s.scalars(query))
        return page(rows, size, lambda r: [r.created_at.isoformat(), r.id])

    def list_audit(self, *, page_size: int, cursor: str, item_id: str, production_id: str) -> Page:
        size = bounded(page_size)
        query = select(AuditEntry)
        if item_id:
            query = query.where(AuditEntry.item_id == item_id)
        if production_id:
            query = query.where(AuditEntry.production_id == production_id)
        if (key := cursor_key(cursor, 1)) is not None:
            query = query.where(AuditEntry.id > int(key[0]))
        with self.sessions() as s:
            rows = list(s.scalars(query.order_by(AuditEntry.id).limit(size + 1)))
        return page(rows, size, lambda r: [r.id])

    def list_consents(self, *, page_size: int, cursor: str, performer: str) -> Page:
        size = bounded(page_size)
        query = select(Consent)
        if performer:
            query = query.where(Consent.performer_key == name_key(performer))
        if (key := cursor_key(cursor, 2)) is not None:
            query = query.where(tuple_(Consent.recorded_at, Consent.id) > (datetime.fromisoformat(key[0]), key[1]))
        with self.sessions() as s:
            rows = list(s.scalars(query.order_by(Consent.recorded_at, Consent.id).limit(size + 1)))
        return page(rows, size, lambda r: [r.recorded_at.isoformat(), r.id])

    def dashboard(self, *, productions: list[str], window_hours: int, sla_seconds: float, now: datetime | None = None) -> Dashboard:
        now = now or utcnow()
        return build_dashboard(self.sessions, productions=productions, window=timedelta(hours=window_hours or 24),
                               sla_seconds=sla_seconds, now=now)

