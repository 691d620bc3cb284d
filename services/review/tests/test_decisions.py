"""Leases and decisions on the desk: who gets which item, what a decision needs (a claim,
notes for a revision, no open blocking finding, not one's own request), retries that give
the same answer, and the event each decision leaves in the outbox."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from helix.events import ReviewApproved, ReviewRejected, decode
from helix_review.db import Consent, Decision, OutboxEvent, ReviewItem, SecondReview, utcnow
from helix_review.decisions import sampled_for_second_review
from helix_review.desk import ReviewDesk
from helix_review.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from helix_review.records import new_id

from .conftest import ADMIN, ANNA, BEN, add_finding, add_item, item


def outbox(desk: ReviewDesk) -> list[OutboxEvent]:
    with desk.sessions() as s:
        return list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def count(desk: ReviewDesk, model: Any) -> int:
    with desk.sessions() as s:
        return len(s.scalars(select(model)).all())


def expire_lease(desk: ReviewDesk, item_id: str) -> None:
    with desk.sessions() as s, s.begin():
        s.get(ReviewItem, item_id).lease_expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]


def test_the_riskiest_item_is_claimed_first_and_never_twice(desk: ReviewDesk) -> None:
    low = add_item(desk, age=timedelta(hours=1), priority=-1.0)
    high = add_item(desk, priority=-25.0)
    anna = desk.decisions.claim_next(ANNA, productions=[])
    ben = desk.decisions.claim_next(BEN, productions=[])
    assert anna is not None and ben is not None and (anna.id, ben.id) == (high, low)
    assert anna.claimed_by == "anna" and anna.lease_expires_at is not None and anna.lease_expires_at > utcnow()
    assert desk.decisions.claim_next(ADMIN, productions=[]) is None  # everything is held


def test_a_lapsed_lease_can_be_taken_over(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    desk.decisions.claim_next(ANNA, productions=[], lease_seconds=60)
    expire_lease(desk, item_id)
    taken = desk.decisions.claim_next(BEN, productions=[])
    assert taken is not None and taken.id == item_id and taken.claimed_by == "ben"
    with pytest.raises(FailedPrecondition, match="held by ben"):
        desk.decisions.decide(item_id, ANNA, "approved", "")


def test_claiming_a_chosen_item_gives_back_the_one_held(desk: ReviewDesk) -> None:
    first, chosen = add_item(desk, priority=-5.0), add_item(desk)
    assert desk.decisions.claim_next(ANNA, productions=[]).id == first  # type: ignore[union-attr]
    picked = desk.decisions.claim_next(ANNA, productions=[], item_id=chosen)
    assert picked is not None and picked.id == chosen
    assert item(desk, first).claimed_by is None
    assert desk.decisions.claim_next(BEN, productions=[], item_id=chosen) is None  # Anna holds it


def test_only_the_holder_releases_a_claim(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(FailedPrecondition, match="not claimed by ben"):
        desk.decisions.release(item_id, BEN)
    released = desk.decisions.release(item_id, ANNA)
    assert released.claimed_by is None and released.lease_expires_at is None
    assert desk.decisions.claim_next(BEN, productions=[]).id == item_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("outcome", "notes", "match"), [("maybe", "", "outcome must be one of"), ("revision_requested", "   ", "needs notes")]
)
def test_a_decision_names_a_known_outcome_and_a_revision_says_what_to_change(
    desk: ReviewDesk, outcome: str, notes: str, match: str
) -> None:
    item_id = add_item(desk)
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(InvalidArgument, match=match):
        desk.decisions.decide(item_id, ANNA, outcome, notes)


def test_an_unclaimed_item_cannot_be_decided(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    with pytest.raises(FailedPrecondition, match="not held"):
        desk.decisions.decide(item_id, ANNA, "rejected", "no")


def test_a_decision_goes_to_the_outbox_with_the_item_and_its_findings(desk: ReviewDesk) -> None:
    desk.decisions.second_share = 0.0
    item_id = add_item(desk, production="prod-q")
    finding_id = add_finding(desk, item_id, check="policy_terms", blocks_approval=False)
    desk.decisions.claim_next(ANNA, productions=[])
    decision = desk.decisions.decide(item_id, ANNA, "rejected", "  off model  ")
    assert (decision.outcome, decision.reviewer, decision.reviewer_roles, decision.notes) == (
        "rejected",
        "anna",
        ["reviewer"],
        "off model",
    )
    decided = item(desk, item_id)
    assert decided.status == "rejected" and decided.claimed_by is None and decided.decided_at == decision.decided_at
    [row] = outbox(desk)
    event = decode(row.payload.encode())
    assert isinstance(event.data, ReviewRejected) and event.id == decision.event_id == row.event_id
    assert (row.topic, row.key) == (ReviewRejected.topic.value, "prod-q")
    assert (event.data.decision_id, event.data.asset_id, event.data.finding_ids, event.data.notes) == (
        decision.id,
        decided.asset_id,
        [finding_id],
        "off model",
    )
    assert count(desk, SecondReview) == 0  # none sampled at a share of 0


def test_a_retried_decision_is_the_same_decision_and_a_different_one_is_refused(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    desk.decisions.claim_next(ANNA, productions=[])
    first = desk.decisions.decide(item_id, ANNA, "approved", "")
    assert desk.decisions.decide(item_id, ANNA, "approved", "").id == first.id
    assert count(desk, Decision) == 1 and len(outbox(desk)) == 1
    with pytest.raises(FailedPrecondition, match="already decided: approved by anna"):
        desk.decisions.decide(item_id, ANNA, "rejected", "changed my mind")
    with pytest.raises(FailedPrecondition, match="already decided"):
        desk.decisions.decide(item_id, BEN, "approved", "")


def test_whoever_requested_an_asset_cannot_approve_it(desk: ReviewDesk) -> None:
    item_id = add_item(desk, requested_by="anna")
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(PermissionDenied, match="requested this asset"):
        desk.decisions.decide(item_id, ANNA, "approved", "")
    assert desk.decisions.decide(item_id, ANNA, "rejected", "not good enough").outcome == "rejected"


def test_an_open_blocking_finding_stops_an_approval_but_not_a_rejection(desk: ReviewDesk) -> None:
    blocked, other = add_item(desk), add_item(desk)
    finding_id = add_finding(desk, blocked, subject="Ann Lee", message="Ann Lee appears")
    add_finding(desk, other, check="policy_terms", blocks_approval=False)
    desk.decisions.claim_next(ANNA, productions=[], item_id=blocked)
    with pytest.raises(FailedPrecondition, match=f"finding {finding_id} is open"):
        desk.decisions.decide(blocked, ANNA, "approved", "")
    desk.decisions.decide(blocked, ANNA, "rejected", "needs consent")
    desk.decisions.claim_next(ANNA, productions=[], item_id=other)
    assert desk.decisions.decide(other, ANNA, "approved", "").outcome == "approved"  # a finding that does not block


def test_an_approval_checks_for_consents_that_lapsed_since_the_last_sweep(desk: ReviewDesk) -> None:
    item_id = add_item(desk)
    add_finding(desk, item_id, subject="Ann Lee", message="Ann Lee appears in this frame under consent c for 'likeness'")
    given = desk.consents.record_consent(ADMIN, "Ann Lee", ["likeness"], [], utcnow() + timedelta(days=1), "signed")
    with desk.sessions() as s, s.begin():
        s.get(Consent, given.id).expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    desk.decisions.claim_next(ANNA, productions=[])
    with pytest.raises(FailedPrecondition, match="has expired or been revoked"):
        desk.decisions.decide(item_id, ANNA, "approved", "")


def test_sampled_decisions_wait_for_a_second_review(desk: ReviewDesk) -> None:
    item_id = add_item(desk, production="prod-s")
    desk.decisions.claim_next(ANNA, productions=[])
    decision = desk.decisions.decide(item_id, ANNA, "approved", "")
    with desk.sessions() as s:
        [second] = s.scalars(select(SecondReview)).all()
    assert (second.decision_id, second.item_id, second.first_reviewer, second.production_id, second.status) == (
        decision.id,
        item_id,
        "anna",
        "prod-s",
        "pending",
    )
    event = json.loads(outbox(desk)[0].payload)
    assert event["type"] == ReviewApproved.event_type


def test_a_share_of_one_samples_every_decision() -> None:
    assert all(sampled_for_second_review(new_id(), 1.0) for _ in range(200))
