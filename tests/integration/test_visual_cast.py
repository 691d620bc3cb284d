"""The cast on the real broker and store: reference sheets drawn from the approved script (two
characters, one place) and approved are kept by the frames of a storyboard (each character's
front view masked to where they stand, the place's view over the whole frame); frames of a
two-character storyboard keep both characters' approved references and their shots' layout;
a reference revised and approved makes the frames drawn from the old one stale in the
production tree, and one request draws them again, as new versions citing the new reference. A
person's own view uploaded through the gateway is kept verbatim, reviewed, and kept by frames."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from helix.assets import AssetStore
from helix.events import (
    Actor,
    FrameRequested,
    FramesRedrawRequested,
    FrameSummary,
    ReferenceSheetRequested,
    ReferenceSummary,
    ReviewApproved,
    Topic,
)
from helix.settings import HelixSettings
from helix_gateway.readmodel.tables import Asset
from helix_gateway.tree import build_tree
from helix_visual.app import VisualApp
from tests.integration.gateway_harness import create_production, gateway_stack, poll
from tests.integration.test_visual_service import DANA, completed, events_until, send, visual_settings

pytestmark = pytest.mark.infra
BOARD, MARA, TOM = "script-j0-storyboard-s1", "frame-refmara-1", "frame-reftom-1"


@pytest.fixture(scope="module")
def cast_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from helix_dev.models.tiny_diffusion import build_tiny_controlnet, build_tiny_ip_adapter, build_tiny_sd

    return {"sd": build_tiny_sd(tmp_path_factory.mktemp("sd")), "controlnet": build_tiny_controlnet(tmp_path_factory.mktemp("cn")),
            "ip-adapter": build_tiny_ip_adapter(tmp_path_factory.mktemp("ipa"))}


@pytest_asyncio.fixture
async def visual(settings: HelixSettings, cast_models: dict[str, Path]) -> AsyncIterator[VisualApp]:
    async with VisualApp(visual_settings(settings, cast_models["sd"], visual_layout_model=str(cast_models["controlnet"]),
                                         visual_reference_model=str(cast_models["ip-adapter"]))) as app:
        yield app


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


async def approve(visual: VisualApp, asset_id: str, kind: str, version: int = 1) -> None:
    """Recorded straight into the service's approvals (an approval on the bus would set off reactions)."""
    await visual.approvals.record(ReviewApproved(production_id="lighthouse", decision_id=f"ok-{asset_id}-{version}", asset_id=asset_id,
                                                 kind=kind, asset_version=version, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))


def put(store: AssetStore, kind: str, asset_id: str, data: bytes, media_type: str) -> int:
    return store.put(production_id="lighthouse", kind=kind, asset_id=asset_id, data=data, media_type=media_type,
                     ext="png" if media_type == "image/png" else "json").key.version


def reference_row(asset_id: str, version: int) -> Asset:
    """An approved reference as the gateway's read model holds it (its asset event not needed here)."""
    return Asset(asset_id=asset_id, version=version, production_id="lighthouse", kind="frame", media_type="image/png",
                 review_status="approved", event=None, created_at=datetime.now(UTC))


def tree_rows(events: list[Any], approved: dict[tuple[str, int], bool]) -> list[Asset]:
    """The gateway's read-model rows for the announced assets, approved as given."""
    return [Asset(asset_id=e.data.asset_id, version=e.data.version, production_id="lighthouse", kind=e.data.kind.value,
                  media_type=e.data.media_type, review_status="approved" if approved.get((e.data.asset_id, e.data.version)) else "pending",
                  job_id=e.data.job_id, event=e.model_dump(mode="json"), created_at=e.time) for e in events]


