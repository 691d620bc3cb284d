"""Reports over the read model and the store: a production's ledger (with the running time of
its approved storyboards), its credits as JSON or Markdown, and one asset's attribution; a
document the store cannot give is a 502, not a wrong number."""

from __future__ import annotations

import httpx
import pytest

from helix.events import ReviewApproved
from helix.events.examples import example
from helix_gateway.state import GatewayState

from ..conftest import add_asset, add_production, auth, later, storyboard_document

DANA = auth("dana", "director", productions=["lighthouse"])
COST = {"model_seconds": 12.0, "gpu_seconds": 6.0, "device": "cuda"}


async def approve(gateway: GatewayState, asset_id: str, kind: str, version: int = 1) -> None:
    await gateway.read_model.apply_decision(
        example(
            ReviewApproved, production_id="lighthouse", asset_id=asset_id, kind=kind, asset_version=version, decided_at=later(30)
        ),
        "approved",
    )


@pytest.fixture(autouse=True)
async def lighthouse(gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse", title="The Lighthouse")


async def test_the_ledger_adds_machine_time_and_divides_by_the_finished_minutes(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    await add_asset(
        gateway,
        asset_id="board-s1",
        kind="storyboard",
        media_type="application/json",
        ext="json",
        cost=COST,
        content=storyboard_document("lighthouse", 90, 30),
        parent_asset_ids=["script-0001"],
    )
    await approve(gateway, "board-s1", "storyboard")
    await add_asset(gateway, asset_id="frame-1", kind="frame", media_type="image/png", cost=COST, at=later(1))
    response = await client.get("/productions/lighthouse/ledger", headers=DANA)
    assert response.status_code == 200
    ledger = response.json()
    assert ledger["finished_minutes"] == 2.0 and ledger["total"]["assets"] == 2 and ledger["total"]["model_seconds"] == 24.0
    assert ledger["per_finished_minute"]["model_seconds"] == 12.0
    assert sorted(ledger["by_kind"]) == ["frame", "storyboard"]


async def test_an_approved_storyboard_the_store_cannot_give_is_a_502(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(
        gateway, asset_id="board-s1", kind="storyboard", media_type="application/json", parent_asset_ids=["script-0001"]
    )
    await approve(gateway, "board-s1", "storyboard")
    response = await client.get("/productions/lighthouse/ledger", headers=DANA)
    assert response.status_code == 502 and response.json()["detail"].startswith("an approved storyboard could not be read")


async def test_the_ledger_is_for_those_accountable_for_the_production(client: httpx.AsyncClient) -> None:
    assert (
        await client.get("/productions/lighthouse/ledger", headers=auth("rhea", "reviewer", productions=["lighthouse"]))
    ).status_code == 403
    assert (
        await client.get("/productions/lighthouse/ledger", headers=auth("dana", "director", productions=["harbour"]))
    ).status_code == 403
    assert (await client.get("/productions/harbour/ledger", headers=auth("root", "admin"))).status_code == 404


async def test_credits_name_the_people_and_models_of_approved_work(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="frame-1", kind="frame", media_type="image/png", requested_by={"subject": "dana"})
    await approve(gateway, "frame-1", "frame")
    await add_asset(gateway, asset_id="frame-2", kind="frame", media_type="image/png")
    reviewer = auth("rhea", "reviewer", productions=["lighthouse"])
    credits = (await client.get("/productions/lighthouse/credits", headers=reviewer)).json()
    assert (credits["title"], credits["not_approved"], [a["asset_id"] for a in credits["assets"]]) == (
        "The Lighthouse",
        1,
        ["frame-1"],
    )
    assert {p["person"]: (p["requested"], p["reviewed"]) for p in credits["people"]} == {
        "dana": (1, 0),
        "rhea@studio.example": (0, 1),
    }
    assert [(m["model"], m["assets"]) for m in credits["models"]] == [("helix/tiny-llama", 1)]
    markdown = await client.get("/productions/lighthouse/credits", params={"format": "markdown"}, headers=reviewer)
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.text.startswith("# Credits: The Lighthouse") and "| frame-1 v1 | frame |" in markdown.text
    assert (await client.get("/productions/lighthouse/credits", params={"format": "pdf"}, headers=reviewer)).status_code == 422


async def test_credits_of_an_approved_document_the_store_cannot_give(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="script-0001", media_type="application/json")
    await approve(gateway, "script-0001", "script")
    assert (await client.get("/productions/lighthouse/credits", headers=DANA)).status_code == 502


async def test_an_assets_attribution_reads_its_document_or_takes_it_whole(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    await add_asset(gateway, asset_id="frame-1", kind="frame", media_type="image/png")
    frame = (await client.get("/assets/frame-1/attribution", headers=DANA)).json()
    assert [(p["part"], p["ai"], p["human"]) for p in frame["parts"]] == [("frame", 1, 0)]
    await add_asset(
        gateway, asset_id="script-0001", media_type="application/json", ext="json", content=b'{"not": "a script document"}'
    )
    script = (await client.get("/assets/script-0001/attribution", headers=DANA)).json()
    assert [(p["part"], p["ai"]) for p in script["parts"]] == [("script", 1)]
    await add_asset(gateway, asset_id="script-0002", media_type="application/json")  # never stored
    assert (await client.get("/assets/script-0002/attribution", headers=DANA)).status_code == 502
