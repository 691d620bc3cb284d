"""Creative rights: the likeness consent registry and each production's policy. A consent
recorded closes the consent findings it covers (audited); one revoked or expired flags its
assets again — on revoke, on a schedule (`recheck_consents`), and before any approval
(`recheck_item`). Findings an admin accepts are resolved here too, with a reason."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from helix.events import Actor, AssetKind
from helix_review.checks.consent import REQUIRED_SCOPE, SCOPES
from helix_review.db import PENDING, Consent, Finding, Policy, ReviewItem, utcnow
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound
from helix_review.records import audit, new_id, register_performer, rescore


class Consents:
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

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
            rescore(finding.item)
            audit(s, admin, "finding.resolved", item=finding.item, subject=finding_id, reason=reason.strip(),
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
            person = register_performer(s, performer, aliases)
            consent = Consent(id=new_id(), performer_key=person.name_key, performer=person.name, scopes=sorted(set(scopes)),
                              production_ids=sorted(set(production_ids)), expires_at=expires_at, recorded_by=actor.subject,
                              recorded_at=now, reason=reason)
            s.add(consent)
            audit(s, actor, "consent.recorded", subject=person.name, reason=reason,
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
                    rescore(f.item)
                    audit(s, actor, "finding.resolved", item=f.item, subject=f.id, reason=f"consent {consent.id} recorded")
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
            audit(s, actor, "consent.revoked", subject=consent.performer, reason=reason, details={"consent_id": consent_id})
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

    def recheck_item(self, item_id: str, now: datetime) -> None:
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
            rescore(f.item)
            audit(s, system, "finding.reopened", item=f.item, subject=f.id, reason=f"consent {f.consent_id} lapsed")
        return len(findings)

    def set_policy(self, actor: Actor, production_id: str, banned_terms: list[str], performers: list[str]) -> Policy:
        with self.sessions() as s, s.begin():
            names = sorted({" ".join(p.split()) for p in performers if p.strip()})  # a blank name would match every text
            for name in names:
                register_performer(s, name, ())
            policy = s.get(Policy, production_id) or Policy(production_id=production_id)
            policy.banned_terms = sorted({t.strip() for t in banned_terms if t.strip()})
            policy.performers = names
            policy.updated_by = actor.subject
            policy.updated_at = utcnow()
            s.add(policy)
            audit(s, actor, "policy.set", production_id=production_id, subject=production_id,
                        details={"banned_terms": policy.banned_terms, "performers": policy.performers})
            return policy

