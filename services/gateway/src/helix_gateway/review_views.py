"""JSON shapes of the review service's messages, and their conversion from protobuf."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from helix.v1 import common_pb2, review_pb2


class ActorView(BaseModel):
    subject: str
    roles: list[str] = Field(default_factory=list)


class AuditStampView(BaseModel):
    actor: ActorView | None = None
    at: datetime | None = None
    reason: str = ""


class AssetRefView(BaseModel):
    asset_id: str
    production_id: str
    kind: str
    object_key: str
    sha256: str
    media_type: str
    version: int


class FindingView(BaseModel):
    finding_id: str
    item_id: str
    check: str = Field(description="store_integrity, lineage, likeness_consent, policy_terms, duplicate_content, …")
    severity: str = Field(description="info, low, medium, high, critical")
    message: str
    open: bool
    blocks_approval: bool
    subject: str = ""
    resolution: AuditStampView | None = None


class RegionView(BaseModel):
    x: float = Field(ge=0, le=1, description="Left edge, as a fraction of the image width")
    y: float = Field(ge=0, le=1, description="Top edge, as a fraction of the image height")
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)
    note: str = Field("", max_length=2_000)


class TimeNoteView(BaseModel):
    start_s: float = Field(ge=0, le=86_400, description="Seconds from the start of the animatic, clip or recording")
    end_s: float | None = Field(None, ge=0, le=86_400, description="The end of a range; none: a moment")
    note: str = Field(min_length=1, max_length=2_000)


class DecisionView(BaseModel):
    decision_id: str
    item_id: str
    asset_id: str
    production_id: str
    outcome: str = Field(description="approved, rejected or revision_requested")
    reviewer: ActorView | None = None
    notes: str = ""
    decided_at: datetime | None = None
    event_id: str = Field("", description="CloudEvent id of the decision on helix.review.decisions.v1")
    regions: list[RegionView] = Field(default_factory=list, description="Parts of the image the notes are about")
    handling_seconds: float | None = Field(None, description="From the reviewer's first claim to the decision")
    timecodes: list[TimeNoteView] = Field(default_factory=list, description="Moments of the animatic, clip or recording the notes are about")


class ReviewItemView(BaseModel):
    item_id: str
    asset: AssetRefView | None = None
    status: str = Field(description="pending, approved, rejected or revision_requested")
    risk_score: float
    findings: list[FindingView] = Field(default_factory=list)
    claimed_by: str | None = Field(None, description="Who holds the lease, if anyone")
    lease_expires_at: datetime | None = None
    created_at: datetime | None = None
    requested_by: str | None = Field(None, description="Who asked for the generation (they may not approve it)")
    asset_event: dict[str, Any] | None = Field(None, description="The helix.asset.generated event, as received")
    decision: DecisionView | None = None


class ConsentReferenceView(BaseModel):
    reference_id: str
    consent_id: str
    media_type: str
    sha256: str
    size_bytes: int
    embedded: bool = Field(description="Compared with generated images by the likeness screening")
    added: AuditStampView | None = None


class ConsentView(BaseModel):
    consent_id: str
    performer: str
    scopes: list[str]
    production_ids: list[str] = Field(description="Empty: every production")
    expires_at: datetime | None = None
    recorded: AuditStampView | None = None
    revoked: AuditStampView | None = None
    references: list[ConsentReferenceView] = Field(default_factory=list, description="Reference images and recordings: "
                                                                                     "GET /consents/{consent_id}/references/{reference_id}")


class AuditEntryView(BaseModel):
    entry_id: str
    at: datetime | None = None
    actor: ActorView | None = None
    action: str
    item_id: str = ""
    subject: str = ""
    reason: str = ""
    details: dict[str, Any] | None = None


class PolicyView(BaseModel):
    production_id: str
    banned_terms: list[str]
    performers: list[str]


# --- conversions ---------------------------------------------------------------------------


def _time(message: Message, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    return stamp.ToDatetime(tzinfo=UTC)


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def actor_view(actor: common_pb2.Actor) -> ActorView:
    return ActorView(subject=actor.subject, roles=list(actor.roles))


def _stamp(message: Message, name: str) -> AuditStampView | None:
    if not message.HasField(name):
        return None
    stamp: common_pb2.AuditStamp = getattr(message, name)
    return AuditStampView(
        actor=actor_view(stamp.actor) if stamp.HasField("actor") else None, at=_time(stamp, "at"), reason=stamp.reason
    )


def finding_view(finding: review_pb2.Finding) -> FindingView:
    severity = review_pb2.Severity.Name(finding.severity).removeprefix("SEVERITY_").lower()
    return FindingView(
        finding_id=finding.finding_id,
        item_id=finding.item_id,
        check=finding.check,
        severity=severity,
        message=finding.message,
        open=finding.open,
        blocks_approval=finding.blocks_approval,
        subject=finding.subject,
        resolution=_stamp(finding, "resolution"),
    )


def decision_view(decision: review_pb2.Decision) -> DecisionView:
    return DecisionView(
        decision_id=decision.decision_id,
        item_id=decision.item_id,
        asset_id=decision.asset_id,
        production_id=decision.production_id,
        outcome=decision.outcome,
        reviewer=actor_view(decision.reviewer) if decision.HasField("reviewer") else None,
        notes=decision.notes,
        decided_at=_time(decision, "decided_at"),
        event_id=decision.event_id,
        regions=[RegionView(x=r.x, y=r.y, width=r.width, height=r.height, note=r.note) for r in decision.regions],
        handling_seconds=decision.handling_seconds or None,
        timecodes=[TimeNoteView(start_s=t.start_s, end_s=t.end_s if t.HasField("end_s") else None, note=t.note) for t in decision.timecodes],
    )


def item_view(item: review_pb2.ReviewItem) -> ReviewItemView:
    asset = item.asset
    return ReviewItemView(
        item_id=item.item_id,
        asset=AssetRefView(
            asset_id=asset.asset_id,
            production_id=asset.production_id,
            kind=asset.kind,
            object_key=asset.object_key,
            sha256=asset.sha256,
            media_type=asset.media_type,
            version=asset.version,
        )
        if item.HasField("asset")
        else None,
        status=item.status,
        risk_score=item.risk_score,
        findings=[finding_view(f) for f in item.findings],
        claimed_by=item.claimed_by or None,
        lease_expires_at=_time(item, "lease_expires_at"),
        created_at=_time(item, "created_at"),
        requested_by=item.requested_by or None,
        asset_event=_json(item.asset_event_json),
        decision=decision_view(item.decision) if item.HasField("decision") else None,
    )


def consent_view(consent: review_pb2.Consent) -> ConsentView:
    return ConsentView(
        consent_id=consent.consent_id,
        performer=consent.performer,
        scopes=list(consent.scopes),
        production_ids=list(consent.production_ids),
        expires_at=_time(consent, "expires_at"),
        recorded=_stamp(consent, "recorded"),
        revoked=_stamp(consent, "revoked"),
        references=[consent_reference_view(r) for r in consent.references],
    )


def consent_reference_view(reference: review_pb2.ConsentReference) -> ConsentReferenceView:
    return ConsentReferenceView(reference_id=reference.reference_id, consent_id=reference.consent_id, media_type=reference.media_type,
                                sha256=reference.sha256, size_bytes=reference.size_bytes, embedded=reference.embedded,
                                added=_stamp(reference, "added"))


def audit_view(entry: review_pb2.AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        entry_id=entry.entry_id,
        at=_time(entry, "at"),
        actor=actor_view(entry.actor) if entry.HasField("actor") else None,
        action=entry.action,
        item_id=entry.item_id,
        subject=entry.subject,
        reason=entry.reason,
        details=_json(entry.details_json),
    )


def policy_view(policy: review_pb2.Policy) -> PolicyView:
    return PolicyView(production_id=policy.production_id, banned_terms=list(policy.banned_terms), performers=list(policy.performers))


class SecondReviewView(BaseModel):
    second_review_id: str
    item: ReviewItemView
    status: str = Field(description="pending or done")
    claimed_by: str | None = None
    outcome: str | None = Field(None, description="The second reviewer's outcome, once done")
    agrees: bool | None = Field(None, description="Whether it matches the first decision, once done")
    reviewer: str | None = None
    notes: str = ""
    decided_at: datetime | None = None


class KindStatsView(BaseModel):
    kind: str
    pending: int
    oldest_pending_seconds: float
    median_pending_seconds: float
    decided: int = Field(description="Decisions in the window")
    median_decision_seconds: float = Field(description="Handling time: first claim to decision")
    p90_decision_seconds: float
    sla_breaches: int = Field(description="Pending past the SLA now, plus decided past it in the window")
    arrivals_per_hour: float = Field(description="New items per hour in the window: the generation rate")
    reviewers_needed: float = Field(description="Full-time reviewers to keep up and clear the backlog within the SLA")


class ReviewerStatsView(BaseModel):
    reviewer: str
    decisions: int
    handling_hours: float
    decisions_per_hour: float


class DashboardView(BaseModel):
    at: datetime | None = None
    window_hours: int
    sla_seconds: float
    kinds: list[KindStatsView]
    reviewers: list[ReviewerStatsView]
    second_reviews_done: int
    second_reviews_agreed: int
    second_reviews_pending: int
    agreement: float | None = Field(None, description="Share of second reviews that agreed with the first")
    reviewers_needed: float


def second_review_view(second: review_pb2.SecondReview) -> SecondReviewView:
    done = second.status == "done"
    return SecondReviewView(
        second_review_id=second.second_review_id, item=item_view(second.item), status=second.status,
        claimed_by=second.claimed_by or None, outcome=second.outcome or None, agrees=second.agrees if done else None,
        reviewer=second.reviewer.subject if second.HasField("reviewer") else None, notes=second.notes,
        decided_at=_time(second, "decided_at"),
    )


def dashboard_view(board: review_pb2.Dashboard) -> DashboardView:
    done = board.second_reviews_done
    return DashboardView(
        at=_time(board, "at"), window_hours=board.window_hours, sla_seconds=board.sla_seconds,
        kinds=[KindStatsView(kind=k.kind, pending=k.pending, oldest_pending_seconds=k.oldest_pending_seconds,
                             median_pending_seconds=k.median_pending_seconds, decided=k.decided,
                             median_decision_seconds=k.median_decision_seconds, p90_decision_seconds=k.p90_decision_seconds,
                             sla_breaches=k.sla_breaches, arrivals_per_hour=k.arrivals_per_hour, reviewers_needed=k.reviewers_needed)
               for k in board.kinds],
        reviewers=[ReviewerStatsView(reviewer=r.reviewer, decisions=r.decisions, handling_hours=r.handling_hours,
                                     decisions_per_hour=r.decisions_per_hour) for r in board.reviewers],
        second_reviews_done=done, second_reviews_agreed=board.second_reviews_agreed, second_reviews_pending=board.second_reviews_pending,
        agreement=round(board.second_reviews_agreed / done, 3) if done else None, reviewers_needed=board.reviewers_needed,
    )
