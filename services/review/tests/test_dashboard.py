"""The dashboard built from the review database at a fixed time: queue age per kind, the
window's arrivals and decisions, SLA breaches, staffing (keep up plus clear the backlog),
reviewers' throughput and second-review agreement, per production."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helix_review.dashboard import Dashboard, KindStats, build_dashboard, percentile
from helix_review.db import Decision, SecondReview
from helix_review.desk import ReviewDesk
from helix_review.records import new_id

from .conftest import NOW, item_row

HOUR = 3600.0


def item(desk: ReviewDesk, kind: str, *, arrived_h: float, production: str = "prod-a", decided_h: float | None = None,
         handling_s: float | None = None, reviewer: str = "anna", second: tuple[str, bool | None] | None = None) -> None:
    """An item that arrived `arrived_h` hours before NOW, decided `decided_h` hours before NOW if given,
    with a second review (status, agrees) if given."""
    row = item_row(kind=kind, production_id=production, created_at=NOW - timedelta(hours=arrived_h),
                   status="pending" if decided_h is None else "approved")
    decision_id = new_id()
    with desk.sessions() as s, s.begin():
        s.add(row)
        if decided_h is None:
            return
        s.flush()
        s.add(Decision(id=decision_id, item_id=row.id, outcome="approved", reviewer=reviewer, reviewer_roles=[], notes="",
                       decided_at=NOW - timedelta(hours=decided_h), event_id=decision_id, handling_seconds=handling_s))
        if second is not None:
            s.flush()
            s.add(SecondReview(id=new_id(), item_id=row.id, decision_id=decision_id, production_id=production,
                               first_reviewer=reviewer, status=second[0], agrees=second[1], created_at=NOW))


def board(desk: ReviewDesk, productions: list[str] | None = None, *, hours: int = 24, sla_h: float = 4) -> Dashboard:
    return build_dashboard(
        desk.sessions, productions=productions or [], window=timedelta(hours=hours), sla_seconds=sla_h * HOUR, now=NOW
    )


def kinds(dashboard: Dashboard) -> dict[str, KindStats]:
    return {k.kind: k for k in dashboard.kinds}


def test_an_empty_desk_needs_nobody(desk: ReviewDesk) -> None:
    empty = board(desk)
    assert (empty.kinds, empty.reviewers, empty.reviewers_needed, empty.window_hours) == ([], [], 0.0, 24)
    assert (empty.second_reviews_done, empty.second_reviews_agreed, empty.second_reviews_pending) == (0, 0, 0)


def test_pending_items_are_aged_and_past_the_sla_they_breach(desk: ReviewDesk) -> None:
    for hours in (1, 3, 6, 30):
        item(desk, "frame", arrived_h=hours)
    frames = kinds(board(desk))["frame"]
    assert frames.pending == 4
    assert frames.oldest_pending_seconds == 30 * HOUR and frames.median_pending_seconds == 4.5 * HOUR
    assert frames.sla_breaches == 2  # 6 h and 30 h, past 4 h
    assert frames.arrivals_per_hour == round(3 / 24, 2)  # the 30 h old one arrived before the window


def test_staffing_is_keeping_up_plus_clearing_the_backlog_within_the_sla(desk: ReviewDesk) -> None:
    for n in range(6):  # six arrivals in a 12 h window, decided in 60 s each
        item(desk, "script", arrived_h=11 - n, decided_h=10.5 - n, handling_s=60.0)
    for _ in range(2):
        item(desk, "script", arrived_h=0.5)
    scripts = kinds(board(desk, hours=12, sla_h=2))["script"]
    assert scripts.arrivals_per_hour == round(8 / 12, 2) and scripts.median_decision_seconds == 60.0
    keep_up = scripts.arrivals_per_hour * 60 / HOUR
    backlog = 2 * 60 / (2 * HOUR)
    assert scripts.reviewers_needed == pytest.approx(round(keep_up + backlog, 2))


def test_decisions_outside_the_window_do_not_count(desk: ReviewDesk) -> None:
    item(desk, "frame", arrived_h=50, decided_h=48, handling_s=10.0)
    item(desk, "frame", arrived_h=2, decided_h=1, handling_s=30.0)
    frames = kinds(board(desk))["frame"]
    assert frames.decided == 1 and frames.median_decision_seconds == 30.0 and frames.sla_breaches == 0


def test_decisions_without_a_handling_time_count_as_decided_but_not_timed(desk: ReviewDesk) -> None:
    item(desk, "texture", arrived_h=3, decided_h=1)
    [texture] = board(desk).kinds
    assert texture.decided == 1 and texture.median_decision_seconds == 0.0
    assert board(desk).reviewers == []  # nobody's handling time is known


def test_reviewers_throughput_is_decisions_per_handling_hour(desk: ReviewDesk) -> None:
    for spent in (600.0, 1200.0):
        item(desk, "frame", arrived_h=3, decided_h=2, handling_s=spent, reviewer="ben")
    item(desk, "frame", arrived_h=3, decided_h=2, handling_s=0.0, reviewer="anna")
    reviewers = {r.reviewer: r for r in board(desk).reviewers}
    assert (reviewers["ben"].decisions, reviewers["ben"].handling_hours, reviewers["ben"].decisions_per_hour) == (2, 0.5, 4.0)
    assert reviewers["anna"].decisions_per_hour == 0.0  # no time spent: no rate, not a division by zero


def test_second_reviews_and_everything_else_are_counted_per_production(desk: ReviewDesk) -> None:
    item(desk, "frame", arrived_h=3, decided_h=2, handling_s=5.0, second=("done", True))
    item(desk, "frame", arrived_h=3, decided_h=2, handling_s=5.0, second=("done", False))
    item(desk, "frame", arrived_h=3, decided_h=2, handling_s=5.0, second=("pending", None))
    item(desk, "script", arrived_h=3, production="prod-b", decided_h=2, handling_s=5.0, second=("done", True))
    everything = board(desk)
    assert (everything.second_reviews_done, everything.second_reviews_agreed, everything.second_reviews_pending) == (3, 2, 1)
    only_b = board(desk, ["prod-b"])
    assert (only_b.second_reviews_done, only_b.second_reviews_agreed, only_b.second_reviews_pending) == (1, 1, 0)
    assert [k.kind for k in only_b.kinds] == ["script"]


def test_the_total_staffing_is_the_sum_over_kinds() -> None:
    dashboard = Dashboard(
        at=NOW,
        window_hours=24,
        sla_seconds=1.0,
        kinds=[KindStats("a", reviewers_needed=0.333), KindStats("b", reviewers_needed=1.111)],
    )
    assert dashboard.reviewers_needed == 1.44


@pytest.mark.parametrize(("q", "expected"), [(0, 1.0), (100, 4.0), (50, 2.5), (25, 1.75)])
def test_percentiles_run_from_the_smallest_to_the_largest_value(q: float, expected: float) -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], q) == expected
