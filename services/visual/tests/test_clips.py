"""Clips: a shot in motion from its approved frame (the tiny LTX-Video image-to-video pipeline),
as long as the shot at the requested rate, its camera move and action in the prompt, stored as
an H.264 MP4 whose parent is the frame; a frame nobody approved, or one replaced since, is
refused with the reason; a clip sent back is revised as a new version of itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helix.events import AssetKind, ClipRequested, FrameRequested, JobCompleted, JobFailed
from helix.events.examples import example
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.story import Camera
from helix_visual.clips import CAMERA_WORDS, clip_prompt, make_clip
from helix_visual.frames import render_frames
from helix_visual.motion import Motion
from helix_visual.settings import VisualSettings

from .conftest import PRODUCTION, Studio, image_request, shot

BOARD = "script-j1-storyboard-s1"
FRAME = str(ImageAssetId(ImageFamily.FRAME, "job-1", "s1-shot1"))
pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="clips are encoded with ffmpeg (apt-get install ffmpeg)")


@pytest.fixture(scope="session")
def tiny_ltx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helix_dev.models.tiny_video import build_tiny_ltx_i2v

    return build_tiny_ltx_i2v(tmp_path_factory.mktemp("tiny-ltx-i2v"))


@pytest.fixture
def motion(tiny_ltx_dir: Path) -> Motion:
    return Motion(VisualSettings(visual_video_model=str(tiny_ltx_dir)))


def clip_request(job_id: str, **fields: object) -> ClipRequested:
    values: dict[str, object] = {"production_id": PRODUCTION, "job_id": job_id, "frame_asset_id": FRAME, "prompt": "", "fps": 8,
                                 "width": 64, "height": 64, "steps": 2}
    return example(ClipRequested, **{**values, **fields})  # type: ignore[return-value]


async def approved_frame(studio: Studio, *, camera: Camera = Camera.PAN) -> None:
    studio.put_storyboard(BOARD, [shot("s1-shot1").model_copy(update={"camera": camera, "duration_s": 2})])
    await studio.approve(BOARD, AssetKind.STORYBOARD)
    done = await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD, width=64, height=64), render_frames)
    assert isinstance(done, JobCompleted) and done.asset_ids == [FRAME]
    await studio.approve(FRAME, AssetKind.FRAME)


def probe(data: bytes, tmp_path: Path) -> dict:
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


async def test_an_approved_frame_becomes_a_clip_of_its_shot_that_moves(studio: Studio, motion: Motion, tmp_path: Path) -> None:
    await approved_frame(studio)
    done = await studio.run(clip_request("clip-1"), lambda renderer, job: make_clip(renderer, motion, job))
    clip = str(ImageAssetId(ImageFamily.CLIP, "clip-1", "s1-shot1"))
    assert isinstance(done, JobCompleted) and done.asset_ids == [clip]
    (event,) = studio.generated(clip)
    assert event.kind is AssetKind.CLIP and event.media_type == "video/mp4" and event.parent_asset_ids == [FRAME]
    assert event.inputs["frame"] == {"asset_id": FRAME, "version": 1} and event.inputs["shot"]["shot_id"] == "s1-shot1"
    assert event.inputs["prompt"] == clip_prompt(shot("s1-shot1").model_copy(update={"camera": Camera.PAN}), "")
    assert CAMERA_WORDS[Camera.PAN] in event.parameters["prompt"] and "trims the wick" in event.parameters["prompt"]
    assert event.parameters["frames"] == 17, "2 s at 8 fps, the pipeline's 8k+1 rule: 17 pictures"
    assert event.summary is not None and event.summary.kind == "clip" and event.summary.frame_version == 1
    assert event.cost is not None and event.cost.model_seconds > 0 and event.cost.device == "cpu", "the ledger counts its model time"
    stream = probe(studio.latest_bytes(clip), tmp_path)
    assert (stream["codec_name"], stream["width"], stream["height"], int(stream["nb_read_frames"])) == ("h264", 64, 64, 17)
    assert stream["r_frame_rate"] == "8/1"
    pictures = np.stack([np.asarray(image, dtype=np.int16) for image in motion_frames(studio.latest_bytes(clip), tmp_path)])
    assert np.abs(np.diff(pictures, axis=0)).mean() > 1.0, "the picture changes within the clip"


def motion_frames(data: bytes, tmp_path: Path) -> list:
    from PIL import Image

    from helix import ffmpeg

    (tmp_path / "c.mp4").write_bytes(data)
    return [Image.open(p).convert("RGB") for p in ffmpeg.decode_frames(tmp_path / "c.mp4", tmp_path, "p")]


async def test_the_same_frame_moves_the_same_way(studio: Studio, motion: Motion) -> None:
    await approved_frame(studio)
    await studio.run(clip_request("clip-1"), lambda renderer, job: make_clip(renderer, motion, job))
    await studio.run(clip_request("clip-2"), lambda renderer, job: make_clip(renderer, motion, job))
    one, two = (studio.generated(str(ImageAssetId(ImageFamily.CLIP, j, "s1-shot1")))[0] for j in ("clip-1", "clip-2"))
    assert one.seed == two.seed and one.parameters["prompt"] == two.parameters["prompt"]


async def test_a_frame_nobody_approved_or_a_replaced_version_is_refused(studio: Studio, motion: Motion) -> None:
    studio.put_storyboard(BOARD, [shot("s1-shot1")])
    await studio.approve(BOARD, AssetKind.STORYBOARD)
    await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD, width=64, height=64), render_frames)
    failed = await studio.run(clip_request("clip-1"), lambda renderer, job: make_clip(renderer, motion, job))
    assert isinstance(failed, JobFailed) and "is not approved" in failed.error
    await studio.approve(FRAME, AssetKind.FRAME)
    stale = await studio.run(clip_request("clip-2", frame_version=2), lambda renderer, job: make_clip(renderer, motion, job))
    assert isinstance(stale, JobFailed) and "not its newest approved one (v1)" in stale.error
    scene = await studio.run(clip_request("clip-3", frame_asset_id="scene-job-9"), lambda renderer, job: make_clip(renderer, motion, job))
    assert isinstance(scene, JobFailed) and "not a storyboard frame" in scene.error


async def test_a_clip_sent_back_is_a_new_version_of_itself_with_the_notes(studio: Studio, motion: Motion) -> None:
    await approved_frame(studio)
    await studio.run(clip_request("clip-1"), lambda renderer, job: make_clip(renderer, motion, job))
    clip = str(ImageAssetId(ImageFamily.CLIP, "clip-1", "s1-shot1"))
    revised = await studio.run(clip_request("rev-1", frame_asset_id=None, revises={"asset_id": clip, "version": 1}, prompt="slower",
                                            timecodes=[{"start_s": 0.5, "end_s": 1.0, "note": "hold the lamp"}]),
                               lambda renderer, job: make_clip(renderer, motion, job))
    assert isinstance(revised, JobCompleted) and revised.asset_ids == [clip]
    first, second = studio.generated(clip)
    assert (second.version, second.revises_version) == (2, 1) and second.inputs["notes"] == "slower"
    assert second.parameters["prompt"].endswith("slower, at 0:00.5–0:01.0: hold the lamp"), "the notes at their moments"
    assert second.inputs["frame"] == first.inputs["frame"] and second.inputs["timecodes"][0]["note"] == "hold the lamp"


async def test_with_motion_off_a_clip_is_refused_with_the_reason(studio: Studio) -> None:
    await approved_frame(studio)
    off = Motion(VisualSettings(visual_video_model="none"))
    failed = await studio.run(clip_request("clip-1"), lambda renderer, job: make_clip(renderer, off, job))
    assert isinstance(failed, JobFailed) and "HELIX_VISUAL_VIDEO_MODEL=none" in failed.error
