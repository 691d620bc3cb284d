"""What the review desk's parts share: audit entries, locked reads of an item, risk scores,
ids and keyset pages. Every change of state a person causes writes an audit entry in the
same transaction (`audit`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helix.events import Actor
from helix.pagination import InvalidCursor, decode_cursor, encode_cursor
from helix_review.checks import Severity, risk_score
from helix_review.db import AuditEntry, Performer, ReviewItem, utcnow
from helix_review.errors import InvalidArgument, NotFound

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str


def new_id() -> str:
    return uuid.uuid4().hex


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def bounded(size: int) -> int:
    """A page size within 1..MAX_PAGE (0: the default, 50)."""
    return max(1, min(size or 50, MAX_PAGE))


def page(rows: list[Any], size: int, key: Any) -> Page:
    """The first `size` rows (one extra was fetched to know whether more follow)."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(key(rows[-1])) if more else "")


def cursor_key(cursor: str, length: int) -> list[Any] | None:
    try:
        return decode_cursor(cursor, length)
    except InvalidCursor as exc:
        raise InvalidArgument(str(exc)) from None


def audit(s: Session, actor: Actor, action: str, *, item: ReviewItem | None = None, production_id: str | None = None,
          subject: str = "", reason: str = "", details: dict[str, Any] | None = None) -> None:
    s.add(AuditEntry(at=utcnow(), actor=actor.subject, actor_roles=list(actor.roles), action=action, item_id=item.id if item else None,
                     production_id=item.production_id if item else production_id, subject=subject, reason=reason, details=details or {}))


def locked_item(s: Session, item_id: str) -> ReviewItem:
    query = select(ReviewItem).where(ReviewItem.id == item_id)
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    item = s.scalars(query).first()
    if item is None:
        raise NotFound(f"no review item {item_id!r}")
    return item


def register_performer(s: Session, name: str, aliases: Iterable[str]) -> Performer:
    name = " ".join(name.split())
    person = s.get(Performer, name_key(name))
    if person is None:
        person = Performer(name_key=name_key(name), name=name, aliases=[])
        s.add(person)
        s.flush()  # consents reference it: the row must exist before theirs
    person.aliases = sorted({*person.aliases, *(" ".join(a.split()) for a in aliases if a.strip())})
    return person


def rescore(item: ReviewItem) -> None:
    item.priority = -risk_score([Severity(f.severity) for f in item.findings if f.open])
