"""Second review: a sampled share of decisions goes to another reviewer, never the first;
whether the two agree is kept (the dashboard shows it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import sessionmaker

from helix.events import Actor
from helix_review.db import DONE, OUTCOMES, PENDING, Decision, ReviewItem, SecondReview, utcnow
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from helix_review.records import audit


class SecondReviews:
    def __init__(self, sessions: sessionmaker, *, lease_seconds: int = 300) -> None:
        self.sessions = sessions
        self.lease_seconds = lease_seconds

    def claim_second(self, reviewer: Actor, *, lease_seconds: int = 0, productions: list[str]) -> SecondReview | None:
        """The oldest sampled decision this reviewer did not make and nobody else holds."""
        now = utcnow()
        lease = timedelta(seconds=lease_seconds or self.lease_seconds)
        with self.sessions() as s, s.begin():
            query = select(SecondReview).where(
                SecondReview.status == PENDING, SecondReview.first_reviewer != reviewer.subject,
                or_(SecondReview.claimed_by.is_(None), SecondReview.claimed_by == reviewer.subject, SecondReview.lease_expires_at <= now),
            )
            if productions:
                query = query.where(SecondReview.production_id.in_(productions))
            query = query.order_by(SecondReview.claimed_by.is_(None), SecondReview.created_at, SecondReview.id).limit(1)
            if s.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            second = s.scalars(query).first()
            if second is None:
                return None
            second.claimed_by = reviewer.subject
            second.lease_expires_at = now + lease
            return second

    def decide_second(self, second_id: str, reviewer: Actor, outcome: str, notes: str, productions: Sequence[str] = ()) -> SecondReview:
        if outcome not in OUTCOMES:
            raise InvalidArgument(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        now = utcnow()
        with self.sessions() as s, s.begin():
            query = select(SecondReview).where(SecondReview.id == second_id)
            if s.bind.dialect.name == "postgresql":
                query = query.with_for_update()
            second = s.scalars(query).first()
            if second is None:
                raise NotFound(f"no second review {second_id!r}")
            if second.status == DONE:
                if second.reviewer == reviewer.subject and second.outcome == outcome:
                    return second  # a retried request
                raise FailedPrecondition(f"second review {second_id} was already done by {second.reviewer}")
            if productions and second.production_id not in productions:
                raise PermissionDenied(f"{reviewer.subject} does not review production {second.production_id}")
            if second.first_reviewer == reviewer.subject:
                raise PermissionDenied("a second review is done by someone other than the first reviewer")
            if second.claimed_by != reviewer.subject or second.lease_expires_at is None or second.lease_expires_at <= now:
                raise FailedPrecondition(f"claim second review {second_id} before deciding it")
            first = s.get(Decision, second.decision_id)
            second.status = DONE
            second.reviewer = reviewer.subject
            second.outcome = outcome
            second.agrees = first is not None and first.outcome == outcome
            second.notes = notes.strip()
            second.decided_at = now
            second.claimed_by = None
            second.lease_expires_at = None
            item = s.get(ReviewItem, second.item_id)
            audit(s, reviewer, "second_review.done", item=item, subject=second.decision_id, reason=second.notes,
                        details={"second_review_id": second.id, "outcome": outcome, "agrees": second.agrees})
            return second

