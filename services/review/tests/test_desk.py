"""The review desk on a real (SQLite) database migrated by Alembic: handling time, marked
regions, second-review sampling and agreement, and the numbers the dashboard shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from helix.events import Region, TimeNote
from helix_review.dashboard import percentile
from helix_review.db import OutboxEvent
from helix_review.decisions import sampled_for_second_review
from helix_review.desk import ReviewDesk
from helix_review.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from helix_review.records import new_id

from .conftest import ANNA, BEN, add_item


def test_handling_time_runs_from_the_first_claim_and_travels_in_the_event(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    claimed = desk.decisions.claim_next(ANNA, productions=[])
    assert claimed is not None and claimed.id == item_id and claimed.first_claimed_at is not None
    first = claimed.first_claimed_at
    desk.decisions.release(item_id, ANNA)
    again = desk.decisions.claim_next(ANNA, productions=[])
    assert again is not None and again.first_claimed_at == first  # a second claim does not restart the clock
    decision = desk.decisions.decide(item_id, ANNA, "approved", "")
    assert decision.handling_seconds is not None and decision.handling_seconds >= 0
    with desk.sessions() as s:
        event = json.loads(s.scalars(select(OutboxEvent.payload)).one())
    assert event["data"]["review_seconds"] == decision.handling_seconds


def test_a_held_claim_outside_the_reviewers_productions_is_not_resumed(desk: ReviewDesk) -> None:
    old = add_item(desk, production="prod-a")
    assert desk.decisions.claim_next(ANNA, productions=["prod-a"]).id == old  # type: ignore[union-attr]
    new = add_item(desk, production="prod-b")
    # Anna now works on prod-b only (her token says so): her lease on prod-a's item is not hers to resume here.
    claimed = desk.decisions.claim_next(ANNA, productions=["prod-b"])
    assert claimed is not None and claimed.id == new and claimed.production_id == "prod-b"
    assert desk.decisions.claim_next(ANNA, productions=["prod-b"]).id == new, "a retried claim still returns the same item"  # type: ignore[union-attr]


def test_regions_travel_with_a_revision_request_of_an_image_only(desk: ReviewDesk) -> None:
    frame, script = add_item(desk, "frame"), add_item(desk, "script")
    region = Region(x=0.25, y=0.5, width=0.5, height=0.25, note="the lamp is too bright")
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(InvalidArgument, match="revision request"):
        desk.decisions.decide(frame, ANNA, "approved", "", [region])
    desk.decisions.decide(frame, ANNA, "revision_requested", "tone the lamp down", [region])
    with desk.sessions() as s:
        event = json.loads(s.scalars(select(OutboxEvent.payload)).one())
    assert event["type"] == "helix.review.revision_requested"
    assert event["data"]["regions"] == [region.model_dump()]
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(InvalidArgument, match="script has none"):
        desk.decisions.decide(script, ANNA, "revision_requested", "shorter", [region])


def test_time_notes_travel_with_a_revision_request_of_what_plays_over_time_only(desk: ReviewDesk) -> None:
    animatic, frame = add_item(desk, "animatic"), add_item(desk, "frame")
    moments = [TimeNote(start_s=1.5, note="the cut comes too early"), TimeNote(start_s=3.0, end_s=4.25, note="hold the wide shot")]
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(InvalidArgument, match="go with a revision request"):
        desk.decisions.decide(animatic, ANNA, "approved", "", (), moments)
    decision = desk.decisions.decide(animatic, ANNA, "revision_requested", "retime the middle", (), moments)
    assert decision.timecodes == [m.model_dump() for m in moments]
    with desk.sessions() as s:
        event = json.loads(s.scalars(select(OutboxEvent.payload)).one())
    assert [TimeNote.model_validate(t) for t in event["data"]["timecodes"]] == moments, "the decision on the bus carries them"
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(InvalidArgument, match="a frame does not play over time"):
        desk.decisions.decide(frame, ANNA, "revision_requested", "later", (), moments)


def test_a_time_note_ends_after_it_starts_and_reads_as_a_clock() -> None:
    with pytest.raises(ValueError, match="ends at or after it starts"):
        TimeNote(start_s=4, end_s=3, note="x")
    assert TimeNote(start_s=61.25, note="x").label() == "1:01.2"
    assert TimeNote(start_s=1.5, end_s=2.0, note="x").label() == "0:01.5–0:02.0"


def test_regions_must_lie_inside_the_image() -> None:
    with pytest.raises(ValueError, match="inside the image"):
        Region(x=0.8, y=0, width=0.5, height=0.1)
    assert Region(x=0.5, y=0.5, width=0.5, height=0.5).box(640, 360) == (320, 180, 640, 360)


def test_second_review_goes_to_someone_else_and_records_agreement(desk: ReviewDesk) -> None:
    one, two = add_item(desk), add_item(desk)
    desk.decisions.claim_next(ANNA, productions=[])
    desk.decisions.decide(one, ANNA, "approved", "")
    desk.decisions.claim_next(ANNA, productions=[])
    desk.decisions.decide(two, ANNA, "rejected", "off model")
    assert desk.second_reviews.claim_second(ANNA, productions=[]) is None  # nobody second-reviews their own decision
    first = desk.second_reviews.claim_second(BEN, productions=[])
    assert first is not None and first.item_id == one
    with pytest.raises(PermissionDenied):
        desk.second_reviews.decide_second(first.id, ANNA, "approved", "")
    done = desk.second_reviews.decide_second(first.id, BEN, "approved", "")
    assert done.agrees is True
    second = desk.second_reviews.claim_second(BEN, productions=[])
    assert second is not None and second.item_id == two
    assert desk.second_reviews.decide_second(second.id, BEN, "approved", "looks fine to me").agrees is False
    with pytest.raises(FailedPrecondition):
        desk.second_reviews.decide_second(second.id, BEN, "rejected", "")
    board = desk.queries.dashboard(productions=[], window_hours=24, sla_seconds=3600)
    assert (board.second_reviews_done, board.second_reviews_agreed, board.second_reviews_pending) == (2, 1, 0)


def test_sampling_takes_about_the_configured_share() -> None:
    ids = [new_id() for _ in range(4000)]
    share = sum(sampled_for_second_review(i, 0.1) for i in ids) / len(ids)
    assert 0.08 < share < 0.12
    assert all(sampled_for_second_review(i, 0.1) == sampled_for_second_review(i, 0.1) for i in ids[:50])
    assert not any(sampled_for_second_review(i, 0.0) for i in ids)


def test_dashboard_counts_depth_age_breaches_and_staffing(desk: ReviewDesk) -> None:
    desk.decisions.second_share = 0.0
    for age_h in (1, 2, 6):  # three frames waiting; one past a 4 h SLA
        add_item(desk, "frame", age=timedelta(hours=age_h))
    decided = []
    for _ in range(4):
        item_id = add_item(desk, "subtitles", age=timedelta(hours=5), production="prod-s")  # decided past the SLA
        desk.decisions.claim_next(BEN, productions=["prod-s"])
        decided.append(desk.decisions.decide(item_id, BEN, "approved", ""))
    with desk.sessions() as s, s.begin():  # pretend each took a known handling time
        for decision, spent in zip(decided, (30.0, 60.0, 90.0, 120.0), strict=True):
            s.merge(decision).handling_seconds = spent
    board = desk.queries.dashboard(productions=[], window_hours=24, sla_seconds=4 * 3600)
    kinds = {k.kind: k for k in board.kinds}
    frames, subs = kinds["frame"], kinds["subtitles"]
    assert frames.pending == 3 and frames.sla_breaches == 1
    assert 6 * 3600 - 5 < frames.oldest_pending_seconds < 6 * 3600 + 60
    assert subs.decided == 4 and subs.pending == 0
    assert subs.median_decision_seconds == 75.0
    assert subs.p90_decision_seconds == pytest.approx(percentile([30, 60, 90, 120], 90))
    assert subs.sla_breaches == 4
    assert subs.arrivals_per_hour == pytest.approx(4 / 24, abs=0.01)
    assert subs.reviewers_needed == pytest.approx(round(subs.arrivals_per_hour * 75 / 3600, 2), abs=0.01)
    ben = {r.reviewer: r for r in board.reviewers}["ben"]
    assert ben.decisions == 4 and ben.decisions_per_hour == pytest.approx(4 / (300 / 3600), rel=0.01)
    assert board.reviewers_needed == pytest.approx(sum(k.reviewers_needed for k in board.kinds), abs=0.02)
    only_b = desk.queries.dashboard(productions=["prod-b"], window_hours=24, sla_seconds=4 * 3600)
    assert only_b.kinds == []


def test_percentile_interpolates() -> None:
    assert percentile([], 90) == 0.0
    assert percentile([10.0], 90) == 10.0
    assert percentile([0.0, 10.0], 50) == 5.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
