"""Review test fixtures: a review desk on a SQLite database migrated by Alembic, review items and
findings written straight into it, and the screening context every pre-screening check reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helix.db import make_engine
from helix.events import Actor, AssetGenerated
from helix.events.examples import example
from helix.settings import HelixSettings
from helix_review.checks import ScreeningContext, Severity
from helix_review.db import Consent, Finding, Performer, ReviewItem, migrate, session_factory, utcnow
from helix_review.desk import ReviewDesk
from helix_review.records import name_key, new_id

ANNA = Actor(subject="anna", roles=["reviewer"])
BEN = Actor(subject="ben", roles=["reviewer"])
CARA = Actor(subject="cara", roles=["reviewer"])
ADMIN = Actor(subject="root", roles=["admin"])
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def desk(tmp_path: Path) -> ReviewDesk:
    """A desk that samples every decision for a second review (tests that mind set `desk.decisions.second_share`)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    migrate(engine)
    return ReviewDesk(session_factory(engine), HelixSettings(), second_share=1.0)


def item_row(**fields: Any) -> ReviewItem:
    """A pending review item of one frame, arrived now, with `fields` overridden (its id is new unless given)."""
    item_id = fields.pop("id", None) or new_id()
    values: dict[str, Any] = dict(id=item_id, event_id=f"evt-{item_id}", asset_id=f"asset-{item_id}", asset_version=1,
                                  production_id="prod-a", kind="frame", object_key="k", sha256="0" * 64, media_type="image/png",
                                  size_bytes=1, event_json="{}", status="pending", priority=0.0, created_at=utcnow())
    return ReviewItem(**{**values, **fields})


def add_item(desk: ReviewDesk, kind: str = "frame", *, age: timedelta = timedelta(0), production: str = "prod-a",
             priority: float = 0.0, requested_by: str | None = None, status: str = "pending") -> str:
    """A review item written straight to the database; its id."""
    row = item_row(kind=kind, production_id=production, status=status, priority=priority, requested_by=requested_by,
                   created_at=utcnow() - age)
    with desk.sessions() as s, s.begin():
        s.add(row)
    return row.id


def add_finding(desk: ReviewDesk, item_id: str, *, check: str = "likeness_consent", severity: Severity = Severity.HIGH,
                subject: str = "", message: str = "a finding", blocks_approval: bool = True, open: bool = True,
                consent_id: str | None = None) -> str:
    """A finding on an item (the item's priority is left as it is); its id."""
    finding_id = new_id()
    with desk.sessions() as s, s.begin():
        s.add(Finding(id=finding_id, item_id=item_id, check=check, severity=int(severity), message=message, subject=subject,
                      blocks_approval=blocks_approval, open=open, consent_id=consent_id))
    return finding_id


def finding(desk: ReviewDesk, finding_id: str) -> Finding:
    with desk.sessions() as s:
        found = s.get(Finding, finding_id)
        assert found is not None
        return found


def item(desk: ReviewDesk, item_id: str) -> ReviewItem:
    return desk.queries.get_item(item_id)


def performer(name: str, *aliases: str) -> Performer:
    return Performer(name_key=name_key(name), name=name, aliases=list(aliases))


def consent(person: Performer, *scopes: str, productions: tuple[str, ...] = (), expires_at: datetime | None = None,
            revoked_at: datetime | None = None) -> Consent:
    return Consent(id=new_id(), performer_key=person.name_key, performer=person.name, scopes=list(scopes),
                   production_ids=list(productions), expires_at=expires_at, revoked_at=revoked_at, recorded_by="root",
                   recorded_at=NOW - timedelta(days=1))


def screening(
    *, text: str = "", content: bytes | None = b"bytes", stored_sha256: str | None = "same", **fields: Any
) -> ScreeningContext:
    """A screening context for an asset event (`example(AssetGenerated)` with `asset` overrides); the
    stored sha256 "same" stands for the event's own. Other keyword arguments go to the context."""
    context_fields = {k: fields.pop(k) for k in ("performers", "consents", "policy", "same_content", "manifest", "references") if k in fields}
    asset = example(AssetGenerated, **fields)
    assert isinstance(asset, AssetGenerated)
    return ScreeningContext(
        asset=asset,
        content=content,
        text=text,
        stored_sha256=asset.sha256 if stored_sha256 == "same" else stored_sha256,
        now=NOW,
        **context_fields,
    )
