"""The visual service on the real broker and store, with the tiny Stable Diffusion pipeline
loaded like a real checkpoint: frame, scene and texture requests become PNGs in MinIO with
lineage, asset events, step progress and completed jobs; one review item per image; a
revision is a new version whose parent is the old; the gateway's endpoints end in
completed jobs."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio

from helix.assets import AssetStore
from helix.events import (
    Actor,
    FrameRequested,
    Region,
    ReviewApproved,
    ReviewRevisionRequested,
    SceneRequested,
    TextureRequested,
    Topic,
    decode,
    encode,
    new_event,
)
from helix.settings import HelixSettings
from helix.v1 import common_pb2, review_pb2
from helix_visual.app import VisualApp
from helix_visual.images import decode as decode_image
from helix_visual.images import png_text
from helix_visual.settings import VisualSettings
from helix_visual.tiling import seamless
from tests.conftest import make_settings
from tests.integration.gateway_harness import Stack, create_production, gateway_stack, poll
from tests.integration.kafka_helpers import produce_raw, read_topic_async
from tests.integration.review_helpers import review_settings, running_review

pytestmark = pytest.mark.infra
DANA = Actor(subject="dana", roles=["director"])


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helix_dev.models.tiny_diffusion import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"), seed=0)


def visual_settings(settings: HelixSettings, model: Path, **overrides: Any) -> VisualSettings:
    return VisualSettings(**{**settings.model_dump(), "service_name": "visual", "visual_model": str(model), "visual_device": "cpu",
                             "visual_dtype": "float32", "visual_grpc_address": "127.0.0.1:0", "visual_progress_every_s": 0.0,
                             **overrides})


@pytest_asyncio.fixture
async def visual(settings: HelixSettings, tiny_sd: Path) -> AsyncIterator[VisualApp]:
    async with VisualApp(visual_settings(settings, tiny_sd)) as app:
        yield app


async def events_until(settings: HelixSettings, topic: Topic, done: Any, timeout: float = 120) -> list[Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        events = [decode(r.value()) for r in await read_topic_async(settings, topic, count=10_000, timeout=1.5)]
        if done(events) or loop.time() > deadline:
            return events


def completed(events: list[Any], *job_ids: str) -> bool:
    finished = {e.data.job_id for e in events if e.type in ("helix.job.completed", "helix.job.failed")}
    return set(job_ids) <= finished


def send(settings: HelixSettings, data: Any) -> Any:
    event = new_event(data, source="/tests/studio")
    produce_raw(settings, data.topic, encode(event), key=data.production_id.encode())
    return event


async def storyboard(settings: HelixSettings, visual: VisualApp) -> str:
    """A writer's storyboard asset for scene s1 (two shots), as the writer stores it, approved
    (recorded straight into the service's approvals: an approval on the bus would also set
    off the frames of the approved storyboard)."""
    shots = [{"shot_id": f"s1-shot{n}", "shot_type": kind, "camera": "static", "subjects": ["MARA"], "action": action,
              "location": "Lamp room", "duration_s": 3} for n, (kind, action) in enumerate([("wide", "climbs"), ("close_up", "lights it")], 1)]
    body = {"level": "storyboard-s1", "script_id": "script-j0", "content": {"production_id": "lighthouse", "script_id": "script-j0",
                                                                            "scene_id": "s1", "shots": shots}}
    store = AssetStore(settings)
    store.ensure_bucket()
    store.put(production_id="lighthouse", kind="storyboard", asset_id="script-j0-storyboard-s1", data=json.dumps(body).encode(),
              media_type="application/json", ext="json")
    await visual.approvals.record(ReviewApproved(production_id="lighthouse", decision_id="ok-board", asset_id="script-j0-storyboard-s1",
                                                 kind="storyboard", asset_version=1, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
    return "script-j0-storyboard-s1"


async def test_frames_scenes_and_textures_end_to_end(settings: HelixSettings, visual: VisualApp) -> None:
    board = await storyboard(settings, visual)
    send(settings, FrameRequested(production_id="lighthouse", job_id="frames-1", requested_by=DANA, prompt="charcoal", style="noir",
                                  storyboard_asset_id=board, width=128, height=128, steps=3, seed=11))
    send(settings, SceneRequested(production_id="lighthouse", job_id="scene-1", requested_by=DANA, prompt="a harbour at dusk",
                                  width=192, height=128, steps=3, seed=5))
    send(settings, TextureRequested(production_id="lighthouse", job_id="tex-1", requested_by=DANA, prompt="weathered stone",
                                    width=128, height=128, steps=3, seed=2))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "frames-1", "scene-1", "tex-1"))
    by_job: dict[str, list[Any]] = {}
    for event in jobs:
        by_job.setdefault(event.data.job_id, []).append(event)
    for job_id in ("frames-1", "scene-1", "tex-1"):
        kinds = [e.type for e in by_job[job_id]]
        assert kinds[0] == "helix.job.accepted" and kinds[-1] == "helix.job.completed" and "helix.job.failed" not in kinds, kinds
        steps = [e.data.step for e in by_job[job_id] if e.type == "helix.job.progress"]
        assert any(": step 3 of 3" in s for s in steps), steps
    assert by_job["frames-1"][-1].data.asset_ids == ["frame-frames-1-s1-shot1", "frame-frames-1-s1-shot2"]

    assets = {e.data.asset_id: e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 4)}
    assert set(assets) == {"frame-frames-1-s1-shot1", "frame-frames-1-s1-shot2", "scene-scene-1", "texture-tex-1"}
    store = AssetStore(settings)
    for asset in assets.values():
        assert asset.media_type == "image/png" and asset.model is not None and asset.model.revision.startswith("sha256:")
        assert asset.requested_by.subject == "dana" and asset.cost is not None and asset.cost.model_seconds > 0
        (version,) = store.versions("lighthouse", asset.kind, asset.asset_id)
        data = store.get(version.key)
        assert png_text(data)["helix"] and json.loads(png_text(data)["helix"])["seed"] == asset.seed
        assert store.get(version.key.preview())[:8] == b"\x89PNG\r\n\x1a\n"
    frame = assets["frame-frames-1-s1-shot1"]
    assert frame.parent_asset_ids == [board] and "close up" not in frame.inputs["prompt"] and "wide shot" in frame.inputs["prompt"]
    assert frame.inputs["prompt"].endswith("noir") and frame.inputs["shot"]["shot_id"] == "s1-shot1"
    assert decode_image(store.get(store.versions("lighthouse", "scene", "scene-scene-1")[0].key)).size == (192, 128)
    texture = assets["texture-tex-1"]
    assert texture.parameters["tiling"] == "xy" and texture.parameters["tiles"] is True
    assert seamless(decode_image(store.get(store.versions("lighthouse", "texture", "texture-tex-1")[0].key)), "xy")

    # The review queue gets exactly one item per image, also when a request is delivered again.
    send(settings, FrameRequested(production_id="lighthouse", job_id="frames-1", requested_by=DANA, prompt="charcoal", style="noir",
                                  storyboard_asset_id=board, width=128, height=128, steps=3, seed=11))
    async with running_review(review_settings(settings)) as (_, stub):
        await asyncio.sleep(4)
        items = (await stub.ListItems(review_pb2.ListItemsRequest(production_id="lighthouse", page=common_pb2.PageRequest(page_size=100)))).items
    assert sorted(i.asset.asset_id for i in items) == sorted(assets), "one item per image, none twice"
    for asset_id in assets:
        assert len(store.versions("lighthouse", assets[asset_id].kind, asset_id)) == 1


async def test_a_revision_is_a_new_version_made_from_the_old(settings: HelixSettings, visual: VisualApp) -> None:
    from datetime import UTC, datetime

    send(settings, SceneRequested(production_id="lighthouse", job_id="plate", requested_by=DANA, prompt="a harbour", width=128,
                                  height=128, steps=4, seed=3))
    await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "plate"))
    revision = ReviewRevisionRequested(production_id="lighthouse", decision_id="dec-7", asset_id="scene-plate", kind="scene",
                                       asset_version=1, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC),
                                       notes="more fog, no boats")
    send(settings, revision)
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "rev-dec-7"))
    assert [e.type for e in jobs if e.data.job_id == "rev-dec-7"][-1] == "helix.job.completed"
    store = AssetStore(settings)
    first, second = store.versions("lighthouse", "scene", "scene-plate")
    assert first.sha256 != second.sha256
    provenance = store.sidecar(second.key)["provenance"]
    assert provenance["revises_version"] == 1 and provenance["parents"] == ["scene-plate"]
    assert provenance["inputs"]["prompt"] == "a harbour, more fog, no boats" and provenance["parameters"]["strength"] == 0.5
    assets = [e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 2)]
    assert [(a.asset_id, a.version, a.revises_version) for a in assets] == [("scene-plate", 1, None), ("scene-plate", 2, 1)]

    # A revision of a marked region changes that region only (as the reviewer marked it in the console).
    region = Region(x=0.5, y=0.0, width=0.5, height=0.5, note="the lighthouse lamp, brighter")
    send(settings, revision.model_copy(update={"decision_id": "dec-8", "asset_version": 2, "notes": "brighter lamp", "regions": [region]}))
    await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "rev-dec-8"))
    third = store.versions("lighthouse", "scene", "scene-plate")[2]
    before, after = decode_image(store.get(second.key)), decode_image(store.get(third.key))
    left, top, right, bottom = region.box(*before.size)
    outside = [(x, y) for x in range(0, left - 8, 7) for y in range(0, before.size[1], 7)]
    assert all(before.getpixel(p) == after.getpixel(p) for p in outside), "pixels outside the marked region changed"
    inside = [(x, y) for x in range(left + 8, right - 8, 5) for y in range(top + 8, bottom - 8, 5)]
    assert sum(before.getpixel(p) != after.getpixel(p) for p in inside) > len(inside) // 2, "the marked region did not change"
    provenance = store.sidecar(third.key)["provenance"]
    assert provenance["inputs"]["regions"] == [region.model_dump()] and "brighter" in provenance["inputs"]["prompt"]

    # A frame anchored on the plate (image-to-image from a reference, for a consistent look).
    send(settings, FrameRequested(production_id="lighthouse", job_id="anchored", requested_by=DANA, prompt="the keeper at the pier",
                                  reference_asset_id="scene-plate", strength=0.7, width=128, height=128, steps=4, seed=9))
    await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "anchored"))
    (frame,) = store.versions("lighthouse", "frame", "frame-anchored-1")
    provenance = store.sidecar(frame.key)["provenance"]
    assert provenance["parents"] == ["scene-plate"] and provenance["inputs"]["reference_version"] == 3  # the newest
    assert provenance["parameters"]["strength"] == 0.7


async def test_bad_requests_fail_with_a_reason_and_the_consumer_goes_on(settings: HelixSettings, visual: VisualApp) -> None:
    send(settings, SceneRequested(production_id="lighthouse", job_id="bad-model", requested_by=DANA, prompt="x", model="sdxl"))
    send(settings, SceneRequested(production_id="lighthouse", job_id="bad-size", requested_by=DANA, prompt="x", width=2048, height=128))
    send(settings, FrameRequested(production_id="lighthouse", job_id="no-parent", requested_by=DANA, prompt="x",
                                  storyboard_asset_id="script-nope-storyboard-s1"))
    send(settings, SceneRequested(production_id="lighthouse", job_id="good", requested_by=DANA, prompt="a pier", width=64, height=64,
                                  steps=2, seed=1))
    send(settings, SceneRequested(production_id="lighthouse", job_id="twin", requested_by=DANA, prompt="a pier", width=64, height=64,
                                  steps=2, seed=1))
    jobs = await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "bad-model", "bad-size", "no-parent", "good", "twin"))
    failed = {e.data.job_id: e.data.error for e in jobs if e.type == "helix.job.failed"}
    assert "unknown model 'sdxl'" in failed["bad-model"]
    assert "width 2048 is outside" in failed["bad-size"]
    assert "storyboard script-nope-storyboard-s1 is not approved" in failed["no-parent"]
    assert "good" not in failed and "twin" not in failed
    store = AssetStore(settings)
    (good,), (twin,) = store.versions("lighthouse", "scene", "scene-good"), store.versions("lighthouse", "scene", "scene-twin")
    good_png, twin_png = store.get(good.key), store.get(twin.key)
    assert unsigned(good_png) == unsigned(twin_png), "the same request with one seed: byte-identical PNGs under their credentials"
    assert good_png != twin_png, "each carries its own Content Credentials (C2PA salts and labels every manifest)"
    assert await read_topic_async(settings, Topic.DLQ, count=1, timeout=1) == [], "refused requests are answered, not dead-lettered"


def unsigned(png: bytes) -> bytes:
    """A PNG without its C2PA chunk (`caBX`): the image and parameters as rendered."""
    out, at = bytearray(png[:8]), 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        chunk = png[at:at + 12 + length]
        if png[at + 4:at + 8] != b"caBX":
            out += chunk
        at += 12 + length
    return bytes(out)


async def test_images_carry_credentials_and_a_changed_file_cannot_be_approved(settings: HelixSettings, visual: VisualApp) -> None:
    from helix.events import AssetGenerated
    from helix.provenance import TRAINED, ContentCredentials
    from helix.v1 import review_pb2
    from tests.integration.review_helpers import actor, publish_raw_event, wait_for_items

    send(settings, SceneRequested(production_id="lighthouse", job_id="signed", requested_by=DANA, prompt="a pier at night", width=64,
                                  height=64, steps=2, seed=4))
    await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "signed"))
    store = AssetStore(settings)
    (stored,) = store.versions("lighthouse", "scene", "scene-signed")
    data = store.get(stored.key)
    verdict = ContentCredentials(settings).verify(data, "image/png")
    assert verdict.state == "trusted" and verdict.model == visual.engine.pipelines["default"].ref.id and verdict.source_types == [TRAINED]
    import c2pa

    reader = c2pa.Reader("image/png", io.BytesIO(data))
    assert "c2pa.actions.v2" in {a["label"] for a in reader.get_active_manifest()["assertions"]}

    # Someone edits the file after signing and announces it as a generated asset: review flags it.
    tampered = bytearray(data)
    tampered[tampered.index(b"IDAT") + 10] ^= 0x01
    fake = store.put(production_id="lighthouse", kind="scene", asset_id="scene-edited", data=bytes(tampered), media_type="image/png", ext="png")
    original = [e.data for e in await events_until(settings, Topic.ASSETS_GENERATED, lambda es: len(es) >= 1)][0]
    publish_raw_event(settings, new_event(AssetGenerated(**{**original.model_dump(), **fake.event_fields()}), source="/somewhere"))
    async with running_review(review_settings(settings)) as (_, stub):
        items = {i.asset.asset_id: i for i in await wait_for_items(stub, "lighthouse", 2)}
        genuine = [f for f in items["scene-signed"].findings if f.check == "provenance"]
        assert genuine == [], [f.message for f in genuine]
        (flag,) = [f for f in items["scene-edited"].findings if f.check == "provenance"]
        assert flag.blocks_approval and flag.severity == review_pb2.SEVERITY_CRITICAL and "do not verify" in flag.message
        claimed = (await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=actor("rhea")))).item
        assert claimed.asset.asset_id == "scene-edited", "the riskiest item comes first"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Decide(review_pb2.DecideRequest(item_id=claimed.item_id, reviewer=actor("rhea"), outcome="approved"))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and flag.finding_id in err.value.details()
        await stub.ResolveFinding(review_pb2.ResolveFindingRequest(finding_id=flag.finding_id, admin=actor("ada", "admin"),
                                                                   reason="color-corrected by the studio, checked"))
        assert (await stub.Decide(review_pb2.DecideRequest(item_id=claimed.item_id, reviewer=actor("rhea"), outcome="approved"))).outcome == "approved"


async def test_the_gateway_endpoints_end_in_completed_jobs(infra_env: dict[str, str], tmp_path: Path, tiny_sd: Path) -> None:
    base = make_settings(infra_env, tmp_path)
    async with gateway_stack(base, tmp_path) as stack:
        app = VisualApp(visual_settings(stack.settings, tiny_sd, database_url=f"sqlite:///{tmp_path / 'visual.db'}"))
        await app.start()
        try:
            await _request_each_kind(stack)
        finally:
            await app.stop()


async def _request_each_kind(stack: Stack) -> None:
    pid = (await create_production(stack))["production_id"]
    async with stack.client(stack.token("dora", "director", productions=[pid])) as client:
        for what, body in (("frame", {"prompt": "a keeper", "width": 64, "height": 64, "steps": 2}),
                           ("scene", {"prompt": "a cliff", "width": 64, "height": 64, "steps": 2}),
                           ("texture", {"prompt": "rust", "width": 64, "height": 64, "steps": 2, "tile_axes": "x"})):
            response = await client.post(f"/productions/{pid}/requests/{what}", json=body)
            assert response.status_code == 202, response.text
            job = (await poll(client, response.json()["status_url"], lambda r: r.json().get("status") in ("completed", "failed"),
                              timeout=90, what=f"{what} job")).json()
            assert job["status"] == "completed" and len(job["asset_ids"]) == 1, job


async def test_a_productions_training_and_mining_choice_is_in_its_images_manifests(settings: HelixSettings, visual: VisualApp) -> None:
    import c2pa

    from helix.provenance import DataUse

    store = AssetStore(settings)
    store.put_data_use(DataUse(production_id="harbour", training_mining="constrained"))
    send(settings, SceneRequested(production_id="harbour", job_id="mined", requested_by=DANA, prompt="a pier at dawn", width=64,
                                  height=64, steps=2, seed=4))
    await events_until(settings, Topic.JOBS_STATUS, lambda es: completed(es, "mined"))
    (stored,) = store.versions("harbour", "scene", "scene-mined")
    reader = c2pa.Reader("image/png", io.BytesIO(store.get(stored.key)))  # read by c2pa-rs
    (assertion,) = [a for a in reader.get_active_manifest()["assertions"] if a["label"] == "cawg.training-mining"]
    assert {entry["use"] for entry in assertion["data"]["entries"].values()} == {"constrained"}
