"""The review database's own rules: what a consent covers, an item's risk score, times that stay
aware of their zone, one item per asset version, and an audit log that can only grow."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from helix_review.db import AuditEntry, migrate
from helix_review.desk import ReviewDesk

from .conftest import ADMIN, NOW, add_item, consent, item, item_row, performer

ANN = performer("Ann Lee")


def test_a_consent_covers_its_scopes_and_productions_until_it_lapses() -> None:
    given = consent(ANN, "name", "likeness", productions=("lighthouse",), expires_at=NOW + timedelta(days=1))
    assert given.covers("likeness", "lighthouse", NOW)
    assert not given.covers("voice", "lighthouse", NOW)
    assert not given.covers("likeness", "harbour", NOW)
    assert not given.covers("likeness", "lighthouse", NOW + timedelta(days=1))  # expiry is exclusive
    everywhere = consent(ANN, "voice")
    assert everywhere.covers("voice", "any-production", NOW + timedelta(days=3650))
    revoked = consent(ANN, "voice", revoked_at=NOW)
    assert not revoked.covers("voice", "lighthouse", NOW - timedelta(days=1))


def test_an_item_without_findings_has_a_risk_of_plus_zero(desk: ReviewDesk) -> None:
    score = item(desk, add_item(desk, priority=0.0)).risk_score
    assert score == 0.0 and math.copysign(1, score) == 1
    assert item(desk, add_item(desk, priority=-30.0)).risk_score == 30.0


def test_times_come_back_aware_of_utc(desk: ReviewDesk) -> None:
    found = item(desk, add_item(desk, age=timedelta(hours=1)))
    assert found.created_at.utcoffset() == timedelta(0)


def test_an_asset_version_is_one_item(desk: ReviewDesk) -> None:
    first = item(desk, add_item(desk))
    with pytest.raises(IntegrityError), desk.sessions() as s, s.begin():
        s.add(item_row(id="other", asset_id=first.asset_id, asset_version=1))


def test_the_audit_log_refuses_changes_and_deletions(desk: ReviewDesk) -> None:
    desk.consents.set_policy(ADMIN, "prod-a", ["Fizzcola"], [])
    with desk.sessions() as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["policy.set"]
    for statement in ("UPDATE audit_log SET reason = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError), desk.sessions() as s, s.begin():
            s.execute(text(statement))
    with desk.sessions() as s:
        assert s.scalars(select(AuditEntry.reason)).all() == [""]


def test_migrating_again_changes_nothing(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    engine = desk.sessions.kw["bind"]
    migrate(engine)
    assert item(desk, item_id).id == item_id
