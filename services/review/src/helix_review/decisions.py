"""Leases and decisions: a reviewer claims the top free item (or one they picked), and decides
it: approved, rejected or a revision with notes (and marked regions on images). A decision
writes its Kafka event to the outbox in the same transaction, so a crash can neither lose a
decision's event nor publish one for a decision that was not stored; a share of decisions is
sampled for a second reviewer."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import sessionmaker

from helix.events import (
    TIMED_KINDS,
    Actor,
    AssetKind,
    Region,
    ReviewApproved,
    ReviewRejected,
    ReviewRevisionRequested,
    TimeNote,
    encode,
    new_event,
)
from helix_review.consents import Consents
from helix_review.db import OUTCOMES, PENDING, Decision, OutboxEvent, ReviewItem, SecondReview, utcnow
from helix_review.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from helix_review.records import audit, locked_item, new_id

DECISION_MODELS = {"approved": ReviewApproved, "rejected": ReviewRejected, "revision_requested": ReviewRevisionRequested}
IMAGE_KINDS = frozenset({AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE, AssetKind.REFERENCE})


def sampled_for_second_review(decision_id: str, share: float) -> bool:
    """A fixed share of decisions, chosen by their id's hash: uniform, and the same on a retry."""
    return share > 0 and int(hashlib.sha256(decision_id.encode()).hexdigest()[:8], 16) < share * 2**32


