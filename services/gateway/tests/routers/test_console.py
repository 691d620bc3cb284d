"""The review console's endpoints: who the token belongs to and what the page may offer them,
and a review item composed for reviewing by kind (text with a diff against the version it
replaces, subtitle cues, a dub's timing, an animatic's WebVTT track, a frame's storyboard
sheet), its provenance findings and its attribution."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helix.events import AssetGenerated, CloudEvent
from helix.generation.ids import LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart
from helix.v1 import review_pb2
from helix_gateway.console_views import content_url
from helix_gateway.state import GatewayState

from ..conftest import add_asset, asset_event, auth, later, review_item, review_of

RHEA = auth("rhea", "reviewer", productions=["lighthouse"])
BOARD = str(ScriptAssetId("script-job-1", ScriptPart.STORYBOARD, "s1"))
VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nVierzig Jahre.\n\n00:00:03.500 --> 00:00:05.000\nNicht heute Nacht.\n"


def show(gateway: GatewayState, event: CloudEvent[AssetGenerated], **fields: Any) -> None:
    """The review service's item for this asset event."""
    data = event.data
    review_of(gateway).answers["get_item"] = review_item(
        production_id=data.production_id,
        asset_id=data.asset_id,
        version=data.version,
        kind=data.kind.value,
        media_type=data.media_type,
        event=event,
        **fields,
    )


async def compose(client: httpx.AsyncClient, status: int = 200) -> dict[str, Any]:
    response = await client.get("/console/items/item-1", headers=RHEA)
    assert response.status_code == status, response.text
    return response.json()


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (("reviewer",), {"can_review": True, "can_resolve": False, "can_manage_consents": False, "can_see_dashboard": True,
                         "can_cast": False}),
        (("director",), {"can_review": False, "can_resolve": False, "can_manage_consents": False, "can_see_dashboard": True,
                         "can_cast": True}),
        (
            ("studio-system",),
            {"can_review": False, "can_resolve": False, "can_manage_consents": False, "can_see_dashboard": False, "can_cast": False},
        ),
        (("admin",), {"can_review": True, "can_resolve": True, "can_manage_consents": True, "can_see_dashboard": True, "can_cast": True}),
    ],
)
async def test_the_session_says_what_the_console_may_offer(
    client: httpx.AsyncClient, roles: tuple[str, ...], expected: dict[str, bool]
) -> None:
    session = (await client.get("/console/me", headers=auth("sam", *roles, productions=["b", "a"]))).json()
    assert {k: session[k] for k in expected} == expected
    assert session["subject"] == "sam" and session["roles"] == sorted(roles)
    assert session["productions"] == (None if "admin" in roles else ["a", "b"])