async def test_frames_keep_the_cast_go_stale_when_a_reference_is_revised_and_are_drawn_again(settings: HelixSettings,
                                                                                             visual: VisualApp) -> None:
    store = AssetStore(settings)
    store.ensure_bucket()
    shots = [{"shot_id": "s1-shot1", "shot_type": "medium", "camera": "static", "subjects": ["MARA", "TOM"], "action": "argue",
              "location": "Lamp room", "duration_s": 3, "blocking": {"placements": [{"character": "MARA", "x": 0.25},
                                                                                    {"character": "TOM", "x": 0.75, "depth": 0.3}]}},
             {"shot_id": "s1-shot2", "shot_type": "close_up", "camera": "static", "subjects": ["MARA"], "action": "listens",
              "location": "Lamp room", "duration_s": 2}]
    body = {"level": "storyboard-s1", "script_id": "script-j0",
            "content": {"production_id": "lighthouse", "script_id": "script-j0", "scene_id": "s1", "shots": shots}}
    put(store, "storyboard", BOARD, json.dumps(body).encode(), "application/json")
    await approve(visual, BOARD, "storyboard")
    for asset_id, colour in ((MARA, (200, 30, 30)), (TOM, (20, 40, 220))):
        put(store, "frame", asset_id, png(colour), "image/png")
        await approve(visual, asset_id, "frame")
    send(settings, FrameRequested(production_id="lighthouse", job_id="cast-1", requested_by=DANA, prompt="keepers", storyboard_asset_id=BOARD,
                                  character_references={"MARA": MARA, "TOM": TOM}, width=128, height=96, steps=2, seed=4))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "cast-1"))
    assert [e.type for e in jobs if e.data.job_id == "cast-1"][-1] == "helix.job.completed"
    frames = {e.data.asset_id: e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 2)}
    two, one = frames["frame-cast-1-s1-shot1"], frames["frame-cast-1-s1-shot2"]
    for frame, cast in ((two, {"MARA", "TOM"}), (one, {"MARA"})):
        summary = frame.typed_summary()
        assert isinstance(summary, FrameSummary) and set(summary.references) == cast and all(r.version == 1 for r in summary.references.values())
        assert {r.asset_id for r in summary.references.values()} <= set(frame.parent_asset_ids)
    assert two.parameters["reference_masks"] == 2 and one.parameters["reference_masks"] == 0, "each of two characters masked to its place"
    assert two.inputs["layout"]["by"] == "director" and one.inputs["layout"]["by"] == "subjects"

    # MARA's reference is revised; the frames are stale only once the new version is approved.
    assert put(store, "frame", MARA, png((230, 200, 40)), "image/png") == 2
    announced = await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 2)
    approved: dict[tuple[str, int], bool] = {}
    refs = [reference_row(MARA, 1), reference_row(TOM, 1)]
    assert build_tree("lighthouse", [*refs, *tree_rows(announced, approved)]).stale == []
    await approve(visual, MARA, "frame", 2)
    refs.append(reference_row(MARA, 2))
    stale = build_tree("lighthouse", [*refs, *tree_rows(announced, approved)]).stale
    assert stale == sorted(frames), "both frames used MARA's v1"

    send(settings, FramesRedrawRequested(production_id="lighthouse", job_id="redraw-1", requested_by=DANA, frame_asset_ids=stale))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "redraw-1"))
    assert [e.type for e in jobs if e.data.job_id == "redraw-1"][-1] == "helix.job.completed"
    everything = await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 4)
    redrawn = {e.data.asset_id: e.data for e in everything if e.data.version == 2}
    assert set(redrawn) == set(frames)
    for asset_id, frame in redrawn.items():
        summary = frame.typed_summary()
        assert isinstance(summary, FrameSummary) and summary.references["MARA"].version == 2 and frame.revises_version == 1
        assert frame.seed == frames[asset_id].seed and frame.inputs["prompt"] == frames[asset_id].inputs["prompt"]
    assert build_tree("lighthouse", [*refs, *tree_rows(everything, approved)]).stale == [], "drawn again from v2: nothing stale"
    first, second = (store.get(v.key) for v in store.versions("lighthouse", "frame", "frame-cast-1-s1-shot2"))
    assert first != second