class Decisions:
    def __init__(self, sessions: sessionmaker, consents: Consents, *, lease_seconds: int = 300, source: str = "/helix/review",
                 second_share: float = 0.0) -> None:
        self.sessions = sessions
        self.consents = consents
        self.lease_seconds = lease_seconds
        self.source = source
        self.second_share = second_share

    def claim_next(self, reviewer: Actor, *, lease_seconds: int = 0, productions: list[str], item_id: str = "") -> ReviewItem | None:
        """Give the reviewer the top pending item nobody holds (or their own current one); with
        `item_id`, that item if nobody else holds it (their current one is then released)."""
        now = utcnow()
        lease = timedelta(seconds=lease_seconds or self.lease_seconds)
        with self.sessions() as s, s.begin():
            held = select(ReviewItem).where(
                ReviewItem.status == PENDING, ReviewItem.claimed_by == reviewer.subject, ReviewItem.lease_expires_at > now)
            if productions:  # a claim held in a production the reviewer is no longer assigned to is not theirs to resume
                held = held.where(ReviewItem.production_id.in_(productions))
            mine = s.scalars(held.limit(1)).first()
            if mine is not None and item_id and mine.id != item_id:  # moving to another item gives this one back
                mine.claimed_by, mine.lease_expires_at, mine = None, None, None
            if mine is not None:  # a retried claim returns the same item, with a fresh lease
                mine.lease_expires_at = now + lease
                return mine
            query = select(ReviewItem.id).where(
                ReviewItem.status == PENDING,
                or_(ReviewItem.claimed_by.is_(None), ReviewItem.lease_expires_at <= now),
            )
            if productions:
                query = query.where(ReviewItem.production_id.in_(productions))
            if item_id:
                query = query.where(ReviewItem.id == item_id)
            query = query.order_by(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id)
            if s.bind.dialect.name == "postgresql":
                # Lock just the top free row; concurrent claimers skip it and take the next.
                query = query.limit(1).with_for_update(skip_locked=True)
            else:
                query = query.limit(8)  # SQLite serializes writers: the conditional update decides
            for item_id in s.scalars(query).all():
                # Conditional update: wins only if nobody claimed it since we looked.
                won = s.execute(
                    update(ReviewItem)
                    .where(
                        ReviewItem.id == item_id,
                        ReviewItem.status == PENDING,
                        or_(ReviewItem.claimed_by.is_(None), ReviewItem.lease_expires_at <= now),
                    )
                    .values(claimed_by=reviewer.subject, lease_expires_at=now + lease,
                            first_claimed_at=func.coalesce(ReviewItem.first_claimed_at, now))
                    .execution_options(synchronize_session=False)
                ).rowcount
                if won:
                    return s.get(ReviewItem, item_id, populate_existing=True)
            return None

    def release(self, item_id: str, reviewer: Actor) -> ReviewItem:
        with self.sessions() as s, s.begin():
            item = locked_item(s, item_id)
            if item.claimed_by != reviewer.subject:
                raise FailedPrecondition(f"item {item_id} is not claimed by {reviewer.subject}")
            item.claimed_by = None
            item.lease_expires_at = None
            return item

    # --- decisions -----------------------------------------------------------------------

    def decide(self, item_id: str, reviewer: Actor, outcome: str, notes: str, regions: Sequence[Region] = (),
               timecodes: Sequence[TimeNote] = ()) -> Decision:
        if outcome not in OUTCOMES:
            raise InvalidArgument(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        notes = notes.strip()
        if outcome == "revision_requested" and not notes:
            raise InvalidArgument("a revision request needs notes saying what to change")
        if regions and outcome != "revision_requested":
            raise InvalidArgument("regions mark what to change: they go with a revision request")
        if timecodes and outcome != "revision_requested":
            raise InvalidArgument("time notes mark what to change: they go with a revision request")
        now = utcnow()
        if outcome == "approved":  # a consent may have lapsed since the last sweep: flag it first, for good
            self.consents.recheck_item(item_id, now)
        with self.sessions() as s, s.begin():
            item = locked_item(s, item_id)
            if item.decision is not None:
                d = item.decision
                if d.reviewer == reviewer.subject and d.outcome == outcome:
                    return d  # a retried request: same answer, no second decision
                raise FailedPrecondition(f"item {item_id} was already decided: {d.outcome} by {d.reviewer} at {d.decided_at.isoformat()}")
            if item.claimed_by != reviewer.subject or item.lease_expires_at is None or item.lease_expires_at <= now:
                holder = f"held by {item.claimed_by} until {item.lease_expires_at.isoformat()}" if item.claimed_by and item.lease_expires_at and item.lease_expires_at > now else "not held"
                raise FailedPrecondition(f"claim item {item_id} before deciding it (its lease is {holder})")
            if regions and AssetKind(item.kind) not in IMAGE_KINDS:
                raise InvalidArgument(f"regions mark parts of an image; a {item.kind} has none")
            if timecodes and AssetKind(item.kind) not in TIMED_KINDS:
                raise InvalidArgument(f"time notes mark moments of an animatic, clip or recording; a {item.kind} does not play over time")
            if outcome == "approved":
                if item.requested_by and item.requested_by == reviewer.subject:
                    raise PermissionDenied(f"{reviewer.subject} requested this asset and cannot approve it; another reviewer must")
                blocking = [f for f in item.findings if f.open and f.blocks_approval]
                if blocking:
                    f = blocking[0]
                    raise FailedPrecondition(
                        f"cannot approve while finding {f.id} is open ({f.check}: {f.message}); "
                        "record the missing consent or have an admin resolve the finding"
                    )
            handling = round((now - item.first_claimed_at).total_seconds(), 3) if item.first_claimed_at else None
            decision = Decision(id=new_id(), item_id=item.id, outcome=outcome, reviewer=reviewer.subject,
                                reviewer_roles=list(reviewer.roles), notes=notes, decided_at=now, event_id=str(uuid.uuid4()),
                                regions=[r.model_dump() for r in regions] or None, handling_seconds=handling,
                                timecodes=[t.model_dump() for t in timecodes] or None)
            s.add(decision)
            if sampled_for_second_review(decision.id, self.second_share):
                s.add(SecondReview(id=new_id(), item_id=item.id, decision_id=decision.id, production_id=item.production_id,
                                   first_reviewer=reviewer.subject, status=PENDING, created_at=now))
            item.status = outcome
            item.decided_at = now
            item.claimed_by = None
            item.lease_expires_at = None
            extra: dict[str, Any] = {"regions": list(regions), "timecodes": list(timecodes)} if outcome == "revision_requested" else {}
            data = DECISION_MODELS[outcome](
                production_id=item.production_id, decision_id=decision.id, asset_id=item.asset_id, kind=AssetKind(item.kind),
                asset_version=item.asset_version, reviewer=reviewer, decided_at=now, notes=notes or None,
                finding_ids=[f.id for f in item.findings], review_seconds=handling, **extra,
            )
            event = new_event(data, source=self.source, event_id=decision.event_id)
            s.add(OutboxEvent(event_id=event.id, topic=data.topic.value, key=item.production_id, payload=encode(event).decode(),
                              headers=_trace_headers(), created_at=now))
            audit(s, reviewer, f"decision.{outcome}", item=item, subject=item.asset_id, reason=notes,
                        details={"decision_id": decision.id, "event_id": event.id, "asset_version": item.asset_version})
        return decision


def _trace_headers() -> dict[str, str]:
    """The active trace context, so the decision event continues the reviewer's request trace."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
