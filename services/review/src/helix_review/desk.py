"""The review desk: everything people do with review items, in SQL transactions.

Methods are synchronous (SQLAlchemy sessions); the gRPC layer runs them in threads.
Every change of state that a person causes writes an audit entry in the same
transaction; every decision also writes its Kafka event to the outbox there, so a crash
can neither lose a decision's event nor publish one for a decision that was not stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from helix.events import Actor, AssetKind, Region, ReviewApproved, ReviewRejected, ReviewRevisionRequested, encode, new_event
from helix.pagination import InvalidCursor, decode_cursor, encode_cursor
from helix.settings import HelixSettings
from helix_review.checks import Severity, risk_score
from helix_review.checks.consent import REQUIRED_SCOPE, SCOPES
from helix_review.dashboard import Dashboard, build_dashboard
from helix_review.db import (
    DONE,
    OUTCOMES,
    PENDING,
    AuditEntry,
    Consent,
    Decision,
    Finding,
    OutboxEvent,
    Performer,
    Policy,
    ReviewItem,
    SecondReview,
    utcnow,
)
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

DECISION_MODELS = {"approved": ReviewApproved, "rejected": ReviewRejected, "revision_requested": ReviewRevisionRequested}
IMAGE_KINDS = frozenset({AssetKind.FRAME, AssetKind.SCENE, AssetKind.TEXTURE})
MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str


def new_id() -> str:
    return uuid.uuid4().hex


def sampled_for_second_review(decision_id: str, share: float) -> bool:
    """A fixed share of decisions, chosen by their id's hash: uniform, and the same on a retry."""
    return share > 0 and int(hashlib.sha256(decision_id.encode()).hexdigest()[:8], 16) < share * 2**32


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _page_size(size: int) -> int:
    return max(1, min(size or 50, MAX_PAGE))


