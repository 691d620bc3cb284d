"""The review service's audit log, for admins only, filtered by item or production and paged."""

from __future__ import annotations

import json

import httpx

from helix.v1 import common_pb2, review_pb2
from helix_gateway.state import GatewayState

from ..conftest import T0, auth, review_of, stamp

ROOT = auth("root", "admin")


async def test_admins_read_the_audit_log_with_filters_and_pages(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    entry = review_pb2.AuditEntry(
        entry_id="41",
        at=stamp(T0),
        actor=common_pb2.Actor(subject="rhea", roles=["reviewer"]),
        action="decision.approved",
        item_id="item-1",
        subject="frame-1",
        details_json=json.dumps({"decision_id": "d"}),
    )
    review_of(gateway).answers["list_audit"] = review_pb2.ListAuditResponse(
        entries=[entry], page=common_pb2.PageInfo(next_cursor="c2")
    )
    response = await client.get(
        "/audit", params={"item_id": "item-1", "production_id": "lighthouse", "cursor": "c1", "limit": 5}, headers=ROOT
    )
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] == "c2"
    [item] = page["items"]
    assert (item["entry_id"], item["action"], item["actor"]["subject"], item["details"]) == (
        "41",
        "decision.approved",
        "rhea",
        {"decision_id": "d"},
    )
    [request] = review_of(gateway).requests("list_audit")
    assert (request.item_id, request.production_id, request.page.cursor, request.page.page_size) == (
        "item-1",
        "lighthouse",
        "c1",
        5,
    )


async def test_the_last_page_has_no_cursor_and_no_filter_means_everything(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    review_of(gateway).answers["list_audit"] = review_pb2.ListAuditResponse()
    page = (await client.get("/audit", headers=ROOT)).json()
    assert page == {"items": [], "next_cursor": None}
    [request] = review_of(gateway).requests("list_audit")
    assert (request.item_id, request.production_id, request.page.page_size) == ("", "", 50)


async def test_only_admins_and_only_known_filters(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    assert (await client.get("/audit", headers=auth("rhea", "reviewer", productions=["*"]))).status_code == 403
    assert (
        await client.get("/audit", params={"production": "lighthouse"}, headers=ROOT)
    ).status_code == 422  # a typo is not "everything"
    assert (await client.get("/audit", params={"item_id": "../x"}, headers=ROOT)).status_code == 422
    assert review_of(gateway).calls == []
