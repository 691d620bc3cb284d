"""Reviews through the review service, with the gateway deciding who may ask: reviewers work in
their productions only (none assigned: nothing to do, the review service is not even asked),
nobody approves what they asked for, and decisions are checked before they are sent."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest

from helix.v1 import common_pb2, review_pb2
from helix_gateway.readmodel.tables import Job
from helix_gateway.state import GatewayState

from ..conftest import T0, add_asset, auth, review_item, review_of, rpc_error

RHEA = auth("rhea", "reviewer", productions=["lighthouse"])
NOBODY = auth("nils", "reviewer")  # a reviewer with no production
ROOT = auth("root", "admin")
DECISION = review_pb2.Decision(decision_id="d1", item_id="item-1", asset_id="script-0001", production_id="lighthouse",
                               outcome="approved", reviewer=common_pb2.Actor(subject="rhea", roles=["reviewer"]))


def answer(gateway: GatewayState, **answers: Any) -> None:
    review_of(gateway).answers.update(answers)


async def test_the_queue_of_a_reviewers_productions(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(
        gateway,
        list_queue=review_pb2.ListItemsResponse(items=[review_item(risk_score=25)], page=common_pb2.PageInfo(next_cursor="n")),
    )
    page = (await client.get("/reviews/queue", params={"limit": 2, "cursor": "c"}, headers=RHEA)).json()
    assert [(i["item_id"], i["risk_score"]) for i in page["items"]] == [("item-1", 25.0)] and page["next_cursor"] == "n"
    [request] = review_of(gateway).requests("list_queue")
    assert (list(request.production_ids), request.page.page_size, request.page.cursor) == (["lighthouse"], 2, "c")
    await client.get("/reviews/queue", headers=ROOT)
    assert list(review_of(gateway).requests("list_queue")[1].production_ids) == []  # an admin's queue is every production's


async def test_a_reviewer_with_no_production_has_nothing_to_do(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    assert (await client.get("/reviews/queue", headers=NOBODY)).json() == {"items": [], "next_cursor": None}
    assert (await client.post("/reviews/claim", headers=NOBODY)).status_code == 204
    assert (await client.post("/reviews/second/claim", headers=NOBODY)).status_code == 204
    assert (await client.post("/reviews/second/s1/decision", json={"outcome": "approved"}, headers=NOBODY)).status_code == 403
    assert (await client.get("/reviews/dashboard", headers=NOBODY)).status_code == 403
    assert review_of(gateway).calls == []  # an empty list would mean "every production" to the review service


async def test_claiming_the_next_item_or_a_chosen_one(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, claim_next=review_pb2.ClaimNextResponse(item=review_item(claimed_by="rhea")))
    claimed = await client.post("/reviews/claim", json={"lease_seconds": 600, "item_id": "item-1"}, headers=RHEA)
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "rhea"
    answer(gateway, claim_next=review_pb2.ClaimNextResponse())
    assert (await client.post("/reviews/claim", headers=RHEA)).status_code == 204
    chosen, top = review_of(gateway).requests("claim_next")
    assert (chosen.reviewer.subject, chosen.lease_seconds, chosen.item_id, list(chosen.production_ids)) == (
        "rhea",
        600,
        "item-1",
        ["lighthouse"],
    )
    assert (top.lease_seconds, top.item_id) == (0, "")  # the review service's default lease, its top item
    assert (await client.post("/reviews/claim", json={"lease_seconds": 0}, headers=RHEA)).status_code == 422


async def test_an_item_of_another_production_is_not_shown_or_released(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, get_item=review_item(production_id="harbour"))
    assert (await client.get("/reviews/items/item-1", headers=RHEA)).status_code == 403
    assert (await client.post("/reviews/items/item-1/release", headers=RHEA)).status_code == 403
    assert review_of(gateway).requests("release_claim") == []


async def test_an_item_and_its_release(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, get_item=review_item(), release_claim=review_item())
    item = await client.get("/reviews/items/item-1", headers=RHEA)
    assert item.status_code == 200 and item.json()["asset"]["asset_id"] == "script-0001"
    assert (await client.post("/reviews/items/item-1/release", headers=RHEA)).json()["claimed_by"] is None
    [released] = review_of(gateway).requests("release_claim")
    assert (released.item_id, released.reviewer.subject) == ("item-1", "rhea")


async def test_a_revision_request_with_regions_is_sent_as_given(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, get_item=review_item(), decide=DECISION)
    body = {
        "outcome": "revision_requested",
        "notes": " darker sky ",
        "regions": [{"x": 0, "y": 0, "width": 1, "height": 0.4, "note": "sky"}],
    }
    response = await client.post("/reviews/items/item-1/decision", json=body, headers=RHEA)
    assert response.status_code == 200 and response.json()["decision_id"] == "d1"
    [sent] = review_of(gateway).requests("decide")
    assert (sent.item_id, sent.outcome, sent.notes, sent.reviewer.subject) == (
        "item-1",
        "revision_requested",
        "darker sky",
        "rhea",
    )
    assert [(r.height, r.note) for r in sent.regions] == [(pytest.approx(0.4), "sky")]


async def test_time_notes_are_sent_as_given(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, get_item=review_item(), decide=DECISION)
    body = {"outcome": "revision_requested", "notes": "retime", "timecodes": [{"start_s": 1.5, "note": "cut later"},
                                                                              {"start_s": 3, "end_s": 4.5, "note": "hold it"}]}
    assert (await client.post("/reviews/items/item-1/decision", json=body, headers=RHEA)).status_code == 200
    [sent] = review_of(gateway).requests("decide")
    assert [(t.start_s, t.HasField("end_s"), t.note) for t in sent.timecodes] == [(1.5, False, "cut later"), (3.0, True, "hold it")]
    assert sent.timecodes[1].end_s == 4.5


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "approved", "timecodes": [{"start_s": 1, "note": "n"}]},
        {"outcome": "revision_requested", "notes": "n", "timecodes": [{"start_s": 2, "end_s": 1, "note": "n"}]},
        {"outcome": "revision_requested", "notes": "n", "timecodes": [{"start_s": -1, "note": "n"}]},
        {"outcome": "revision_requested", "notes": "n", "timecodes": [{"start_s": 1, "note": ""}]},
    ],
    ids=["time notes on an approval", "a range that ends before it starts", "before the start", "no note"],
)
async def test_time_notes_the_contracts_refuse_are_never_sent(client: httpx.AsyncClient, gateway: GatewayState,
                                                              body: dict[str, Any]) -> None:
    answer(gateway, get_item=review_item(), decide=DECISION)
    assert (await client.post("/reviews/items/item-1/decision", json=body, headers=RHEA)).status_code == 422
    assert review_of(gateway).requests("decide") == []


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "revision_requested"},
        {"outcome": "approved", "regions": [{"x": 0, "y": 0, "width": 1, "height": 1}]},
        {"outcome": "revision_requested", "notes": "n", "regions": [{"x": 0.5, "y": 0, "width": 0.6, "height": 1}]},
        {"outcome": "maybe"},
        {"outcome": "approved", "reviewer": "someone-else"},
    ],
    ids=["revision without notes", "regions on an approval", "region outside the image", "unknown outcome", "unknown field"],
)
async def test_a_decision_the_contracts_refuse_is_never_sent(
    client: httpx.AsyncClient, gateway: GatewayState, body: dict[str, Any]
) -> None:
    answer(gateway, get_item=review_item(), decide=DECISION)
    assert (await client.post("/reviews/items/item-1/decision", json=body, headers=RHEA)).status_code == 422
    assert review_of(gateway).requests("decide") == []


async def test_nobody_approves_what_they_asked_for(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await gateway.read_model.add_job(
        Job(
            job_id="job-1",
            production_id="lighthouse",
            status="completed",
            asset_ids=[],
            requested_by="rhea",
            created_at=T0,
            updated_at=T0,
        )
    )
    await add_asset(gateway, asset_id="script-0001", job_id="job-1")
    answer(gateway, get_item=review_item(), decide=DECISION)
    refused = await client.post("/reviews/items/item-1/decision", json={"outcome": "approved"}, headers=RHEA)
    assert refused.status_code == 403 and "someone else must approve it" in refused.json()["detail"]
    assert (
        await client.post("/reviews/items/item-1/decision", json={"outcome": "rejected", "notes": "no"}, headers=RHEA)
    ).status_code == 200
    answer(gateway, get_item=review_item("item-2", asset_id="frame-9", requested_by="rhea"))  # the review service knows it too
    assert (await client.post("/reviews/items/item-2/decision", json={"outcome": "approved"}, headers=RHEA)).status_code == 403
    assert [d.outcome for d in review_of(gateway).requests("decide")] == ["rejected"]


async def test_the_review_services_refusal_reaches_the_reviewer(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(gateway, get_item=review_item())
    review_of(gateway).errors["decide"] = rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "claim item item-1 before deciding it")
    response = await client.post("/reviews/items/item-1/decision", json={"outcome": "approved"}, headers=RHEA)
    assert response.status_code == 409 and response.json()["detail"] == "claim item item-1 before deciding it"


async def test_second_reviews_are_claimed_and_decided_in_the_reviewers_productions(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    second = review_pb2.SecondReview(second_review_id="s1", item=review_item(), status="pending", claimed_by="rhea")
    answer(
        gateway,
        claim_second_review=review_pb2.ClaimSecondReviewResponse(second_review=second),
        decide_second_review=review_pb2.SecondReview(
            second_review_id="s1", item=review_item(), status="done", agrees=True, outcome="approved"
        ),
    )
    claimed = await client.post("/reviews/second/claim", json={"lease_seconds": 60}, headers=RHEA)
    assert claimed.status_code == 200 and (claimed.json()["second_review_id"], claimed.json()["agrees"]) == ("s1", None)
    done = await client.post("/reviews/second/s1/decision", json={"outcome": "approved", "notes": "agreed"}, headers=RHEA)
    assert done.json()["agrees"] is True
    [claim] = review_of(gateway).requests("claim_second_review")
    [decision] = review_of(gateway).requests("decide_second_review")
    assert (claim.lease_seconds, list(claim.production_ids)) == (60, ["lighthouse"])
    assert (decision.second_review_id, decision.outcome, decision.notes, list(decision.production_ids)) == (
        "s1",
        "approved",
        "agreed",
        ["lighthouse"],
    )
    answer(gateway, claim_second_review=review_pb2.ClaimSecondReviewResponse())
    assert (await client.post("/reviews/second/claim", headers=RHEA)).status_code == 204


async def test_directors_and_reviewers_see_the_dashboard_of_their_productions(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    answer(
        gateway, dashboard=review_pb2.Dashboard(window_hours=6, sla_seconds=3600, second_reviews_done=4, second_reviews_agreed=3)
    )
    board = await client.get(
        "/reviews/dashboard", params={"window_hours": 6}, headers=auth("dana", "director", productions=["lighthouse"])
    )
    assert board.status_code == 200 and board.json()["agreement"] == 0.75
    [request] = review_of(gateway).requests("dashboard")
    assert (list(request.production_ids), request.window_hours) == (["lighthouse"], 6)
    assert (await client.get("/reviews/dashboard", params={"window_hours": 0}, headers=RHEA)).status_code == 422
    assert (await client.get("/reviews/dashboard", headers=auth("studio-1", "studio-system"))).status_code == 403


async def test_only_admins_resolve_findings_and_with_a_reason(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    answer(
        gateway,
        resolve_finding=review_pb2.Finding(finding_id="f1", item_id="item-1", check="lineage", severity=review_pb2.SEVERITY_HIGH),
    )
    assert (await client.post("/reviews/findings/f1/resolve", json={"reason": "ok"}, headers=RHEA)).status_code == 403
    assert (await client.post("/reviews/findings/f1/resolve", json={"reason": "  "}, headers=ROOT)).status_code == 422
    resolved = await client.post("/reviews/findings/f1/resolve", json={"reason": " model pinned since "}, headers=ROOT)
    assert resolved.status_code == 200 and resolved.json()["severity"] == "high"
    [request] = review_of(gateway).requests("resolve_finding")
    assert (request.finding_id, request.admin.subject, request.reason) == ("f1", "root", "model pinned since")
