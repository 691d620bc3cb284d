"""Creative rights: the likeness consent registry and each production's policy. A consent
recorded closes the consent findings it covers (audited); one revoked or expired flags its
assets again — on revoke, on a schedule (`recheck_consents`), and before any approval
(`recheck_item`). Findings an admin accepts are resolved here too, with a reason."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker, undefer

from helix.assets.media import SNIFFED_TYPES, bytes_are
from helix.events import Actor, AssetKind
from helix_review.checks.consent import REQUIRED_SCOPE, SCOPES
from helix_review.db import PENDING, Consent, ConsentReference, Finding, Policy, ReviewItem, utcnow
from helix_review.errors import FailedPrecondition, InvalidArgument, NotFound
from helix_review.likeness import Likeness
from helix_review.records import audit, new_id, register_performer, rescore

# Findings a consent closes: a performer named (`likeness_consent`) or resembled (`likeness_resemblance`).
CONSENT_CHECKS = ("likeness_consent", "likeness_resemblance")
# A consent's reference media (the type a client claims is checked against the bytes: `helix.assets.media`).
REFERENCE_TYPES = SNIFFED_TYPES
MAX_REFERENCE_BYTES = 3_000_000  # under gRPC's 4 MiB message limit


class Consents:
    def __init__(self, sessions: sessionmaker, likeness: Likeness | None = None) -> None:
        self.sessions = sessions
        self.likeness = likeness or Likeness()  # screening's encoders: a consent's references are embedded when added

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
                    Finding.check.in_(CONSENT_CHECKS), Finding.open.is_(True), func.lower(Finding.subject) == person.name.lower(),
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

    def add_reference(self, consent_id: str, actor: Actor, media_type: str, data: bytes) -> ConsentReference:
        """A reference image or recording of the consent's performer, embedded now when an
        encoder for its kind is configured, so screening compares generated images or voices with it."""
        media_type = media_type.split(";")[0].strip().lower()
        if media_type not in REFERENCE_TYPES:
            raise InvalidArgument(f"a consent reference is one of {', '.join(REFERENCE_TYPES)}; got {media_type or '(none)'}")
        if not data or len(data) > MAX_REFERENCE_BYTES:
            raise InvalidArgument(f"a consent reference holds 1 to {MAX_REFERENCE_BYTES} bytes; got {len(data)}")
        if not bytes_are(data, media_type):
            raise InvalidArgument(f"the bytes are not {media_type}")
        embedding, encoding = None, self.likeness.encoder_for(media_type)
        if encoding is not None:
            try:
                embedding = encoding[0].embed(data)
            except Exception as exc:
                raise InvalidArgument(f"the {media_type} cannot be read: {type(exc).__name__}: {exc}"[:300]) from None
        with self.sessions() as s, s.begin():
            consent = _unrevoked(s, consent_id, "was revoked: it takes no new references")
            reference = ConsentReference(id=new_id(), consent_id=consent_id, media_type=media_type, sha256=hashlib.sha256(data).hexdigest(),
                                         size_bytes=len(data), data=data, embedding=embedding,
                                         embedding_model=encoding[0].model if encoding is not None else None,
                                         added_by=actor.subject, added_at=utcnow())
            s.add(reference)
            audit(s, actor, "consent.reference_added", subject=consent.performer,
                  details={"consent_id": consent_id, "reference_id": reference.id, "media_type": media_type, "sha256": reference.sha256})
            s.flush()
            s.expunge(reference)
            return reference

    def reference(self, reference_id: str, productions: list[str] | None) -> ConsentReference:
        """A reference and its bytes, for a caller who may see its consent (`productions`: those
        they are assigned to; None: an admin). Anyone else is told there is no such reference."""
        with self.sessions() as s:
            reference = s.get(ConsentReference, reference_id, options=[undefer(ConsentReference.data)])
            if reference is None or not reference.consent.visible_to(productions):
                raise NotFound(f"no consent reference {reference_id!r}")
            s.expunge(reference)
            return reference

    def embed_references(self) -> int:
        """Embed the references not yet embedded by the configured encoder of their kind (added
        while none was configured, or by another); returns how many."""
        models = self.likeness.models()
        if not models:
            return 0
        with self.sessions() as s, s.begin():
            candidates = s.scalars(select(ConsentReference).where(or_(ConsentReference.embedding_model.is_(None),
                                                                      ConsentReference.embedding_model.not_in(models))))
            done = 0
            for reference in candidates:
                if (encoding := self.likeness.encoder_for(reference.media_type)) is not None:
                    reference.embedding, reference.embedding_model = encoding[0].embed(reference.data), encoding[0].model
                    done += 1
            return done

    def revoke_consent(self, consent_id: str, actor: Actor, reason: str) -> Consent:
        with self.sessions() as s, s.begin():
            consent = _unrevoked(s, consent_id, "was already revoked")
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


def _unrevoked(s: Session, consent_id: str, if_revoked: str) -> Consent:
    """A consent that is not revoked; NotFound or FailedPrecondition (`consent <id> <if_revoked>`) otherwise."""
    consent = s.get(Consent, consent_id)
    if consent is None:
        raise NotFound(f"no consent {consent_id!r}")
    if consent.revoked_at is not None:
        raise FailedPrecondition(f"consent {consent_id} {if_revoked}")
    return consent
