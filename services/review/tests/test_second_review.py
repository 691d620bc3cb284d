"""Second reviews on the desk: sampled decisions go to someone other than the first reviewer,
in their productions, one holder at a time; deciding needs the claim, retries give the same
answer, and agreement is kept and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helix.events import Actor
from helix_review.db import AuditEntry, SecondReview, utcnow
from helix_review.desk import ReviewDesk
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

from .conftest import ANNA, BEN, CARA, add_item


def decided(desk: ReviewDesk, outcome: str = "approved", production: str = "prod-a", reviewer: Actor = ANNA) -> str:
    """An item decided by `reviewer` (every decision is sampled here); the item id."""
    item_id = add_item(desk, production=production)
    desk.decisions.claim_next(reviewer, productions=[], item_id=item_id)
    desk.decisions.decide(item_id, reviewer, outcome, "why" if outcome != "approved" else "")
    return item_id


def test_a_second_review_is_offered_in_the_reviewers_productions_only(desk: ReviewDesk) -> None:
    decided(desk, production="prod-a")
    b = decided(desk, production="prod-b")
    second = desk.second_reviews.claim_second(BEN, productions=["prod-b"])
    assert second is not None and second.item_id == b and second.item.production_id == "prod-b"
    assert desk.second_reviews.claim_second(BEN, productions=["prod-c"]) is None


def test_a_held_second_review_goes_to_nobody_else_until_its_lease_lapses(desk: ReviewDesk) -> None:
    decided(desk)
    held = desk.second_reviews.claim_second(BEN, productions=[], lease_seconds=60)
    assert held is not None and held.claimed_by == "ben"
    assert desk.second_reviews.claim_second(CARA, productions=[]) is None
    assert desk.second_reviews.claim_second(BEN, productions=[]).id == held.id  # type: ignore[union-attr]  # a retried claim
    with desk.sessions() as s, s.begin():
        s.get(SecondReview, held.id).lease_expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    taken = desk.second_reviews.claim_second(CARA, productions=[])
    assert taken is not None and taken.id == held.id and taken.claimed_by == "cara"
    with pytest.raises(FailedPrecondition, match="claim second review"):
        desk.second_reviews.decide_second(held.id, BEN, "approved", "")


def test_deciding_needs_a_known_outcome_a_known_review_and_a_claim(desk: ReviewDesk) -> None:
    decided(desk)
    with pytest.raises(InvalidArgument):
        desk.second_reviews.decide_second("any", BEN, "fine", "")
    with pytest.raises(NotFound):
        desk.second_reviews.decide_second("nope", BEN, "approved", "")
    with desk.sessions() as s:
        second_id = s.scalars(select(SecondReview.id)).one()
    with pytest.raises(FailedPrecondition, match="before deciding"):
        desk.second_reviews.decide_second(second_id, BEN, "approved", "")


def test_a_second_review_outside_the_reviewers_productions_is_refused(desk: ReviewDesk) -> None:
    decided(desk, production="prod-a")
    second = desk.second_reviews.claim_second(BEN, productions=[])
    assert second is not None
    with pytest.raises(PermissionDenied, match="does not review production prod-a"):
        desk.second_reviews.decide_second(second.id, BEN, "approved", "", productions=["prod-b"])


def test_agreement_is_kept_and_a_retry_gets_the_same_answer(desk: ReviewDesk) -> None:
    decided(desk, "revision_requested")
    second = desk.second_reviews.claim_second(BEN, productions=[])
    assert second is not None
    done = desk.second_reviews.decide_second(second.id, BEN, "revision_requested", "  same here ")
    assert (done.status, done.agrees, done.reviewer, done.notes, done.claimed_by) == ("done", True, "ben", "same here", None)
    assert desk.second_reviews.decide_second(second.id, BEN, "revision_requested", "").decided_at == done.decided_at
    with pytest.raises(FailedPrecondition, match="already done by ben"):
        desk.second_reviews.decide_second(second.id, CARA, "revision_requested", "")
    with desk.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "second_review.done")).one()
    assert (entry.actor, entry.reason, entry.details) == (
        "ben",
        "same here",
        {"second_review_id": second.id, "outcome": "revision_requested", "agrees": True},
    )
    assert desk.second_reviews.claim_second(CARA, productions=[]) is None  # done: offered to nobody


def test_the_oldest_sampled_decision_comes_first(desk: ReviewDesk) -> None:
    first = decided(desk)
    second = decided(desk, "rejected")
    claims = [desk.second_reviews.claim_second(r, productions=[]) for r in (BEN, CARA)]
    assert [c.item_id if c else None for c in claims] == [first, second]
