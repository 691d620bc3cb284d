"""Choreography on the real broker and store, with the writer, visual and localize services
running their tiny models and a reviewer standing in on the decisions topic: an approved
script sets off its storyboards and its localization for the production's target locale;
nothing is drawn from a storyboard before a person approves it; approved storyboards set
off their frames; once every frame, the dubbed track and the subtitles are approved, the
localize service cuts the animatic. ffprobe, which Helix did not write, confirms its
duration, its streams and that the picture changes at the shot boundaries. Approved, the
animatic leaves the gateway as an .otioz that OpenTimelineIO reads back."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
import pytest_asyncio

from helix.assets import AssetStore
from helix.documents import AnimaticPlan
from helix.events import (
    Actor,
    AssetGenerated,
    ReviewApproved,
    ReviewRevisionRequested,
    ScriptRequested,
    Topic,
    decode,
    encode,
    new_event,
)
from helix.generation.ids import LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart, script_id_for
from helix.settings import HelixSettings
from helix_localize.app import LocalizeApp
from helix_visual.app import VisualApp
from helix_writer.app import WriterApp
from helix_writer.settings import WriterSettings
from tests.integration.gateway_harness import gateway_stack, poll
from tests.integration.kafka_helpers import produce_raw, read_topic_async
from tests.integration.test_localize_service import localize_settings
from tests.integration.test_visual_service import visual_settings

pytestmark = [pytest.mark.infra, pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)")]
PRODUCTION = "carrow"
RHEA = Actor(subject="rhea", roles=["reviewer"])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from helix_dev.models.tiny import build_tiny_llama
    from helix_dev.models.tiny_diffusion import build_tiny_controlnet, build_tiny_sd
    from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_vits
    from helix_dev.models.tiny_video import build_tiny_ltx_i2v

    return {"llama": build_tiny_llama(tmp_path_factory.mktemp("llama"), seed=0), "sd": build_tiny_sd(tmp_path_factory.mktemp("sd"), seed=0),
            "controlnet": build_tiny_controlnet(tmp_path_factory.mktemp("controlnet"), seed=0),
            "marian": build_tiny_marian(tmp_path_factory.mktemp("marian")), "vits": build_tiny_vits(tmp_path_factory.mktemp("vits")),
            "ltx": build_tiny_ltx_i2v(tmp_path_factory.mktemp("ltx"))}


@pytest_asyncio.fixture
async def studio(settings: HelixSettings, models: dict[str, Path], tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    def db(name: str) -> dict[str, str]:
        return {"database_url": f"sqlite:///{tmp_path / name}.db"}  # each service its own record of decisions

    apps = {
        "writer": WriterApp(WriterSettings(**{**settings.model_dump(), **db("writer"), "service_name": "writer"}, writer_model=str(models["llama"]),
                                           writer_grpc_address="127.0.0.1:0", writer_device="cpu", writer_dtype="float32")),
        "visual": VisualApp(visual_settings(settings, models["sd"], **db("visual"), visual_frame_width=128, visual_frame_height=96,
                                            visual_frame_steps=2, visual_layout_model=str(models["controlnet"]),
                                            visual_motion_on_approval=True, visual_video_model=str(models["ltx"]), visual_clip_width=64,
                                            visual_clip_height=64, visual_clip_steps=2, visual_clip_fps=8)),
        "localize": LocalizeApp(localize_settings(settings, {k: str(v) for k, v in models.items() if k != "ltx"}, **db("localize"))),
    }
    for app in apps.values():
        await app.start()
    try:
        yield apps
    finally:
        for app in apps.values():
            await app.stop()


def approve(settings: HelixSettings, asset: AssetGenerated, decision_id: str | None = None) -> None:
    decision = ReviewApproved(production_id=PRODUCTION, decision_id=decision_id or f"ok-{asset.asset_id}-v{asset.version}",
                              asset_id=asset.asset_id, kind=asset.kind, asset_version=asset.version, reviewer=RHEA, decided_at=datetime.now(UTC))
    produce_raw(settings, Topic.REVIEW_DECISIONS, encode(new_event(decision, source="/tests/reviewer")), key=PRODUCTION.encode())


async def assets_until(settings: HelixSettings, done: Any, what: str, timeout: float = 300) -> dict[str, AssetGenerated]:
    """The newest version of every asset announced so far, once `done(assets)` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        records = await read_topic_async(settings, Topic.ASSETS_GENERATED, count=100_000, timeout=1.5)
        assets: dict[str, AssetGenerated] = {}
        for event in (decode(r.value()) for r in records):
            if event.data.asset_id not in assets or assets[event.data.asset_id].version < event.data.version:
                assets[event.data.asset_id] = event.data
        if done(assets):
            return assets
        assert loop.time() < deadline, f"timed out waiting for {what}: have {sorted(assets)}"


