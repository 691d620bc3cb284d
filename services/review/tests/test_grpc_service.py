"""review.proto's ReviewService on an in-process gRPC server over a desk on SQLite: what each
call answers, in protobuf, and how the desk's refusals and failures become gRPC statuses
(internals never reach the caller)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import grpc
import pytest
from prometheus_client import REGISTRY

from helix.casting import Casting, CastingEntry, ModelVoice, SeriesCasting
from helix.grpc import create_server
from helix.v1 import common_pb2, review_pb2, review_pb2_grpc
from helix_review.checks import Severity
from helix_review.db import utcnow
from helix_review.desk import ReviewDesk
from helix_review.grpc_service import ReviewServicer

from .conftest import add_finding, add_item

ANNA = common_pb2.Actor(subject="anna", roles=["reviewer"])
BEN = common_pb2.Actor(subject="ben", roles=["reviewer"])
ROOT = common_pb2.Actor(subject="root", roles=["admin"])


class Service:
    def __init__(self, stub: review_pb2_grpc.ReviewServiceStub, desk: ReviewDesk) -> None:
        self.stub, self.desk, self.decisions_seen = stub, desk, 0


@pytest.fixture
async def service(desk: ReviewDesk) -> AsyncIterator[Service]:
    server, port, _ = create_server("review", address="127.0.0.1:0")
    holder: list[Service] = []

    def on_decision() -> None:
        holder[0].decisions_seen += 1

    review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(desk, on_decision, sla_seconds=600), server)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            holder.append(Service(review_pb2_grpc.ReviewServiceStub(channel), desk))
            yield holder[0]
    finally:
        await server.stop(grace=None)


async def refused(call: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


def page(size: int = 10, cursor: str = "") -> common_pb2.PageRequest:
    return common_pb2.PageRequest(page_size=size, cursor=cursor)


async def test_the_queue_lists_items_with_their_asset_findings_and_risk(service: Service) -> None:
    item_id = add_item(service.desk, production="prod-a", priority=-25.0, requested_by="dora")
    add_finding(service.desk, item_id, severity=Severity.HIGH, subject="Ann Lee", message="Ann Lee appears")
    add_item(service.desk, production="prod-b")
    queue = await service.stub.ListQueue(review_pb2.ListQueueRequest(page=page(1), production_ids=[]))
    [item] = queue.items
    assert (item.item_id, item.status, item.risk_score, item.requested_by) == (item_id, "pending", 25.0, "dora")
    assert (item.asset.production_id, item.asset.kind, item.asset.version) == ("prod-a", "frame", 1)
    assert [(f.check, f.severity, f.open, f.blocks_approval, f.subject) for f in item.findings] == [
        ("likeness_consent", review_pb2.SEVERITY_HIGH, True, True, "Ann Lee")
    ]
    assert queue.page.next_cursor and not item.HasField("decision") and not item.HasField("lease_expires_at")
    rest = await service.stub.ListQueue(review_pb2.ListQueueRequest(page=page(1, queue.page.next_cursor)))
    assert [i.asset.production_id for i in rest.items] == ["prod-b"] and rest.page.next_cursor == ""
    listed = await service.stub.ListItems(review_pb2.ListItemsRequest(page=page(), production_id="prod-b"))
    assert [i.asset.production_id for i in listed.items] == ["prod-b"]


async def test_a_claim_and_a_revision_request_with_regions(service: Service) -> None:
    item_id = add_item(service.desk)
    claimed = await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA, lease_seconds=120))
    assert claimed.item.item_id == item_id and claimed.item.claimed_by == "anna"
    lease = claimed.item.lease_expires_at.ToDatetime(tzinfo=UTC).timestamp() - utcnow().timestamp()
    assert 100 < lease <= 121
    region = review_pb2.Region(x=0.5, y=0.25, width=0.5, height=0.5, note="too bright")
    decision = await service.stub.Decide(
        review_pb2.DecideRequest(
            item_id=item_id, reviewer=ANNA, outcome="revision_requested", notes="tone it down", regions=[region]
        )
    )
    assert (decision.outcome, decision.reviewer.subject, list(decision.reviewer.roles), decision.notes) == (
        "revision_requested",
        "anna",
        ["reviewer"],
        "tone it down",
    )
    assert list(decision.regions) == [region] and decision.event_id and decision.handling_seconds >= 0
    assert service.decisions_seen == 1  # the relay is woken
    assert REGISTRY.get_sample_value("helix_review_decisions_total", {"reviewer": "anna", "outcome": "revision_requested"}) >= 1
    item = await service.stub.GetItem(review_pb2.GetItemRequest(item_id=item_id))
    assert item.status == "revision_requested" and item.decision.decision_id == decision.decision_id
    assert (await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=BEN))).HasField("item") is False


async def test_time_notes_go_in_and_come_back_with_the_decision(service: Service) -> None:
    item_id = add_item(service.desk, "clip")
    await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA))
    moments = [review_pb2.TimeNote(start_s=0.5, note="the pan starts late"), review_pb2.TimeNote(start_s=1.0, end_s=1.75, note="too fast")]
    decision = await service.stub.Decide(review_pb2.DecideRequest(item_id=item_id, reviewer=ANNA, outcome="revision_requested",
                                                                  notes="smoother", timecodes=moments))
    assert list(decision.timecodes) == moments and not decision.timecodes[0].HasField("end_s")
    backwards = review_pb2.TimeNote(start_s=2.0, end_s=1.0, note="x")
    other = add_item(service.desk, "clip")
    await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA))
    detail = await refused(service.stub.Decide(review_pb2.DecideRequest(item_id=other, reviewer=ANNA, outcome="revision_requested",
                                                                        notes="x", timecodes=[backwards])), grpc.StatusCode.INVALID_ARGUMENT)
    assert detail.startswith("a time note is not valid")


async def test_releasing_a_claim(service: Service) -> None:
    item_id = add_item(service.desk)
    await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA))
    await refused(
        service.stub.ReleaseClaim(review_pb2.ReleaseClaimRequest(item_id=item_id, reviewer=BEN)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    released = await service.stub.ReleaseClaim(review_pb2.ReleaseClaimRequest(item_id=item_id, reviewer=ANNA))
    assert released.claimed_by == "" and not released.HasField("lease_expires_at")


async def test_requests_that_name_nobody_or_a_region_outside_the_image_are_invalid(service: Service) -> None:
    item_id = add_item(service.desk)
    detail = await refused(service.stub.ClaimNext(review_pb2.ClaimNextRequest()), grpc.StatusCode.INVALID_ARGUMENT)
    assert "must name its reviewer" in detail
    outside = review_pb2.Region(x=0.8, y=0.0, width=0.5, height=0.1)
    detail = await refused(
        service.stub.Decide(
            review_pb2.DecideRequest(item_id=item_id, reviewer=ANNA, outcome="revision_requested", notes="x", regions=[outside])
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert detail.startswith("a region is not valid")
    assert service.decisions_seen == 0


async def test_the_desks_refusals_become_their_status_codes_with_their_message(service: Service) -> None:
    mine = add_item(service.desk, requested_by="anna")
    assert "no review item 'nope'" in await refused(
        service.stub.GetItem(review_pb2.GetItemRequest(item_id="nope")), grpc.StatusCode.NOT_FOUND
    )
    unclaimed = review_pb2.DecideRequest(item_id=mine, reviewer=ANNA, outcome="approved")
    assert "claim item" in await refused(service.stub.Decide(unclaimed), grpc.StatusCode.FAILED_PRECONDITION)
    await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA))
    await refused(service.stub.Decide(unclaimed), grpc.StatusCode.PERMISSION_DENIED)


async def test_an_internal_failure_is_reported_without_its_internals(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(item_id: str) -> None:
        raise RuntimeError("SELECT secret FROM review_items: disk I/O error")

    monkeypatch.setattr(service.desk.queries, "get_item", broken)
    detail = await refused(service.stub.GetItem(review_pb2.GetItemRequest(item_id="x")), grpc.StatusCode.INTERNAL)
    assert "secret" not in detail and "see its logs" in detail


async def test_consents_are_recorded_listed_revoked_and_resolve_findings(service: Service) -> None:
    item_id = add_item(service.desk)
    finding_id = add_finding(service.desk, item_id, check="policy_terms", blocks_approval=False)
    expires = utcnow().replace(microsecond=0) + timedelta(days=30)
    request = review_pb2.RecordConsentRequest(
        actor=ROOT, performer="Ann Lee", scopes=["likeness"], production_ids=["prod-a"], reason="signed", aliases=["Annie"]
    )
    request.expires_at.FromDatetime(expires)
    recorded = await service.stub.RecordConsent(request)
    assert (recorded.performer, list(recorded.scopes), list(recorded.production_ids)) == ("Ann Lee", ["likeness"], ["prod-a"])
    assert recorded.expires_at.ToDatetime(tzinfo=UTC).timestamp() == expires.timestamp()
    assert (recorded.recorded.actor.subject, recorded.recorded.reason) == ("root", "signed") and not recorded.HasField("revoked")
    forever = await service.stub.RecordConsent(
        review_pb2.RecordConsentRequest(actor=ROOT, performer="Ann Lee", scopes=["voice"], reason="ok")
    )
    assert not forever.HasField("expires_at")
    listed = await service.stub.ListConsents(review_pb2.ListConsentsRequest(page=page(), performer="ann lee"))
    assert [c.consent_id for c in listed.consents] == [recorded.consent_id, forever.consent_id]
    revoked = await service.stub.RevokeConsent(
        review_pb2.RevokeConsentRequest(consent_id=recorded.consent_id, actor=ROOT, reason="withdrawn")
    )
    assert (revoked.revoked.actor.subject, revoked.revoked.reason) == ("root", "withdrawn")
    resolved = await service.stub.ResolveFinding(
        review_pb2.ResolveFindingRequest(finding_id=finding_id, admin=ROOT, reason="fine")
    )
    assert not resolved.open and (resolved.resolution.actor.subject, resolved.resolution.reason) == ("root", "fine")
    bad_scope = review_pb2.RecordConsentRequest(actor=ROOT, performer="Ann Lee", scopes=["smell"], reason="x")
    await refused(service.stub.RecordConsent(bad_scope), grpc.StatusCode.INVALID_ARGUMENT)


async def test_a_policy_names_its_production_and_its_change_is_audited(service: Service) -> None:
    await refused(
        service.stub.SetPolicy(review_pb2.SetPolicyRequest(actor=ROOT, policy=review_pb2.Policy(banned_terms=["x"]))),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    policy = review_pb2.Policy(production_id="prod-a", banned_terms=[" Fizzcola "], performers=["Ann Lee"])
    stored = await service.stub.SetPolicy(review_pb2.SetPolicyRequest(actor=ROOT, policy=policy))
    assert (stored.production_id, list(stored.banned_terms), list(stored.performers)) == ("prod-a", ["Fizzcola"], ["Ann Lee"])
    audit = await service.stub.ListAudit(review_pb2.ListAuditRequest(page=page(), production_id="prod-a"))
    [entry] = audit.entries
    assert (entry.action, entry.actor.subject, list(entry.actor.roles)) == ("policy.set", "root", ["admin"])
    assert json.loads(entry.details_json) == {"banned_terms": ["Fizzcola"], "performers": ["Ann Lee"]}


async def test_second_reviews_and_the_dashboard(service: Service) -> None:
    item_id = add_item(service.desk)
    await service.stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=ANNA))
    await service.stub.Decide(review_pb2.DecideRequest(item_id=item_id, reviewer=ANNA, outcome="approved"))
    assert not (await service.stub.ClaimSecondReview(review_pb2.ClaimNextRequest(reviewer=ANNA))).HasField("second_review")
    claimed = (await service.stub.ClaimSecondReview(review_pb2.ClaimNextRequest(reviewer=BEN))).second_review
    assert (claimed.item.item_id, claimed.status, claimed.claimed_by) == (item_id, "pending", "ben")
    assert not claimed.HasField("reviewer") and not claimed.HasField("decided_at")
    done = await service.stub.DecideSecondReview(
        review_pb2.DecideSecondReviewRequest(
            second_review_id=claimed.second_review_id, reviewer=BEN, outcome="rejected", notes="off model"
        )
    )
    assert (done.status, done.agrees, done.reviewer.subject, done.notes) == ("done", False, "ben", "off model") and done.HasField(
        "decided_at"
    )
    board = await service.stub.GetDashboard(review_pb2.GetDashboardRequest(window_hours=6))
    assert (board.window_hours, board.sla_seconds, board.second_reviews_done, board.second_reviews_agreed) == (6, 600.0, 1, 0)
    [frames] = board.kinds
    assert (frames.kind, frames.decided, frames.pending) == ("frame", 1, 0)
    assert [r.reviewer for r in board.reviewers] == ["anna"]


async def test_a_series_casting_travels_as_its_typed_json_and_reaches_its_episodes(service: Service) -> None:
    series = SeriesCasting(series_id="harbour", entries=[CastingEntry(character="MARA", voice=ModelVoice(speaker=2))])
    set_series = await service.stub.SetSeriesCasting(review_pb2.SetSeriesCastingRequest(actor=ROOT, series_json=series.model_dump_json()))
    assert SeriesCasting.model_validate_json(set_series.series_json).entries == series.entries and list(set_series.production_ids) == []
    episode = Casting(production_id="ep-1", series_id="harbour")
    await service.stub.SetCasting(review_pb2.SetCastingRequest(actor=ROOT, casting_json=episode.model_dump_json()))
    found = await service.stub.GetSeriesCasting(review_pb2.GetSeriesCastingRequest(series_id="harbour"))
    assert list(found.production_ids) == ["ep-1"]
    read = await service.stub.GetCasting(review_pb2.GetCastingRequest(production_id="ep-1"))
    assert SeriesCasting.model_validate_json(read.series_json).entries == series.entries
    alone = await service.stub.GetCasting(review_pb2.GetCastingRequest(production_id="ep-9"))
    assert alone.series_json == ""
    bad = {"series_id": "harbour", "entries": [{"character": "MARA", "voice": {"kind": "model"}}] * 2}
    reason = await refused(service.stub.SetSeriesCasting(review_pb2.SetSeriesCastingRequest(actor=ROOT, series_json=json.dumps(bad))),
                           grpc.StatusCode.INVALID_ARGUMENT)
    assert "cast twice" in reason
    await refused(service.stub.GetSeriesCasting(review_pb2.GetSeriesCastingRequest()), grpc.StatusCode.INVALID_ARGUMENT)
