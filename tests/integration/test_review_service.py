"""The review service on the real broker, store and database."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from helix.events import Topic
from helix.settings import HelixSettings
from helix.v1 import common_pb2, review_pb2
from tests.integration import review_helpers as review
from tests.integration.kafka_helpers import read_topic_async

pytestmark = pytest.mark.infra


def _checks(item: review_pb2.ReviewItem) -> dict[str, review_pb2.Finding]:
    return {f.check: f for f in item.findings}


async def test_asset_event_becomes_one_screened_item_and_decisions_are_published_once(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (app, stub):
        event = review.store_asset(settings)
        for _ in range(3):  # a producer retry and a replay: still one item
            review.publish_raw_event(settings, event)
        items = await review.wait_for_items(stub, "lighthouse", 1)
        await asyncio.sleep(1.0)  # give the duplicates time to arrive
        items = await review.wait_for_items(stub, "lighthouse", 1)
        assert len(items) == 1
        item = items[0]
        assert item.asset.asset_id == event.data.asset_id and item.status == "pending"
        assert json.loads(item.asset_event_json)["id"] == event.id
        assert item.requested_by == "dana"

        claimed = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))).item
        assert claimed.item_id == item.item_id and claimed.claimed_by == "rhea"
        decision = await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        assert decision.outcome == "approved" and decision.reviewer.subject == "rhea"
        # retrying the same decision is answered with the same decision, not a second one
        again = await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        assert again.decision_id == decision.decision_id

        events = await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=2, timeout=5)
        assert len(events) == 1, "exactly one decision event"
        body = json.loads(events[0].value())
        assert body["type"] == "helix.review.approved" and body["id"] == decision.event_id
        assert body["data"]["reviewer"]["subject"] == "rhea" and body["data"]["asset_id"] == event.data.asset_id

        audit = await stub.ListAudit(review_pb2.ListAuditRequest(item_id=item.item_id))
        assert [(e.action, e.actor.subject) for e in audit.entries] == [("decision.approved", "rhea")]
        assert REGISTRY.get_sample_value("helix_review_decisions_total", {"reviewer": "rhea", "outcome": "approved"}) >= 1
        assert REGISTRY.get_sample_value("helix_review_time_to_decision_seconds_count") >= 1


@pytest.mark.parametrize("outcome, notes", [("rejected", "off-brand"), ("revision_requested", "shorter, please")])
async def test_reject_and_revision(settings: HelixSettings, outcome: str, notes: str) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        review.publish_raw_event(settings, review.store_asset(settings))
        (item,) = await review.wait_for_items(stub, "lighthouse", 1)
        await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))
        if outcome == "revision_requested":
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome=outcome))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "notes" in err.value.details()
        await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome=outcome, notes=notes))
        (record,) = await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=1)
        body = json.loads(record.value())
        assert body["type"] == f"helix.review.{outcome}" and body["data"]["notes"] == notes
        after = await stub.GetItem(review_pb2.GetItemRequest(item_id=item.item_id))
        assert after.status == outcome and after.decision.reviewer.subject == "rhea"


async def test_consent_blocks_approval_until_recorded(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        admin = review.actor("ada", "admin")
        await stub.SetPolicy(review_pb2.SetPolicyRequest(actor=admin, policy=review_pb2.Policy(
            production_id="lighthouse", performers=["Mara Quinn"], banned_terms=["FizzCola"])))
        review.publish_raw_event(settings, review.store_asset(settings, text="MARA QUINN\nForty years, and a FizzCola.\n"))
        (item,) = await review.wait_for_items(stub, "lighthouse", 1)
        checks = _checks(item)
        assert checks["likeness_consent"].severity == review_pb2.SEVERITY_HIGH and checks["likeness_consent"].blocks_approval
        assert "Mara Quinn" in checks["likeness_consent"].message
        assert checks["policy_terms"].subject == "FizzCola"
        assert item.risk_score >= 25

        await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert checks["likeness_consent"].finding_id in err.value.details() and "consent" in err.value.details()

        # consent for another production does not help; for this one it does
        await stub.RecordConsent(review_pb2.RecordConsentRequest(actor=admin, performer="Mara Quinn", scopes=["name"],
                                                                 production_ids=["other"], reason="contract 12"))
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        await stub.RecordConsent(review_pb2.RecordConsentRequest(actor=admin, performer="mara  quinn", scopes=["name", "voice"],
                                                                 production_ids=["lighthouse"], reason="contract 13"))
        after = await stub.GetItem(review_pb2.GetItemRequest(item_id=item.item_id))
        consent_finding = _checks(after)["likeness_consent"]
        assert not consent_finding.open and "consent" in consent_finding.resolution.reason
        assert after.risk_score < item.risk_score
        decision = await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        assert decision.outcome == "approved"
        actions = [e.action for e in (await stub.ListAudit(review_pb2.ListAuditRequest())).entries]
        assert actions == ["policy.set", "consent.recorded", "consent.recorded", "finding.resolved", "decision.approved"]


async def test_admin_resolves_a_finding_with_a_reason(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        admin = review.actor("ada", "admin")
        await stub.SetPolicy(review_pb2.SetPolicyRequest(actor=admin, policy=review_pb2.Policy(production_id="lighthouse", performers=["Jonah Vale"])))
        review.publish_raw_event(settings, review.store_asset(settings, text="JONAH VALE (O.S.)\n"))
        (item,) = await review.wait_for_items(stub, "lighthouse", 1)
        finding = _checks(item)["likeness_consent"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ResolveFinding(review_pb2.ResolveFindingRequest(finding_id=finding.finding_id, admin=admin))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        resolved = await stub.ResolveFinding(review_pb2.ResolveFindingRequest(finding_id=finding.finding_id, admin=admin,
                                                                              reason="fictional namesake, legal checked"))
        assert not resolved.open and resolved.resolution.actor.subject == "ada"
        await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))
        assert (await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))).outcome == "approved"


async def test_requester_cannot_approve_their_own_asset(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        review.publish_raw_event(settings, review.store_asset(settings, requested_by="dana"))
        (item,) = await review.wait_for_items(stub, "lighthouse", 1)
        await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("dana")))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("dana"), outcome="approved"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # rejecting your own request is allowed: it never lets anything through
        await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("dana"), outcome="rejected", notes="no"))


async def test_missing_object_and_lineage_findings_rank_first(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        clean = review.store_asset(settings)
        broken = review.store_asset(settings)
        missing = broken.model_copy(update={"data": broken.data.model_copy(update={"object_key": broken.data.object_key.replace("/v1.", "/v9."), "version": 9})})
        review.publish_raw_event(settings, clean)
        review.publish_raw_event(settings, missing)
        await review.wait_for_items(stub, "lighthouse", 2)
        queue = (await stub.ListQueue(review_pb2.ListQueueRequest())).items
        assert [i.asset.version for i in queue] == [9, 1], "critical findings first"
        integrity = _checks(queue[0])["store_integrity"]
        assert integrity.severity == review_pb2.SEVERITY_CRITICAL and "not in the asset store" in integrity.message


async def test_leases_keep_reviewers_apart_and_expire(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        for _ in range(2):
            review.publish_raw_event(settings, review.store_asset(settings))
        await review.wait_for_items(stub, "lighthouse", 2)
        a = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea"), lease_seconds=1))).item
        b = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("sam"), lease_seconds=60))).item
        assert a.item_id and b.item_id and a.item_id != b.item_id
        assert not (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("tia")))).HasField("item")
        with pytest.raises(grpc.aio.AioRpcError) as err:  # deciding needs the lease
            await stub.Decide(review_pb2.DecideRequest(item_id=a.item_id, reviewer=review.actor("sam"), outcome="rejected", notes="x"))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "held by rhea" in err.value.details()
        await asyncio.sleep(1.2)  # rhea went away: her lease expires and the item returns
        c = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("tia")))).item
        assert c.item_id == a.item_id and c.claimed_by == "tia"
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Decide(review_pb2.DecideRequest(item_id=a.item_id, reviewer=review.actor("rhea"), outcome="approved"))


async def test_queue_pages_by_keyset(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        for _ in range(5):
            review.publish_raw_event(settings, review.store_asset(settings))
        await review.wait_for_items(stub, "lighthouse", 5)
        seen, cursor = [], ""
        while True:
            reply = await stub.ListQueue(review_pb2.ListQueueRequest(page=common_pb2.PageRequest(page_size=2, cursor=cursor)))
            seen += [i.item_id for i in reply.items]
            cursor = reply.page.next_cursor
            if not cursor:
                break
        assert len(seen) == 5 == len(set(seen))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListQueue(review_pb2.ListQueueRequest(page=common_pb2.PageRequest(cursor="garbage!")))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_audit_log_is_append_only(settings: HelixSettings) -> None:
    async with review.running_review(review.review_settings(settings)) as (app, stub):
        await stub.SetPolicy(review_pb2.SetPolicyRequest(actor=review.actor("ada", "admin"), policy=review_pb2.Policy(production_id="p1")))
        with pytest.raises(Exception, match="append-only"), app.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
        with pytest.raises(Exception, match="append-only"), app.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))


async def test_an_expired_or_revoked_consent_flags_its_assets_again(settings: HelixSettings) -> None:
    from datetime import UTC, datetime, timedelta

    from google.protobuf.timestamp_pb2 import Timestamp

    async with review.running_review(review.review_settings(settings, review_consent_sweep_s=0.5)) as (_, stub):
        admin = review.actor("ada", "admin")
        await stub.SetPolicy(review_pb2.SetPolicyRequest(actor=admin, policy=review_pb2.Policy(production_id="lighthouse",
                                                                                              performers=["Mara Quinn", "Jonah Vale"])))
        soon = Timestamp()
        soon.FromDatetime(datetime.now(UTC) + timedelta(seconds=3))
        await stub.RecordConsent(review_pb2.RecordConsentRequest(actor=admin, performer="Mara Quinn", scopes=["name"],
                                                                 production_ids=["lighthouse"], reason="day contract", expires_at=soon))
        revocable = await stub.RecordConsent(review_pb2.RecordConsentRequest(actor=admin, performer="Jonah Vale", scopes=["name"],
                                                                             production_ids=["lighthouse"], reason="contract 7"))
        review.publish_raw_event(settings, review.store_asset(settings, text="MARA QUINN\nThe light.\n", asset_id="mara-scene"))
        review.publish_raw_event(settings, review.store_asset(settings, text="JONAH VALE\nThe boats.\n", asset_id="jonah-scene"))
        items = {i.asset.asset_id: i for i in await review.wait_for_items(stub, "lighthouse", 2)}
        for item in items.values():
            finding = _checks(item)["likeness_consent"]
            assert not finding.open and "covered by consent" in finding.resolution.reason, "consent on file: nothing blocks"

        await stub.RevokeConsent(review_pb2.RevokeConsentRequest(consent_id=revocable.consent_id, actor=admin, reason="withdrawn"))
        jonah = await stub.GetItem(review_pb2.GetItemRequest(item_id=items["jonah-scene"].item_id))
        assert _checks(jonah)["likeness_consent"].open and "revoked" in _checks(jonah)["likeness_consent"].message

        await asyncio.sleep(4)  # the day contract ends; the sweep flags the asset again
        mara = await stub.GetItem(review_pb2.GetItemRequest(item_id=items["mara-scene"].item_id))
        assert _checks(mara)["likeness_consent"].open and mara.risk_score >= 25
        for reviewer in ("rhea", "rafe"):
            claimed = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor(reviewer)))).item
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Decide(review_pb2.DecideRequest(item_id=claimed.item_id, reviewer=review.actor(reviewer), outcome="approved"))
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "consent" in err.value.details()
        actions = [e.action for e in (await stub.ListAudit(review_pb2.ListAuditRequest())).entries]
        assert actions.count("finding.reopened") == 2