async def test_reference_sheets_drawn_approved_and_kept_by_the_frames(settings: HelixSettings, visual: VisualApp) -> None:
    store = AssetStore(settings)
    store.ensure_bucket()
    script = {"level": "script", "script_id": "script-j9", "content": {
        "production_id": "lighthouse", "logline": "A keeper keeps the light.", "title": "The Lamp",
        "characters": [{"name": "MARA", "description": "a keeper in a yellow oilskin"}, {"name": "TOM", "description": "a fisherman"}],
        "places": [{"name": "Lamp room", "description": "a round glass room at the top of the tower"}],
        "scenes": [{"scene_id": "s1", "place": "Lamp room", "plot_element": "exposition", "beat": "The lamp is lit."}]}}
    put(store, "script", "script-j9-script", json.dumps(script).encode(), "application/json")
    await approve(visual, "script-j9-script", "script")
    send(settings, ReferenceSheetRequested(production_id="lighthouse", job_id="sheet-9", requested_by=DANA, script_asset_id="script-j9-script",
                                           views=["front"], width=64, height=64, steps=2, seed=5))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "sheet-9"))
    assert [e.type for e in jobs if e.data.job_id == "sheet-9"][-1] == "helix.job.completed"
    views = {e.data.asset_id: e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 3)}
    assert set(views) == {"reference-sheet-9-c1-front", "reference-sheet-9-c2-front", "reference-sheet-9-p1-establishing"}
    summaries = {v.typed_summary() for v in views.values()}
    assert ReferenceSummary(subject="Lamp room", subject_kind="place", view="establishing") in summaries  # type: ignore[arg-type]
    for asset_id in views:
        await approve(visual, asset_id, "reference")

    shots = [{"shot_id": "s1-shot1", "shot_type": "medium", "camera": "static", "subjects": ["MARA", "TOM"], "action": "argue",
              "location": "Lamp room", "duration_s": 3}, {"shot_id": "s1-shot2", "shot_type": "close_up", "camera": "static",
                                                          "subjects": ["MARA"], "action": "listens", "location": "Lamp room", "duration_s": 2}]
    board = "script-j9-storyboard-s1"
    body = {"level": "storyboard-s1", "script_id": "script-j9",
            "content": {"production_id": "lighthouse", "script_id": "script-j9", "scene_id": "s1", "shots": shots}}
    put(store, "storyboard", board, json.dumps(body).encode(), "application/json")
    await approve(visual, board, "storyboard")
    send(settings, FrameRequested(production_id="lighthouse", job_id="kept-9", requested_by=DANA, prompt="keepers", storyboard_asset_id=board,
                                  cast=True, width=128, height=96, steps=2, seed=4))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "kept-9"))
    assert [e.type for e in jobs if e.data.job_id == "kept-9"][-1] == "helix.job.completed"
    frames = {e.data.asset_id: e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 5)
              if e.data.job_id == "kept-9"}
    two, one = frames["frame-kept-9-s1-shot1"], frames["frame-kept-9-s1-shot2"]
    for frame, cast in ((two, {"MARA": "reference-sheet-9-c1-front", "TOM": "reference-sheet-9-c2-front"}),
                        (one, {"MARA": "reference-sheet-9-c1-front"})):
        summary = frame.typed_summary()
        assert isinstance(summary, FrameSummary) and {c: r.asset_id for c, r in summary.references.items()} == cast
        assert summary.place is not None and summary.place.asset_id == "reference-sheet-9-p1-establishing"
        assert {*cast.values(), summary.place.asset_id} <= set(frame.parent_asset_ids)
    assert two.parameters["reference_masks"] == 3 and one.parameters["reference_masks"] == 2, \
        "each character masked to where they stand, the place over the whole frame"