def ffprobe(path: Path, *args: str) -> Any:
    done = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def scene_changes(path: Path) -> list[float]:
    """Where ffmpeg's own scene detection sees the picture change."""
    movie = str(path).replace("\\", "/").replace(":", "\\:")
    done = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i", f"movie={movie},select=gt(scene\\,0.02)",
                           "-show_entries", "frame=pts_time", "-of", "json"], capture_output=True, text=True, check=True)
    return [float(f["pts_time"]) for f in json.loads(done.stdout).get("frames", [])]


@pytest.mark.timeout(600)
@pytest.mark.slow  # over 30 s: `make test-slow` and CI run it
async def test_approvals_carry_a_script_to_an_animatic(settings: HelixSettings, studio: dict[str, Any], tmp_path: Path) -> None:
    script_id = script_id_for("ep1")
    produce_raw(settings, Topic.WRITER_REQUESTS, encode(new_event(ScriptRequested(
        production_id=PRODUCTION, job_id="ep1", requested_by=Actor(subject="dora"), logline="A keeper keeps the light through a storm.",
        max_scenes=2, seed=3, target_locales=["de-DE"]), source="/tests/studio")), key=PRODUCTION.encode())
    script_asset = str(ScriptAssetId(script_id, ScriptPart.SCRIPT))
    assets = await assets_until(settings, lambda a: script_asset in a, "the assembled script")
    await asyncio.sleep(3)
    assert not any(a.startswith(("frame-", "loc-")) for a in assets), "nothing downstream before the script is approved"

    approve(settings, assets[script_asset])
    scenes = json.loads(AssetStore(settings).get(assets[script_asset].object_key))["content"]["scenes"]
    boards = {str(ScriptAssetId(script_id, ScriptPart.STORYBOARD, s["scene_id"])) for s in scenes}
    assets = await assets_until(settings, lambda a: boards <= set(a) and any(k.startswith("loc-de-DE-voiceover-wav-") for k in a)
                                and any(k.startswith("loc-de-DE-subtitles-vtt-") for k in a), "storyboards and the de-DE localization")
    await asyncio.sleep(3)
    assert not any(a.startswith("frame-") for a in assets), "no frame from a storyboard nobody approved"

    for board in sorted(boards):
        approve(settings, assets[board])
    shots = sum(len(json.loads(AssetStore(settings).get(assets[b].object_key))["content"]["shots"]) for b in boards)
    assets = await assets_until(settings, lambda a: sum(k.startswith("frame-") for k in a) >= shots, f"{shots} frames")
    frames = sorted(k for k in assets if k.startswith("frame-"))
    assert len(frames) == shots and all(set(assets[f].parent_asset_ids) & boards for f in frames)
    assert all(assets[f].inputs["layout"]["by"] == "subjects" and "controlnet" in assets[f].parameters["layout_model"]
               for f in frames), "each frame conditioned on its shot's layout sketch (the subjects spread across the frame)"
    assert not any(k.startswith("loc-de-DE-animatic-") for k in assets), "no animatic before its frames and tracks are approved"

    # One frame goes back for a revision; its second version is what the animatic may use.
    revised = frames[0]
    decision = ReviewRevisionRequested(production_id=PRODUCTION, decision_id="rev-frame", asset_id=revised, kind="frame", asset_version=1,
                                       reviewer=RHEA, decided_at=datetime.now(UTC), notes="Warmer light on the lamp.")
    produce_raw(settings, Topic.REVIEW_DECISIONS, encode(new_event(decision, source="/tests/reviewer")), key=PRODUCTION.encode())
    tracks = [k for k in assets if LocaleAssetId.parse(k) and LocaleAssetId.parse(k).part in (LocalePart.VOICEOVER_WAV, LocalePart.SUBTITLES_VTT)]
    for asset_id in [*frames[1:], *tracks]:
        approve(settings, assets[asset_id])
    assets = await assets_until(settings, lambda a: a[revised].version == 2, "the revised frame")
    await asyncio.sleep(3)
    assert not any(k.startswith("loc-de-DE-animatic-") for k in assets), "no animatic while a frame waits for its revision's approval"
    approve(settings, assets[revised])
    assets = await assets_until(settings, lambda a: any(k.startswith("loc-de-DE-animatic-") for k in a), "the de-DE animatic")
    (animatic_id,) = [k for k in assets if k.startswith("loc-de-DE-animatic-")]
    animatic = assets[animatic_id]
    assert animatic.media_type == "video/mp4" and animatic.kind == "animatic"
    assert set(frames) <= set(animatic.parent_asset_ids) and script_asset in animatic.parent_asset_ids
    plan = AnimaticPlan.model_validate(animatic.inputs["plan"])
    assert f"{revised}@v2" in [str(c.frame) for c in plan.cuts], "the approved revision, not the version sent back"
    assert any("-voiceover-wav-" in p for p in animatic.parent_asset_ids) and any("-subtitles-vtt-" in p for p in animatic.parent_asset_ids)

    path = tmp_path / "animatic.mp4"
    path.write_bytes(AssetStore(settings).get(animatic.object_key))
    probe = ffprobe(path, "-show_entries", "format=duration:stream=codec_type,codec_name:stream_tags=language,handler_name")
    streams = sorted((s["codec_type"], s["codec_name"]) for s in probe["streams"])
    assert streams == [("audio", "aac"), ("audio", "aac"), ("subtitle", "mov_text"), ("video", "h264")], streams
    untagged = [s for s in probe["streams"] if s["codec_type"] != "video" and not (s.get("tags", {}).get("language")
                                                                                    and s.get("tags", {}).get("handler_name"))]
    assert not untagged, f"every audio and subtitle track has a language and a title: {untagged}"
    cuts = plan.cuts
    assert len(cuts) == shots
    assert abs(float(probe["format"]["duration"]) - cuts[-1].end) < 0.15
    frame_s = 1 / animatic.parameters["frame_rate"]
    keys = [float(f["pts_time"]) for f in ffprobe(path, "-select_streams", "v", "-skip_frame", "nokey", "-show_entries", "frame=pts_time")["frames"]]
    for cut in cuts:
        assert any(abs(k - cut.start) <= frame_s + 1e-3 for k in keys), f"no key frame where {cut.shot_id} starts ({cut.start} s): {keys}"
    boundaries = [c.start for c in cuts[1:]]
    changes = scene_changes(path)
    for at in boundaries:
        assert any(abs(c - at) <= frame_s + 1e-3 for c in changes), f"the picture does not change at {at} s: {changes}"
    for c in changes:
        assert any(abs(c - at) <= frame_s + 1e-3 for at in boundaries), f"the picture changes at {c} s, inside a shot"

    # The same approval again (a reviewer's double click, a new decision id): no second animatic.
    approve(settings, assets[frames[0]], decision_id="ok-again")
    await asyncio.sleep(6)
    assert len(AssetStore(settings).versions(PRODUCTION, "animatic", animatic_id)) == 1

    # Approved, the animatic goes to an editor: the gateway's .otioz, read back by OpenTimelineIO,
    # holds every shot with its approved frame, and its bundled media pass ffprobe.
    approve(settings, animatic)
    async with gateway_stack(settings, tmp_path) as stack, stack.client(stack.token("studio-1", "studio-system")) as client:
        response = await poll(client, f"/assets/{animatic_id}/editorial?format=otioz", lambda r: r.status_code == 200, timeout=60)
    folder = tmp_path / "otioz"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        bundle.extractall(folder)
    timeline = otio.adapters.read_from_file(str(folder / "content.otio"))
    clips = timeline.video_tracks()[0].find_clips()
    assert [c.name for c in clips] == [cut.shot_id for cut in cuts]
    assert [(c.metadata["helix"]["asset_id"], c.metadata["helix"]["version"]) for c in clips] == \
        [(cut.frame.asset_id, cut.frame.version) for cut in cuts]
    assert all(c.metadata["helix"]["approval"]["reviewer"] == "rhea" for c in clips)
    for clip in [*clips, *(c for track in timeline.audio_tracks() for c in track.find_clips())]:
        media = folder / clip.media_reference.target_url
        streams = ffprobe(media, "-show_entries", "stream=codec_type")["streams"]
        assert streams, f"{media.name}: ffprobe finds no stream"


    # Motion: each approved frame version got a clip of its shot (the frame sent back, only its
    # approved second version); approved, the clips make the animatic move, shot by shot.
    approved_frames = {f: assets[f].version for f in frames}
    assets = await assets_until(settings, lambda a: len([k for k in a if k.startswith("clip-")]) >= len(frames), f"{len(frames)} clips")
    clip_ids = sorted(k for k in assets if k.startswith("clip-"))
    assert len(clip_ids) == len(frames), "one clip per approved frame version: approving a frame again made no second clip"
    moved = {(assets[c].inputs["frame"]["asset_id"], assets[c].inputs["frame"]["version"]) for c in clip_ids}
    assert moved == set(approved_frames.items()), "each clip starts from its frame's approved version"
    assert all(assets[c].media_type == "video/mp4" and assets[c].parent_asset_ids[0] == assets[c].inputs["frame"]["asset_id"]
               for c in clip_ids)
    for clip_id in clip_ids:
        approve(settings, assets[clip_id])
    assets = await assets_until(settings, lambda a: a[animatic_id].version >= 2, "the moving de-DE animatic (its next version)")
    moving = assets[animatic_id]
    moving_plan = AnimaticPlan.model_validate(moving.inputs["plan"])
    assert all(c.clip is not None for c in moving_plan.cuts) and moving.parameters["held_shots"] == []
    assert set(clip_ids) <= set(moving.parent_asset_ids)
    path = tmp_path / "moving.mp4"
    path.write_bytes(AssetStore(settings).get(moving.object_key))
    keys = [float(f["pts_time"]) for f in ffprobe(path, "-select_streams", "v", "-skip_frame", "nokey", "-show_entries", "frame=pts_time")["frames"]]
    for cut in moving_plan.cuts:
        assert any(abs(k - cut.start) <= frame_s + 1e-3 for k in keys), f"no key frame where {cut.shot_id} starts ({cut.start} s): {keys}"
    changes = moving_changes(path)
    for cut in moving_plan.cuts:
        inside = [t for t, score in changes if cut.start + frame_s * 1.5 < t < cut.end - frame_s * 1.5 and score > 0.001]
        assert inside, f"the picture never changes inside {cut.shot_id} ({cut.start:.2f}-{cut.end:.2f} s)"


def moving_changes(path: Path) -> list[tuple[float, float]]:
    """Every picture's time and ffmpeg's scene-change score against the one before (0: the same)."""
    movie = str(path).replace("\\", "/").replace(":", "\\:")
    done = subprocess.run(["ffprobe", "-v", "error", "-f", "lavfi", "-i", f"movie={movie},select=gte(scene\\,0),metadata=print",
                           "-show_entries", "frame=pts_time:frame_tags=lavfi.scene_score", "-of", "json"], capture_output=True, text=True, check=True)
    return [(float(f["pts_time"]), float(f.get("tags", {}).get("lavfi.scene_score", 0))) for f in json.loads(done.stdout).get("frames", [])]
