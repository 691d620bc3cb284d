"""Productions: created by studio systems and directors (the review service gets the policy
first, so no production exists unwatched), listed newest first to those who may see them,
read one at a time behind the 403-before-404 rule."""

from __future__ import annotations

import re

import grpc
import httpx
import pytest

from helix.v1 import review_pb2
from helix_gateway.state import GatewayState

from ..conftest import add_production, auth, later, review_of, rpc_error, store_of

DIRECTOR = auth("dana", "director", productions=["*"])
BODY = {
    "title": "The Lighthouse",
    "logline": "A keeper must keep the light burning.",
    "style": "coastal noir",
    "target_locales": ["de-DE"],
    "performers": ["Ann Lee"],
    "banned_terms": ["Fizzcola"],
}


@pytest.fixture(autouse=True)
def policies(gateway: GatewayState) -> None:
    review_of(gateway).answers["set_policy"] = review_pb2.Policy()


async def test_a_production_is_created_after_its_policy_reaches_the_review_service(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    response = await client.post("/productions", json=BODY, headers=auth("studio-1", "studio-system"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert re.fullmatch(r"the-lighthouse-[0-9a-f]{6}", created["production_id"])
    assert response.headers["location"] == f"/productions/{created['production_id']}"
    assert (created["created_by"], created["performers"], created["target_locales"]) == ("studio-1", ["Ann Lee"], ["de-DE"])
    [request] = review_of(gateway).requests("set_policy")
    assert request.actor.subject == "studio-1" and list(request.actor.roles) == ["studio-system"]
    assert (request.policy.production_id, list(request.policy.performers), list(request.policy.banned_terms)) == (
        created["production_id"],
        ["Ann Lee"],
        ["Fizzcola"],
    )
    assert (await gateway.read_model.production(created["production_id"])) is not None
    assert created["training_mining"] == "notAllowed", "by default, no one may train on or mine its assets"
    data_use = store_of(gateway).data_use(created["production_id"])
    assert data_use is not None and data_use.training_mining == "notAllowed"


async def test_a_production_may_allow_training_and_mining_and_every_generator_reads_it(client: httpx.AsyncClient,
                                                                                       gateway: GatewayState) -> None:
    response = await client.post("/productions", json={**BODY, "training_mining": "allowed"}, headers=DIRECTOR)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["training_mining"] == "allowed"
    data_use = store_of(gateway).data_use(created["production_id"])
    assert data_use is not None and data_use.training_mining == "allowed"
    assert (await client.get(f"/productions/{created['production_id']}", headers=DIRECTOR)).json()["training_mining"] == "allowed"
    assert (await client.post("/productions", json={**BODY, "training_mining": "sometimes"}, headers=DIRECTOR)).status_code == 422


async def test_no_production_without_its_data_use_stored(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    store_of(gateway).fail_next = 1
    response = await client.post("/productions", json=BODY, headers=DIRECTOR)
    assert response.status_code == 503 and "data-use choice could not be stored" in response.text
    assert await gateway.read_model.productions(visible=None, after=None, limit=10) == []


async def test_no_production_without_its_policy(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).errors["set_policy"] = rpc_error(grpc.StatusCode.UNAVAILABLE, "connection refused")
    response = await client.post("/productions", json=BODY, headers=DIRECTOR)
    assert response.status_code == 503
    assert await gateway.read_model.productions(visible=None, after=None, limit=10) == []


@pytest.mark.parametrize(
    "change",
    [{"title": "   "}, {"target_locales": ["xx-nowhere"]}, {"budget": 3}, {"logline": "a\x00b"}],
    ids=["blank title", "unknown locale", "unknown field", "NUL"],
)
async def test_an_invalid_production_is_refused_before_anything_is_asked(
    client: httpx.AsyncClient, gateway: GatewayState, change: dict[str, object]
) -> None:
    response = await client.post("/productions", json={**BODY, **change}, headers=DIRECTOR)
    assert response.status_code == 422 and review_of(gateway).calls == []


async def test_reviewers_do_not_create_productions(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    assert (await client.post("/productions", json=BODY, headers=auth("rhea", "reviewer"))).status_code == 403
    assert review_of(gateway).calls == []


async def test_each_caller_lists_the_productions_they_may_see_in_pages(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    for n, pid in enumerate(("a", "b", "c", "d")):
        await add_production(gateway, pid, at=later(n))
    first = (await client.get("/productions", params={"limit": 3}, headers=DIRECTOR)).json()
    assert [p["production_id"] for p in first["items"]] == ["d", "c", "b"] and first["next_cursor"]
    rest = (await client.get("/productions", params={"limit": 3, "cursor": first["next_cursor"]}, headers=DIRECTOR)).json()
    assert [p["production_id"] for p in rest["items"]] == ["a"] and rest["next_cursor"] is None
    mine = (await client.get("/productions", headers=auth("rhea", "reviewer", productions=["b", "zz"]))).json()
    assert [p["production_id"] for p in mine["items"]] == ["b"]
    everything = (await client.get("/productions", headers=auth("studio-1", "studio-system"))).json()
    assert len(everything["items"]) == 4
    bad = await client.get("/productions", params={"cursor": "nonsense"}, headers=DIRECTOR)
    assert bad.status_code == 422 and bad.json()["type"] == "urn:helix:problem:invalid-cursor"


async def test_one_production_for_those_assigned_to_it(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse", style="noir")
    found = await client.get("/productions/lighthouse", headers=auth("rhea", "reviewer", productions=["lighthouse"]))
    assert found.status_code == 200 and (found.json()["title"], found.json()["style"]) == ("The Lighthouse", "noir")
    assert (
        await client.get("/productions/lighthouse", headers=auth("rhea", "reviewer", productions=["other"]))
    ).status_code == 403
    assert (await client.get("/productions/missing", headers=DIRECTOR)).status_code == 404
    assert (await client.get("/productions/not%20an%20id", headers=DIRECTOR)).status_code == 422