def _page(rows: list[Any], size: int, key: Any) -> Page:
    """The first `size` rows (one extra was fetched to know whether more follow)."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(key(rows[-1])) if more else "")


def _cursor(cursor: str, length: int) -> list[Any] | None:
    try:
        return decode_cursor(cursor, length)
    except InvalidCursor as exc:
        raise InvalidArgument(str(exc)) from None


class ReviewDesk:
    def __init__(self, sessions: sessionmaker, settings: HelixSettings, *, lease_seconds: int = 300, source: str = "/helix/review",
                 second_share: float = 0.0) -> None:
        self.sessions = sessions
        self.settings = settings
        self.lease_seconds = lease_seconds
        self.source = source
        self.second_share = second_share

    # --- audit ---------------------------------------------------------------------------

    @staticmethod
    def _audit(s: Session, actor: Actor, action: str, *, item: ReviewItem | None = None, production_id: str | None = None,
               subject: str = "", reason: str = "", details: dict[str, Any] | None = None) -> None:
        s.add(
            AuditEntry(
                at=utcnow(), actor=actor.subject, actor_roles=list(actor.roles), action=action,
                item_id=item.id if item else None, production_id=item.production_id if item else production_id,
                subject=subject, reason=reason, details=details or {},
            )
        )

    # --- reading -------------------------------------------------------------------------

    def get_item(self, item_id: str) -> ReviewItem:
        with self.sessions() as s:
            item = s.get(ReviewItem, item_id)
            if item is None:
                raise NotFound(f"no review item {item_id!r}")
            return item

    def list_queue(self, *, page_size: int, cursor: str, productions: list[str]) -> Page:
        """Pending items, highest risk first, then oldest: one index range scan per page."""
        size = _page_size(page_size)
        query = select(ReviewItem).where(ReviewItem.status == PENDING)
        if productions:
            query = query.where(ReviewItem.production_id.in_(productions))
        if (key := _cursor(cursor, 3)) is not None:
            query = query.where(
                tuple_(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id) > (key[0], datetime.fromisoformat(key[1]), key[2])
            )
        query = query.order_by(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id).limit(size + 1)
        with self.sessions() as s:
            rows = list(s.scalars(query))
        return _page(rows, size, lambda r: [r.priority, r.created_at.isoformat(), r.id])

    def list_items(self, *, page_size: int, cursor: str, production_id: str, status: str) -> Page:
        size = _page_size(page_size)
        query = select(ReviewItem)
        if production_id:
            query = query.where(ReviewItem.production_id == production_id)
        if status:
            query = query.where(ReviewItem.status == status)
        if (key := _cursor(cursor, 2)) is not None:
            query = query.where(tuple_(ReviewItem.created_at, ReviewItem.id) > (datetime.fromisoformat(key[0]), key[1]))
        query = query.order_by(ReviewItem.created_at, ReviewItem.id).limit(size + 1)
        with self.sessions() as s:
            rows = list(s.scalars(query))
        return _page(rows, size, lambda r: [r.created_at.isoformat(), r.id])

    def list_audit(self, *, page_size: int, cursor: str, item_id: str, production_id: str) -> Page:
        size = _page_size(page_size)
        query = select(AuditEntry)
        if item_id:
            query = query.where(AuditEntry.item_id == item_id)
        if production_id:
            query = query.where(AuditEntry.production_id == production_id)
        if (key := _cursor(cursor, 1)) is not None:
            query = query.where(AuditEntry.id > int(key[0]))
        with self.sessions() as s:
            rows = list(s.scalars(query.order_by(AuditEntry.id).limit(size + 1)))
        return _page(rows, size, lambda r: [r.id])

    def list_consents(self, *, page_size: int, cursor: str, performer: str) -> Page:
        size = _page_size(page_size)
        query = select(Consent)
        if performer:
            query = query.where(Consent.performer_key == name_key(performer))
        if (key := _cursor(cursor, 2)) is not None:
            query = query.where(tuple_(Consent.recorded_at, Consent.id) > (datetime.fromisoformat(key[0]), key[1]))
        with self.sessions() as s:
            rows = list(s.scalars(query.order_by(Consent.recorded_at, Consent.id).limit(size + 1)))
        return _page(rows, size, lambda r: [r.recorded_at.isoformat(), r.id])

    # --- leases --------------------------------------------------------------------------

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
            item = self._locked_item(s, item_id)
            if item.claimed_by != reviewer.subject:
                raise FailedPrecondition(f"item {item_id} is not claimed by {reviewer.subject}")
            item.claimed_by = None
            item.lease_expires_at = None
            return item

    # --- decisions -----------------------------------------------------------------------

    def decide(self, item_id: str, reviewer: Actor, outcome: str, notes: str, regions: Sequence[Region] = ()) -> Decision:
        if outcome not in OUTCOMES:
            raise InvalidArgument(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        notes = notes.strip()
        if outcome == "revision_requested" and not notes:
            raise InvalidArgument("a revision request needs notes saying what to change")
        if regions and outcome != "revision_requested":
            raise InvalidArgument("regions mark what to change: they go with a revision request")
        now = utcnow()
        if outcome == "approved":  # a consent may have lapsed since the last sweep: flag it first, for good
            self._recheck_item(item_id, now)
        with self.sessions() as s, s.begin():
            item = self._locked_item(s, item_id)
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
                                regions=[r.model_dump() for r in regions] or None, handling_seconds=handling)
            s.add(decision)
            if sampled_for_second_review(decision.id, self.second_share):
                s.add(SecondReview(id=new_id(), item_id=item.id, decision_id=decision.id, production_id=item.production_id,
                                   first_reviewer=reviewer.subject, status=PENDING, created_at=now))
            item.status = outcome
            item.decided_at = now
            item.claimed_by = None
            item.lease_expires_at = None
            extra: dict[str, Any] = {"regions": list(regions)} if outcome == "revision_requested" else {}
            data = DECISION_MODELS[outcome](
                production_id=item.production_id, decision_id=decision.id, asset_id=item.asset_id, kind=AssetKind(item.kind),
                asset_version=item.asset_version, reviewer=reviewer, decided_at=now, notes=notes or None,
                finding_ids=[f.id for f in item.findings], review_seconds=handling, **extra,
            )
            event = new_event(data, source=self.source, event_id=decision.event_id)
            s.add(OutboxEvent(event_id=event.id, topic=data.topic.value, key=item.production_id, payload=encode(event).decode(),
                              headers=_trace_headers(), created_at=now))
            self._audit(s, reviewer, f"decision.{outcome}", item=item, subject=item.asset_id, reason=notes,
                        details={"decision_id": decision.id, "event_id": event.id, "asset_version": item.asset_version})
        return decision

    # --- second review --------------------------------------------------------------------

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
            self._audit(s, reviewer, "second_review.done", item=item, subject=second.decision_id, reason=second.notes,
                        details={"second_review_id": second.id, "outcome": outcome, "agrees": second.agrees})
            return second

    # --- the dashboard ------------------------------------------------------------------------

    def dashboard(self, *, productions: list[str], window_hours: int, sla_seconds: float, now: datetime | None = None) -> Dashboard:
        now = now or utcnow()
        return build_dashboard(self.sessions, productions=productions, window=timedelta(hours=window_hours or 24),
                               sla_seconds=sla_seconds, now=now)

    # --- findings, consents, policies --------------------------------------------------------

    def resolve_finding(self, finding_id: str, admin: Actor, reason: str) -> Finding:
        if not reason.strip():
            raise InvalidArgument("resolving a finding needs a reason")
        with self.sessions() as s, s.begin():
            finding = s.get(Finding, finding_id)
            if finding is None:
                raise NotFound(f"no finding {finding_id!r}")
            if not finding.open:
                raise FailedPrecondition(f"finding {finding_id} is already resolved")
            finding.open = False
            finding.resolved_by = admin.subject
            finding.resolved_at = utcnow()
            finding.resolution_reason = reason.strip()
            self._rescore(finding.item)
            self._audit(s, admin, "finding.resolved", item=finding.item, subject=finding_id, reason=reason.strip(),
                        details={"check": finding.check, "message": finding.message})
            return finding

    def record_consent(self, actor: Actor, performer: str, scopes: list[str], production_ids: list[str],
                       expires_at: datetime | None, reason: str, aliases: Iterable[str] = ()) -> Consent:
        performer = " ".join(performer.split())
        if not performer:
            raise InvalidArgument("a consent names its performer")
        bad = sorted(set(scopes) - set(SCOPES)) or ([] if scopes else ["(none)"])
        if bad:
            raise InvalidArgument(f"consent scopes are {', '.join(SCOPES)}; got {', '.join(bad)}")
        now = utcnow()
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument("a consent that has already expired cannot be recorded")
        with self.sessions() as s, s.begin():
            person = self._register_performer(s, performer, aliases)
            consent = Consent(id=new_id(), performer_key=person.name_key, performer=person.name, scopes=sorted(set(scopes)),
                              production_ids=sorted(set(production_ids)), expires_at=expires_at, recorded_by=actor.subject,
                              recorded_at=now, reason=reason)
            s.add(consent)
            self._audit(s, actor, "consent.recorded", subject=person.name, reason=reason,
                        details={"consent_id": consent.id, "scopes": consent.scopes, "productions": consent.production_ids,
                                 "expires_at": expires_at.isoformat() if expires_at else None})
            s.flush()
            # Open consent findings this consent now covers are closed, with the reason.
            findings = s.scalars(
                select(Finding).join(ReviewItem).where(
                    Finding.check == "likeness_consent", Finding.open.is_(True), func.lower(Finding.subject) == person.name.lower(),
                    ReviewItem.status == PENDING,
                )
            ).all()
            for f in findings:
                if consent.covers(REQUIRED_SCOPE[AssetKind(f.item.kind)], f.item.production_id, now):
                    f.open = False
                    f.resolved_by = actor.subject
                    f.resolved_at = now
                    f.resolution_reason = f"consent {consent.id} recorded"
                    f.consent_id = consent.id
                    self._rescore(f.item)
                    self._audit(s, actor, "finding.resolved", item=f.item, subject=f.id, reason=f"consent {consent.id} recorded")
            return consent

    def revoke_consent(self, consent_id: str, actor: Actor, reason: str) -> Consent:
        with self.sessions() as s, s.begin():
            consent = s.get(Consent, consent_id)
            if consent is None:
                raise NotFound(f"no consent {consent_id!r}")
            if consent.revoked_at is not None:
                raise FailedPrecondition(f"consent {consent_id} was already revoked")
            consent.revoked_at = utcnow()
            consent.revoked_by = actor.subject
            consent.revoke_reason = reason
            self._audit(s, actor, "consent.revoked", subject=consent.performer, reason=reason, details={"consent_id": consent_id})
            self._reflag(s, consent.revoked_at, [consent_id])
            return consent

    def recheck_consents(self, now: datetime | None = None) -> int:
        """Flag again every finding that relied on a consent that has since expired or been
        revoked; returns how many were reopened (the service runs this on a schedule)."""
        now = now or utcnow()
        with self.sessions() as s, s.begin():
            lapsed = [c.id for c in s.scalars(select(Consent).where(
                Consent.id.in_(select(Finding.consent_id).where(Finding.open.is_(False), Finding.consent_id.is_not(None))),
                or_(Consent.revoked_at.is_not(None), Consent.expires_at <= now)))]
            return self._reflag(s, now, lapsed)

    def _recheck_item(self, item_id: str, now: datetime) -> None:
        with self.sessions() as s, s.begin():
            relied = select(Finding.consent_id).where(Finding.item_id == item_id, Finding.open.is_(False), Finding.consent_id.is_not(None))
            lapsed = s.scalars(select(Consent.id).where(Consent.id.in_(relied),
                                                        or_(Consent.revoked_at.is_not(None), Consent.expires_at <= now)))
            self._reflag(s, now, list(lapsed))

    def _reflag(self, s: Session, now: datetime, consent_ids: list[str]) -> int:
        if not consent_ids:
            return 0
        system = Actor(subject="review-service", kind="service")
        findings = list(s.scalars(select(Finding).where(Finding.consent_id.in_(consent_ids), Finding.open.is_(False))))
        for f in findings:
            f.open = True
            f.resolved_by = f.resolved_at = None
            f.resolution_reason = None
            f.message = f"{f.message.split(' under consent')[0]}: its consent {f.consent_id} has expired or been revoked"
            self._rescore(f.item)
            self._audit(s, system, "finding.reopened", item=f.item, subject=f.id, reason=f"consent {f.consent_id} lapsed")
        return len(findings)

    def set_policy(self, actor: Actor, production_id: str, banned_terms: list[str], performers: list[str]) -> Policy:
        with self.sessions() as s, s.begin():
            for name in performers:
                self._register_performer(s, name, ())
            policy = s.get(Policy, production_id) or Policy(production_id=production_id)
            policy.banned_terms = sorted({t.strip() for t in banned_terms if t.strip()})
            policy.performers = sorted({" ".join(p.split()) for p in performers if p.strip()})
            policy.updated_by = actor.subject
            policy.updated_at = utcnow()
            s.add(policy)
            self._audit(s, actor, "policy.set", production_id=production_id, subject=production_id,
                        details={"banned_terms": policy.banned_terms, "performers": policy.performers})
            return policy

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _locked_item(s: Session, item_id: str) -> ReviewItem:
        query = select(ReviewItem).where(ReviewItem.id == item_id)
        if s.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        item = s.scalars(query).first()
        if item is None:
            raise NotFound(f"no review item {item_id!r}")
        return item

    @staticmethod
    def _register_performer(s: Session, name: str, aliases: Iterable[str]) -> Performer:
        name = " ".join(name.split())
        person = s.get(Performer, name_key(name))
        if person is None:
            person = Performer(name_key=name_key(name), name=name, aliases=[])
            s.add(person)
            s.flush()  # consents reference it: the row must exist before theirs
        person.aliases = sorted({*person.aliases, *(" ".join(a.split()) for a in aliases if a.strip())})
        return person

    @staticmethod
    def _rescore(item: ReviewItem) -> None:
        item.priority = -risk_score([Severity(f.severity) for f in item.findings if f.open])


def _trace_headers() -> dict[str, str]:
    """The active trace context, so the decision event continues the reviewer's request trace."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
