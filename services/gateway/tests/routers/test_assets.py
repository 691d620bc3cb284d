"""Assets: a production's versions in keyset pages and as a tree, one version with its lineage
and the store's sidecar (the read model still answers when the store does not), presigned
downloads that never outlive their promise, and the bytes themselves, checked."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from helix.events import ReviewApproved
from helix.events.examples import example
from helix_gateway.state import GatewayState

from ..conftest import add_asset, add_production, auth, later, store_of

DANA = auth("dana", "director", productions=["lighthouse"])
SCRIPT = b"EXT. LIGHTHOUSE - NIGHT\nThe lamp turns.\n"


@pytest.fixture(autouse=True)
async def lighthouse(gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse")
    await add_production(gateway, "harbour")


async def test_versions_newest_first_in_pages_and_by_kind(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="script-a", at=later(0))
    await add_asset(gateway, asset_id="script-a", version=2, at=later(1))
    await add_asset(gateway, asset_id="frame-b", at=later(2), kind="frame", media_type="image/png", parent_asset_ids=["script-a"])
    first = (await client.get("/productions/lighthouse/assets", params={"limit": 2}, headers=DANA)).json()
    assert [(a["asset_id"], a["version"]) for a in first["items"]] == [("frame-b", 1), ("script-a", 2)]
    rest = (
        await client.get("/productions/lighthouse/assets", params={"limit": 2, "cursor": first["next_cursor"]}, headers=DANA)
    ).json()
    assert [(a["asset_id"], a["version"]) for a in rest["items"]] == [("script-a", 1)] and rest["next_cursor"] is None
    frames = (await client.get("/productions/lighthouse/assets", params={"kind": "frame"}, headers=DANA)).json()
    assert [a["asset_id"] for a in frames["items"]] == ["frame-b"]
    assert (await client.get("/productions/lighthouse/assets", params={"kind": "poster"}, headers=DANA)).status_code == 422
    assert (await client.get("/productions/harbour/assets", headers=DANA)).status_code == 403


async def test_the_tree_of_a_production(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="script-a", at=later(0))
    await add_asset(gateway, asset_id="frame-b", at=later(1), kind="frame", media_type="image/png", parent_asset_ids=["script-a"])
    await add_asset(gateway, "harbour", asset_id="script-z", at=later(0))
    tree = (await client.get("/productions/lighthouse/tree", headers=DANA)).json()
    assert (tree["production_id"], tree["assets"], tree["by_status"]) == ("lighthouse", 2, {"pending": 2})
    assert [(r["asset_id"], [c["asset_id"] for c in r["children"]]) for r in tree["roots"]] == [("script-a", ["frame-b"])]


async def test_one_version_with_lineage_every_version_and_the_sidecar(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    first = await add_asset(gateway, asset_id="script-a", content=SCRIPT, seed=7)
    await add_asset(
        gateway, asset_id="script-a", version=2, content=SCRIPT + b"More.\n", at=later(1), requested_by={"subject": "dana"}
    )
    newest = (await client.get("/assets/script-a", headers=DANA)).json()
    assert (newest["version"], newest["versions"], newest["lineage"]["requested_by"]["subject"]) == (2, [1, 2], "dana")
    assert newest["sidecar"]["provenance"] == {"model": "helix/tiny-llama@main"} and newest["sidecar_error"] is None
    older = (await client.get("/assets/script-a", params={"version": 1}, headers=DANA)).json()
    assert (older["version"], older["event_id"], older["lineage"]["seed"], older["lineage"]["model"]["id"]) == (
        1,
        first.id,
        7,
        "helix/tiny-llama",
    )
    assert (await client.get("/assets/script-a", params={"version": 3}, headers=DANA)).status_code == 404


async def test_the_read_model_answers_when_the_sidecar_is_missing_or_the_store_away(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    await add_asset(gateway, asset_id="script-a")  # its object was never stored
    missing = (await client.get("/assets/script-a", headers=DANA)).json()
    assert missing["sidecar"] is None and missing["sidecar_error"].startswith("AssetNotFound")
    store_of(gateway).fail_next = 1
    away = (await client.get("/assets/script-a", headers=DANA)).json()
    assert away["sidecar_error"] == "the asset store did not answer: ConnectionError" and away["lineage"]["authorship"] == "ai"


async def test_an_asset_known_only_from_its_decision_is_not_found(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await gateway.read_model.apply_decision(
        example(ReviewApproved, production_id="lighthouse", asset_id="frame-late", asset_version=1, decided_at=later(1)),
        "approved",
    )
    for path in ("/assets/frame-late", "/assets/frame-late/download", "/assets/frame-late/content"):
        assert (await client.get(path, headers=DANA)).status_code == 404, path


async def test_assets_of_another_production_are_not_shown(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, "harbour", asset_id="script-z", content=SCRIPT)
    for path in ("/assets/script-z", "/assets/script-z/download", "/assets/script-z/content"):
        assert (await client.get(path, headers=DANA)).status_code == 403, path


async def test_a_download_url_expires_no_later_than_promised(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    event = await add_asset(gateway, asset_id="script-a", content=SCRIPT)
    response = await client.get("/assets/script-a/download", headers=DANA)
    assert response.status_code == 200
    download = response.json()
    assert download["url"] == f"memory://{event.data.object_key}?expires=120"  # presign_seconds of the test's settings
    issued = datetime.fromisoformat(download["expires_at"])
    assert 0 < (issued - datetime.now(issued.tzinfo)).total_seconds() <= 120
    gateway.settings.presign_max_seconds = 30
    assert (await client.get("/assets/script-a/download", headers=DANA)).json()["url"].endswith("?expires=30")


async def test_a_download_of_a_missing_object_or_an_absent_store(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="script-a")
    assert (await client.get("/assets/script-a/download", headers=DANA)).status_code == 404
    store_of(gateway).fail_next = 1
    away = await client.get("/assets/script-a/download", headers=DANA)
    assert away.status_code == 502 and away.json()["detail"] == "the asset store did not answer"


async def test_the_content_is_served_checked_and_cacheable(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    event = await add_asset(gateway, asset_id="script-a", content=SCRIPT)
    response = await client.get("/assets/script-a/content", headers=DANA)
    assert response.status_code == 200 and response.content == SCRIPT
    assert response.headers["content-type"].startswith("text/x-fountain")
    assert response.headers["etag"] == f'"{event.data.sha256}"' and "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    store_of(gateway).tamper(event.data.object_key, b"changed behind the store's back")
    tampered = await client.get("/assets/script-a/content", headers=DANA)
    assert tampered.status_code == 502 and "does not match its recorded sha256" in tampered.json()["detail"]


async def test_content_of_a_missing_object_or_an_absent_store(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_asset(gateway, asset_id="script-a")
    assert (await client.get("/assets/script-a/content", headers=DANA)).status_code == 404
    store_of(gateway).fail_next = 1
    assert (await client.get("/assets/script-a/content", headers=DANA)).status_code == 502
