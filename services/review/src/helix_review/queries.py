"""Reading the review database: items, the queue, audit, consents, the dashboard (keyset pages)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, tuple_
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
        query = _where(select(ReviewItem), ReviewItem.status == PENDING, ReviewItem.production_id.in_(productions) if productions else None)
        return self._page(query, (ReviewItem.priority, ReviewItem.created_at, ReviewItem.id), cursor, page_size)

    def list_items(self, *, page_size: int, cursor: str, production_id: str, status: str) -> Page:
        query = _where(select(ReviewItem), ReviewItem.production_id == production_id if production_id else None,
                       ReviewItem.status == status if status else None)
        return self._page(query, (ReviewItem.created_at, ReviewItem.id), cursor, page_size)

    def list_audit(self, *, page_size: int, cursor: str, item_id: str, production_id: str) -> Page:
        query = _where(select(AuditEntry), AuditEntry.item_id == item_id if item_id else None,
                       AuditEntry.production_id == production_id if production_id else None)
        return self._page(query, (AuditEntry.id,), cursor, page_size)

    def list_consents(self, *, page_size: int, cursor: str, performer: str, productions: list[str] | None = None) -> Page:
        """Consents (of one performer), oldest first; with `productions`, only those covering one
        of them or every production (consents are personal data: a reviewer reads those of the
        productions they are assigned to)."""
        query = select(Consent)
        if performer:
            query = query.where(Consent.performer_key == name_key(performer))
        columns = (Consent.recorded_at, Consent.id)
        if not productions:
            return self._page(query, columns, cursor, page_size)
        wanted, size = set(productions), bounded(page_size)
        found: list[Consent] = []
        while len(found) <= size:  # a list of productions does not index: filter pages of rows until one is full
            chunk = self._page(query, columns, cursor, 200)
            found += [c for c in chunk.rows if not c.production_ids or wanted & set(c.production_ids)]
            if not chunk.next_cursor:
                break
            cursor = chunk.next_cursor
        return page(found[: size + 1], size, lambda r: [_plain(getattr(r, c.key)) for c in columns]) if found else Page([], "")

    def _page(self, query: Select[Any], columns: tuple[Any, ...], cursor: str, page_size: int) -> Page:
        """One keyset page ordered by `columns`; the cursor holds the last row's values of them."""
        size = bounded(page_size)
        if (key := cursor_key(cursor, len(columns))) is not None:
            after = tuple(datetime.fromisoformat(k) if _is_time(c) else k for c, k in zip(columns, key, strict=True))
            query = query.where(tuple_(*columns) > after if len(columns) > 1 else columns[0] > after[0])
        with self.sessions() as s:
            rows = list(s.scalars(query.order_by(*columns).limit(size + 1)))
        return page(rows, size, lambda r: [_plain(getattr(r, c.key)) for c in columns])

    def dashboard(self, *, productions: list[str], window_hours: int, sla_seconds: float, now: datetime | None = None) -> Dashboard:
        now = now or utcnow()
        return build_dashboard(self.sessions, productions=productions, window=timedelta(hours=window_hours or 24),
                               sla_seconds=sla_seconds, now=now)



def _where(query: Select[Any], *conditions: Any) -> Select[Any]:
    """`query` with every condition that is not None."""
    for condition in conditions:
        if condition is not None:
            query = query.where(condition)
    return query


def _is_time(column: Any) -> bool:
    return column.key in ("created_at", "recorded_at")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