async def test_a_persons_own_view_through_the_gateway_is_reviewed_and_kept_by_the_frames(settings: HelixSettings, visual: VisualApp,
                                                                                        tmp_path: Path) -> None:
    async with gateway_stack(settings, tmp_path) as stack:
        pid = (await create_production(stack))["production_id"]
        store = AssetStore(settings)
        script = {"level": "script", "script_id": "script-j8", "content": {
            "production_id": pid, "logline": "A keeper keeps the light.", "title": "The Lamp",
            "characters": [{"name": "MARA", "description": "a keeper in a yellow oilskin"}], "places": [],
            "scenes": [{"scene_id": "s1", "place": "Lamp room", "plot_element": "exposition", "beat": "The lamp is lit."}]}}
        store.put(production_id=pid, kind="script", asset_id="script-j8-script", data=json.dumps(script).encode(),
                  media_type="application/json", ext="json")
        await visual.approvals.record(ReviewApproved(production_id=pid, decision_id="ok-script-j8", asset_id="script-j8-script",
                                                     kind="script", asset_version=1, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
        photo = io.BytesIO()
        Image.new("RGB", (96, 80), (240, 200, 10)).save(photo, format="JPEG")
        params = {"script_asset_id": "script-j8-script", "subject": "MARA", "view": "front", "filename": "mara-costume.jpg"}
        async with stack.client(stack.token("dana", "director", productions=[pid])) as dana, \
                stack.client(stack.token("rhea", "reviewer", productions=[pid])) as rhea:
            wrong = await dana.post(f"/productions/{pid}/cast/references", params=params, content=photo.getvalue(),
                                    headers={"Content-Type": "image/png"})
            assert wrong.status_code == 415 and "the bytes are not image/png" in wrong.text
            sent = await dana.post(f"/productions/{pid}/cast/references", params=params, content=photo.getvalue(),
                                   headers={"Content-Type": "image/jpeg"})
            assert sent.status_code == 202, sent.text
            job_id = sent.json()["job_id"]
            job = await poll(dana, f"/jobs/{job_id}", lambda r: r.json()["status"] in ("completed", "failed"), timeout=60)
            view = f"reference-{job_id}-c1-front"
            assert job.json()["status"] == "completed" and job.json()["asset_ids"] == [view], job.text
            stored = await poll(dana, f"/assets/{view}", lambda r: r.status_code == 200)
            assert stored.json()["lineage"]["authorship"] == "human" and stored.json()["lineage"]["model"] is None
            assert (await dana.get(f"/assets/{view}/content")).content == photo.getvalue(), "kept verbatim"

            queued = await poll(rhea, "/reviews/queue", lambda r: any(i["asset"]["asset_id"] == view for i in r.json()["items"]))
            item = next(i for i in queued.json()["items"] if i["asset"]["asset_id"] == view)
            await rhea.post("/reviews/claim", json={"lease_seconds": 60})
            decided = await rhea.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved"})
            assert decided.status_code == 200, decided.text
            cast = await poll(dana, f"/productions/{pid}/cast",
                              lambda r: any((m.get("keeps") or {}).get("asset_id") == view for m in r.json()["members"]))
            assert [m["name"] for m in cast.json()["members"]] == ["MARA"]
        for _ in range(300):  # the approval reaches the visual service over the bus
            if await visual.approvals.approved_version(pid, view) == 1:
                break
            await asyncio.sleep(0.1)
        shots = [{"shot_id": "s1-shot1", "shot_type": "close_up", "camera": "static", "subjects": ["MARA"], "action": "listens",
                  "location": "Lamp room", "duration_s": 2}]
        body = {"level": "storyboard-s1", "script_id": "script-j8",
                "content": {"production_id": pid, "script_id": "script-j8", "scene_id": "s1", "shots": shots}}
        store.put(production_id=pid, kind="storyboard", asset_id="script-j8-storyboard-s1", data=json.dumps(body).encode(),
                  media_type="application/json", ext="json")
        await visual.approvals.record(ReviewApproved(production_id=pid, decision_id="ok-board-j8", asset_id="script-j8-storyboard-s1",
                                                     kind="storyboard", asset_version=1, reviewer=Actor(subject="rhea"),
                                                     decided_at=datetime.now(UTC)))
        send(settings, FrameRequested(production_id=pid, job_id="kept-8", requested_by=DANA, prompt="a keeper",
                                      storyboard_asset_id="script-j8-storyboard-s1", cast=True, width=64, height=64, steps=2, seed=4))
        await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "kept-8"))
        frames = [e.data for e in await events_until(settings, Topic.ASSETS_GENERATED,
                                                      lambda es: any(e.data.job_id == "kept-8" for e in es)) if e.data.job_id == "kept-8"]
        summary = frames[0].typed_summary()
        assert isinstance(summary, FrameSummary) and summary.references["MARA"].asset_id == view, "the frame keeps the person's view"