async def test_a_revised_text_comes_with_a_diff_against_the_version_it_replaces(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    await add_asset(gateway, asset_id="script-0001", content=b"INT. LAMP ROOM - NIGHT\nMara waits.\n")
    revised = await add_asset(
        gateway,
        asset_id="script-0001",
        version=2,
        at=later(1),
        content=b"INT. LAMP ROOM - NIGHT\nMara runs.\n",
        revises_version=1,
    )
    show(gateway, revised)
    item = await compose(client)
    assert (item["view"], item["previous_version"], item["content_url"]) == ("text", 1, content_url("script-0001", 2))
    assert item["previous_url"] == content_url("script-0001", 1)
    assert item["text"] == "INT. LAMP ROOM - NIGHT\nMara runs.\n"
    assert "-Mara waits." in item["diff"].splitlines() and "+Mara runs." in item["diff"].splitlines()
    assert item["item"]["item_id"] == "item-1" and item["attribution"]["asset_id"] == "script-0001"
    assert item["lineage"]["model"]["id"] == "helix/tiny-llama" and "object_key" not in item["lineage"]


async def test_subtitles_are_shown_as_cues_or_as_text_when_they_do_not_parse(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    vtt = await add_asset(
        gateway,
        asset_id="subs-1",
        kind="subtitles",
        media_type="text/vtt",
        ext="vtt",
        content=VTT.encode(),
        parent_asset_ids=["script-0001"],
    )
    show(gateway, vtt)
    item = await compose(client)
    assert item["view"] == "subtitles" and [(c["start"], c["end"], c["text"]) for c in item["cues"]] == [
        (1.0, 3.0, "Vierzig Jahre."),
        (3.5, 5.0, "Nicht heute Nacht."),
    ]
    broken = await add_asset(
        gateway,
        asset_id="subs-2",
        kind="subtitles",
        media_type="text/vtt",
        ext="vtt",
        content=b"not a subtitle file",
        parent_asset_ids=["script-0001"],
    )
    show(gateway, broken)
    item = await compose(client)
    assert (
        item["cues"] is None
        and item["text"].startswith("(the subtitle file could not be parsed")
        and "not a subtitle file" in item["text"]
    )


async def test_a_dub_shows_its_timing(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    dub = asset_event(
        asset_id="dub-1",
        kind="voiceover",
        media_type="audio/wav",
        parent_asset_ids=["script-0001"],
        summary={"kind": "voiceover", "locale": "de-DE", "timing": {"lines": 4, "overshoots": 1, "max_overshoot_ms": 120}},
    )
    show(gateway, dub)  # not projected yet: the review item's event stands in
    item = await compose(client)
    assert item["view"] == "audio" and (item["timing"]["lines"], item["timing"]["overshoots"]) == (4, 1)
    assert item["summary"]["kind"] == "voiceover" and item["previous_version"] is None
    assert item["attribution"]["asset_id"] == "dub-1"


@pytest.mark.parametrize(
    ("part", "version", "url"),
    [(LocalePart.SUBTITLES_VTT, 2, True), (LocalePart.SUBTITLES_SRT, 2, False), (LocalePart.SUBTITLES_VTT, None, False)],
)
async def test_an_animatic_plays_its_webvtt_subtitles_only(
    client: httpx.AsyncClient, gateway: GatewayState, part: LocalePart, version: int | None, url: bool
) -> None:
    subtitles = str(LocaleAssetId("de-DE", part, "job-1"))
    animatic = asset_event(
        asset_id="anim-1",
        kind="animatic",
        media_type="video/mp4",
        parent_asset_ids=["frame-1"],
        summary={"kind": "animatic", "locale": "de-DE", "subtitles_asset_id": subtitles, "subtitles_version": version},
    )
    show(gateway, animatic)
    item = await compose(client)
    assert item["view"] == "video" and item["subtitles_url"] == (content_url(subtitles, 2) if url else None)


async def test_a_frame_comes_with_its_storyboard_scene_on_one_sheet(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    frame: dict[str, Any] = {"kind": "frame", "media_type": "image/png", "parent_asset_ids": [BOARD]}
    await add_asset(gateway, asset_id="frame-b", **frame)
    current = await add_asset(gateway, asset_id="frame-a", **frame)
    await add_asset(gateway, asset_id="frame-a", version=2, at=later(1), **frame)
    await add_asset(gateway, asset_id="frame-z", kind="frame", media_type="image/png", parent_asset_ids=["another-board"])
    show(
        gateway,
        current,
        findings=[
            review_pb2.Finding(finding_id="f1", check="provenance", severity=review_pb2.SEVERITY_HIGH, message="none", open=True),
            review_pb2.Finding(finding_id="f2", check="lineage", severity=review_pb2.SEVERITY_HIGH, message="x", open=True),
        ],
    )
    item = await compose(client)
    assert item["view"] == "image"
    assert [(f["asset_id"], f["version"], f["current"]) for f in item["sheet"]] == [("frame-a", 2, True), ("frame-b", 1, False)]
    assert item["provenance"] == [{"check": "provenance", "severity": "high", "message": "none", "open": True}]


async def test_a_frame_from_a_prompt_alone_has_no_sheet(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    show(gateway, await add_asset(gateway, asset_id="frame-a", kind="frame", media_type="image/png"))
    assert (await compose(client))["sheet"] == []


async def test_an_item_outside_the_reviewers_productions_is_not_composed(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    show(gateway, asset_event("harbour", "script-0001"))
    await compose(client, 403)
    assert (await client.get("/console/items/item-1", headers=auth("dana", "director", productions=["*"]))).status_code == 403


async def test_a_text_the_store_cannot_give_is_a_502(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    show(gateway, await add_asset(gateway, asset_id="script-0001"))  # never stored
    await compose(client, 502)
