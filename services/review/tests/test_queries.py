"""Reading the review database in keyset pages: the queue by risk then age, items, audit
entries and consents, each filtered and walked page by page without repeats or gaps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from helix_review.desk import ReviewDesk
from helix_review.errors import InvalidArgument, NotFound
from helix_review.records import Page

from .conftest import ADMIN, add_item


def walk(fetch: Any, size: int) -> list[list[Any]]:
    """Every page of a listing, following its cursors."""
    pages, cursor = [], ""
    while True:
        current: Page = fetch(page_size=size, cursor=cursor)
        pages.append(current.rows)
        if not current.next_cursor:
            return pages
        cursor = current.next_cursor


def test_an_unknown_item_is_not_found(desk: ReviewDesk) -> None:
    with pytest.raises(NotFound):
        desk.queries.get_item("nope")


def test_the_queue_puts_the_riskiest_first_then_the_oldest(desk: ReviewDesk) -> None:
    old_low = add_item(desk, age=timedelta(hours=3), priority=-1.0)
    new_high = add_item(desk, age=timedelta(minutes=1), priority=-100.0)
    old_high = add_item(desk, age=timedelta(hours=2), priority=-100.0)
    clean = add_item(desk, age=timedelta(hours=5))
    add_item(desk, status="approved", priority=-500.0)  # decided: not in the queue
    pages = walk(lambda **kw: desk.queries.list_queue(productions=[], **kw), 2)
    assert [[i.id for i in rows] for rows in pages] == [[old_high, new_high], [old_low, clean]]


def test_the_queue_of_some_productions_only(desk: ReviewDesk) -> None:
    a = add_item(desk, production="prod-a")
    add_item(desk, production="prod-b")
    c = add_item(desk, production="prod-c", priority=-5.0)
    rows = desk.queries.list_queue(productions=["prod-a", "prod-c"], page_size=10, cursor="").rows
    assert [i.id for i in rows] == [c, a]


def test_items_are_listed_oldest_first_by_production_and_status(desk: ReviewDesk) -> None:
    ids = [add_item(desk, age=timedelta(minutes=10 - n), status="approved" if n % 2 else "pending") for n in range(5)]
    add_item(desk, production="prod-b")
    everything = walk(lambda **kw: desk.queries.list_items(production_id="prod-a", status="", **kw), 2)
    assert [i.id for rows in everything for i in rows] == ids
    assert [len(rows) for rows in everything] == [2, 2, 1]
    approved = desk.queries.list_items(production_id="", status="approved", page_size=10, cursor="").rows
    assert [i.id for i in approved] == [ids[1], ids[3]]


def test_audit_entries_by_item_or_production_in_order(desk: ReviewDesk) -> None:
    desk.consents.set_policy(ADMIN, "prod-a", ["x"], [])
    desk.consents.set_policy(ADMIN, "prod-b", ["y"], [])
    desk.consents.set_policy(ADMIN, "prod-a", ["z"], [])
    only_a = walk(lambda **kw: desk.queries.list_audit(item_id="", production_id="prod-a", **kw), 1)
    assert [[e.details["banned_terms"] for e in rows] for rows in only_a] == [[["x"]], [["z"]]]
    assert len(desk.queries.list_audit(item_id="", production_id="", page_size=0, cursor="").rows) == 3
    assert desk.queries.list_audit(item_id="no-such-item", production_id="", page_size=10, cursor="").rows == []


def test_consents_by_performer_however_the_name_is_spelled(desk: ReviewDesk) -> None:
    ann = [
        desk.consents.record_consent(ADMIN, "Ann Lee", [scope], [], None, "signed").id for scope in ("name", "voice", "likeness")
    ]
    desk.consents.record_consent(ADMIN, "Bo Stone", ["name"], [], None, "signed")
    pages = walk(lambda **kw: desk.queries.list_consents(performer="  ANN   lee", **kw), 2)
    assert [c.id for rows in pages for c in rows] == ann
    assert len(desk.queries.list_consents(performer="", page_size=10, cursor="").rows) == 4


def test_a_cursor_from_another_listing_is_an_invalid_argument(desk: ReviewDesk) -> None:
    for _ in range(3):
        add_item(desk)
    audit_like = desk.queries.list_queue(productions=[], page_size=1, cursor="").next_cursor  # three columns
    with pytest.raises(InvalidArgument):
        desk.queries.list_items(production_id="", status="", page_size=1, cursor=audit_like)
    with pytest.raises(InvalidArgument):
        desk.queries.list_queue(productions=[], page_size=1, cursor="%%%")


def test_the_dashboard_window_defaults_to_a_day(desk: ReviewDesk) -> None:
    assert desk.queries.dashboard(productions=[], window_hours=0, sla_seconds=60).window_hours == 24
    assert desk.queries.dashboard(productions=[], window_hours=6, sla_seconds=60).window_hours == 6


def test_a_reviewer_reads_only_the_consents_covering_their_productions(desk: ReviewDesk) -> None:
    made = {name: desk.consents.record_consent(ADMIN, name, ["likeness"], productions, None, "signed").id
            for name, productions in (("Ann Lee", ["prod-a"]), ("Bo Stone", ["prod-b"]), ("Cy Moss", []), ("Di Ray", ["prod-b", "prod-a"]),
                                      ("Ed Fox", ["prod-c"]))}
    pages = walk(lambda **kw: desk.queries.list_consents(performer="", productions=["prod-a"], **kw), 1)
    assert [c.id for rows in pages for c in rows] == [made["Ann Lee"], made["Cy Moss"], made["Di Ray"]], "prod-a's, and every production's"
    assert [c.id for c in desk.queries.list_consents(performer="", productions=["prod-c"], page_size=10, cursor="").rows] == [
        made["Cy Moss"], made["Ed Fox"]]
    assert desk.queries.list_consents(performer="Bo Stone", productions=["prod-a"], page_size=10, cursor="").rows == []
    assert len(desk.queries.list_consents(performer="", productions=[], page_size=10, cursor="").rows) == 5, "no filter: an admin's list"
