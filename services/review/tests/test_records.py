"""What the desk's parts share: ids and name keys, bounded keyset pages and their cursors,
audit entries, locked reads, the performer registry and risk rescoring."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helix.pagination import decode_cursor
from helix_review.checks import Severity, risk_score
from helix_review.db import AuditEntry, Performer
from helix_review.desk import ReviewDesk
from helix_review.errors import InvalidArgument, NotFound
from helix_review.records import (
    MAX_PAGE,
    audit,
    bounded,
    cursor_key,
    locked_item,
    name_key,
    new_id,
    page,
    register_performer,
    rescore,
)

from .conftest import ADMIN, add_finding, add_item, item


def test_new_ids_are_distinct_32_hex_characters() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_name_keys_ignore_case_and_spacing() -> None:
    assert name_key("  Ann \t LEE ") == name_key("ann lee") == "ann lee"
    assert name_key("Straße") == name_key("STRASSE")


def test_page_sizes_are_bounded_and_zero_means_the_default() -> None:
    assert [bounded(n) for n in (0, -5, 1, 10, MAX_PAGE, MAX_PAGE + 1, 10_000)] == [50, 1, 1, 10, MAX_PAGE, MAX_PAGE, MAX_PAGE]


def test_a_page_keeps_size_rows_and_points_past_the_last_one_only_when_more_follow() -> None:
    rows = [{"k": n} for n in range(4)]
    more = page(rows, 3, lambda r: [r["k"]])
    assert more.rows == rows[:3] and decode_cursor(more.next_cursor, 1) == [2]
    last = page(rows[:3], 3, lambda r: [r["k"]])
    assert last.rows == rows[:3] and last.next_cursor == ""


def test_cursors_that_are_not_ours_are_invalid_arguments() -> None:
    assert cursor_key("", 2) is None
    good = page([1, 2], 1, lambda r: [r, "x"]).next_cursor
    assert cursor_key(good, 2) == [1, "x"]
    with pytest.raises(InvalidArgument):
        cursor_key("not base64 json!", 2)
    with pytest.raises(InvalidArgument):
        cursor_key(good, 3)  # a cursor of another listing


def test_an_audit_entry_takes_the_items_production(desk: ReviewDesk) -> None:
    item_id = add_item(desk, production="prod-z")
    with desk.sessions() as s, s.begin():
        audit(s, ADMIN, "finding.resolved", item=locked_item(s, item_id), subject="f1", reason="ok", details={"n": 1})
        audit(s, ADMIN, "policy.set", production_id="prod-y")
    with desk.sessions() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.item_id, e.production_id, e.actor, e.actor_roles) for e in entries] == [
        ("finding.resolved", item_id, "prod-z", "root", ["admin"]),
        ("policy.set", None, "prod-y", "root", ["admin"]),
    ]
    assert entries[0].details == {"n": 1} and entries[1].details == {}


def test_a_locked_read_of_an_unknown_item_is_not_found(desk: ReviewDesk) -> None:
    with desk.sessions() as s, pytest.raises(NotFound, match="nope"):
        locked_item(s, "nope")


def test_a_performer_is_registered_once_and_gathers_aliases(desk: ReviewDesk) -> None:
    with desk.sessions() as s, s.begin():
        register_performer(s, " Ann   Lee ", ["Annie", " "])
    with desk.sessions() as s, s.begin():
        again = register_performer(s, "ANN LEE", ["Ann  L.", "Annie"])
        assert again.name == "Ann Lee"  # the first spelling stays
    with desk.sessions() as s:
        people = list(s.scalars(select(Performer)))
    assert [(p.name_key, p.aliases) for p in people] == [("ann lee", ["Ann L.", "Annie"])]


def test_rescoring_counts_open_findings_only(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    add_finding(desk, item_id, severity=Severity.HIGH)
    add_finding(desk, item_id, severity=Severity.LOW)
    add_finding(desk, item_id, severity=Severity.CRITICAL, open=False)
    with desk.sessions() as s, s.begin():
        rescore(locked_item(s, item_id))
    assert item(desk, item_id).priority == -risk_score([Severity.HIGH, Severity.LOW])
    assert item(desk, item_id).risk_score == risk_score([Severity.HIGH, Severity.LOW])
