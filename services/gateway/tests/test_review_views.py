"""The review service's protobuf messages as the API's JSON shapes: unset fields become null
(not zero values), severities and times are readable, embedded JSON is parsed (or dropped if
broken), and the dashboard adds the agreement share."""

from __future__ import annotations

import json

from helix.v1 import common_pb2, review_pb2
from helix_gateway.review_views import (
    audit_view,
    consent_view,
    dashboard_view,
    decision_view,
    finding_view,
    item_view,
    policy_view,
    second_review_view,
)

from .conftest import T0, later, review_item, stamp

ROOT = common_pb2.Actor(subject="root", roles=["admin"])


def test_a_finding_reads_its_severity_and_its_resolution() -> None:
    open_one = finding_view(
        review_pb2.Finding(
            finding_id="f1", item_id="i", check="lineage", severity=review_pb2.SEVERITY_CRITICAL, message="m", open=True
        )
    )
    assert open_one.severity == "critical" and open_one.resolution is None
    resolved = finding_view(
        review_pb2.Finding(
            finding_id="f2",
            item_id="i",
            check="lineage",
            severity=review_pb2.SEVERITY_LOW,
            resolution=common_pb2.AuditStamp(actor=ROOT, at=stamp(T0), reason="fine"),
        )
    )
    assert resolved.resolution is not None and resolved.resolution.at == T0
    assert (resolved.resolution.actor.subject, resolved.resolution.actor.roles, resolved.resolution.reason) == (
        "root",
        ["admin"],
        "fine",
    )


def test_an_item_without_a_claim_or_decision_has_nulls_not_zero_values() -> None:
    view = item_view(review_item(risk_score=25.0))
    assert view.claimed_by is None and view.lease_expires_at is None and view.decision is None and view.requested_by is None
    assert view.created_at == T0 and view.risk_score == 25.0
    assert view.asset is not None and (view.asset.asset_id, view.asset.version) == ("script-0001", 1)
    assert view.asset_event is not None and view.asset_event["data"]["asset_id"] == "script-0001"


def test_an_item_with_a_claim_and_a_decision_with_regions() -> None:
    region = review_pb2.Region(x=0.25, y=0, width=0.5, height=1, note="sky")
    decision = review_pb2.Decision(decision_id="d", item_id="item-1", asset_id="frame-1", production_id="p",
                                   outcome="revision_requested", reviewer=common_pb2.Actor(subject="rhea", roles=["reviewer"]),
                                   notes="darker", decided_at=stamp(later(5)), regions=[region], handling_seconds=42.5)
    view = item_view(review_item(claimed_by="rhea", lease_expires_at=stamp(later(10)), requested_by="dora", decision=decision))
    assert (view.claimed_by, view.lease_expires_at, view.requested_by) == ("rhea", later(10), "dora")
    assert view.decision is not None and view.decision.decided_at == later(5) and view.decision.handling_seconds == 42.5
    assert [(r.x, r.width, r.note) for r in view.decision.regions] == [(0.25, 0.5, "sky")]
    assert decision_view(review_pb2.Decision(decision_id="d", outcome="approved")).handling_seconds is None  # 0: not measured


def test_an_item_whose_event_is_not_json_shows_no_event() -> None:
    assert item_view(review_pb2.ReviewItem(item_id="i", asset_event_json="{broken")).asset_event is None
    assert item_view(review_pb2.ReviewItem(item_id="i", asset_event_json="[1, 2]")).asset_event is None
    assert item_view(review_pb2.ReviewItem(item_id="i")).asset is None


def test_consents_with_and_without_expiry_and_revocation() -> None:
    recorded = common_pb2.AuditStamp(actor=ROOT, at=stamp(T0), reason="signed")
    live = consent_view(review_pb2.Consent(consent_id="c", performer="Ann Lee", scopes=["name"], recorded=recorded))
    assert live.expires_at is None and live.revoked is None and live.production_ids == [] and live.recorded is not None
    gone = consent_view(
        review_pb2.Consent(
            consent_id="c",
            performer="Ann Lee",
            scopes=["name"],
            production_ids=["p"],
            expires_at=stamp(later(60)),
            recorded=recorded,
            revoked=common_pb2.AuditStamp(reason="withdrawn"),
        )
    )
    assert (
        gone.expires_at == later(60)
        and gone.revoked is not None
        and gone.revoked.actor is None
        and gone.revoked.reason == "withdrawn"
    )


def test_audit_entries_parse_their_details() -> None:
    entry = audit_view(
        review_pb2.AuditEntry(entry_id="7", at=stamp(T0), actor=ROOT, action="policy.set", details_json=json.dumps({"a": [1]}))
    )
    assert entry.details == {"a": [1]} and entry.actor is not None and entry.at == T0
    assert audit_view(review_pb2.AuditEntry(entry_id="8", action="x", details_json="")).details is None
    assert policy_view(review_pb2.Policy(production_id="p", banned_terms=["x"])).model_dump() == {
        "production_id": "p",
        "banned_terms": ["x"],
        "performers": [],
    }


def test_a_second_review_shows_agreement_only_once_done() -> None:
    pending = second_review_view(
        review_pb2.SecondReview(second_review_id="s", item=review_item(), status="pending", claimed_by="ben")
    )
    assert (pending.agrees, pending.outcome, pending.reviewer, pending.decided_at) == (None, None, None, None)
    done = second_review_view(
        review_pb2.SecondReview(
            second_review_id="s",
            item=review_item(),
            status="done",
            agrees=False,
            outcome="rejected",
            reviewer=common_pb2.Actor(subject="ben"),
            decided_at=stamp(later(1)),
        )
    )
    assert (done.agrees, done.outcome, done.reviewer, done.decided_at, done.claimed_by) == (
        False,
        "rejected",
        "ben",
        later(1),
        None,
    )


def test_the_dashboard_adds_the_share_of_second_reviews_that_agreed() -> None:
    board = review_pb2.Dashboard(
        at=stamp(T0),
        window_hours=24,
        sla_seconds=3600,
        second_reviews_done=3,
        second_reviews_agreed=2,
        kinds=[review_pb2.KindStats(kind="frame", pending=2, decided=5, reviewers_needed=0.5)],
        reviewers=[review_pb2.ReviewerStats(reviewer="ben", decisions=5, handling_hours=0.5, decisions_per_hour=10)],
        reviewers_needed=0.5,
    )
    view = dashboard_view(board)
    assert view.agreement == 0.667 and view.at == T0
    assert [(k.kind, k.pending, k.decided) for k in view.kinds] == [("frame", 2, 5)]
    assert [(r.reviewer, r.decisions_per_hour) for r in view.reviewers] == [("ben", 10.0)]
    assert dashboard_view(review_pb2.Dashboard(window_hours=1)).agreement is None  # none done: no share, not 0
