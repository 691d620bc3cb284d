"""The animatic editor on the core's in-memory store and a SQLite record of approvals: the plan
(every input approved, which versions, where each shot sits on the timeline, scenes without
dialogue named), what is not ready said plainly, and the cut itself by ffmpeg, checked with
ffprobe: picture, both audio tracks, subtitles, key frames and each shot's frame in its place."""

from __future__ import annotations

import json
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helix.documents import AnimaticCut, VersionRef
from helix.events import Actor, AnimaticRequested, AnimaticSummary, AssetKind, JobCompleted, JobFailed, ModelRef
from helix.generation import Provenance
from helix.generation.ids import LocaleAssetId, LocalePart
from helix_localize.animatic import Editor, NotReady, animatic_asset, ffmpeg_command, plan_digest

from .conftest import (
    DUB,
    LOCALIZATION,
    PRODUCTION,
    SCRIPT,
    SOURCE_VOICE,
    SUBTITLES,
    Desk,
    animatic_inputs,
    frame_id,
    png,
)

ANIMATIC = str(LocaleAssetId("de-DE", LocalePart.ANIMATIC, LOCALIZATION))


def editor(desk: Desk) -> Editor:
    return Editor(desk.documents, desk.approvals)


async def plan_of(desk: Desk) -> Any:
    return await editor(desk).plan(PRODUCTION, LOCALIZATION, "de-DE")


def cut_request(job_id: str = "anim-1", **fields: Any) -> AnimaticRequested:
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "requested_by": Actor(subject="localize", kind="service"),
                              "localization_job_id": LOCALIZATION, "locale": "de-DE", "width": 64, "height": 64, "frame_rate": 12}
    return AnimaticRequested(**{**values, **fields})


async def test_the_plan_places_each_shot_in_its_scenes_span_of_the_timeline(desk: Desk) -> None:
    await animatic_inputs(desk)
    plan = await plan_of(desk)
    assert plan.script == VersionRef(asset_id=SCRIPT, version=1) and plan.source_locale == "en"
    assert (plan.dub, plan.subtitles, plan.source_voice) == tuple(VersionRef(asset_id=a, version=1) for a in (DUB, SUBTITLES, SOURCE_VOICE))
    # s1 runs from 0 to s3's first line (2.2 s), its shots 2:1; s3 to its last cue (3.1 s, past its last line) and a breath.
    expected = [("s1", "s1-shot1", 0.0, 2.2 * 2 / 3), ("s1", "s1-shot2", 2.2 * 2 / 3, 2.2), ("s3", "s3-shot1", 2.2, 3.6)]
    assert [(c.scene_id, c.shot_id, c.frame.asset_id) for c in plan.cuts] == [(s, shot, frame_id(shot)) for s, shot, _, _ in expected]
    assert [t for c in plan.cuts for t in (c.start, c.end)] == pytest.approx([t for *_, start, end in expected for t in (start, end)])
    assert plan.duration == pytest.approx(3.6) and plan.off_timeline == ["s2"], "the scene with no dialogue is named, not shown"
    assert plan_digest(plan) == plan_digest(await plan_of(desk)), "the same approved inputs, the same plan"


async def test_the_frame_approved_last_for_a_shot_is_the_one_used(desk: Desk) -> None:
    inputs = await animatic_inputs(desk)
    before = await plan_of(desk)
    revised = inputs.frames["s1-shot2"]
    assert desk.put(AssetKind.FRAME, revised, png((10, 200, 10)), media_type="image/png") == 2
    await desk.approve(revised, AssetKind.FRAME, 2, at=datetime.now(UTC) + timedelta(minutes=1))
    after = await plan_of(desk)
    assert after.cuts[1].frame == VersionRef(asset_id=revised, version=2) and after.cuts[0] == before.cuts[0]
    assert plan_digest(after) != plan_digest(before), "a new approved frame is a new animatic"


@pytest.mark.parametrize(("skipped", "reason"), [
    ({DUB}, f"the dubbed track {DUB} is not approved"),
    ({SUBTITLES}, f"the subtitles {SUBTITLES} is not approved"),
    ({SOURCE_VOICE}, f"the source voice-over {SOURCE_VOICE} is not approved"),
    ({SCRIPT}, f"script {SCRIPT} is not approved"),
    ({"script-earn-storyboard-s3"}, "storyboard script-earn-storyboard-s3 is not approved"),
    ({frame_id("s1-shot2")}, "shot s1-shot2 of script-earn-storyboard-s1 has no approved frame"),
])
async def test_anything_not_yet_approved_makes_the_plan_not_ready_and_says_what(desk: Desk, skipped: set[str], reason: str) -> None:
    inputs = await animatic_inputs(desk, approve=False)
    kinds = {SCRIPT: AssetKind.SCRIPT, DUB: AssetKind.VOICEOVER, SOURCE_VOICE: AssetKind.VOICEOVER, SUBTITLES: AssetKind.SUBTITLES,
             **{b: AssetKind.STORYBOARD for b in inputs.boards.values()}, **{f: AssetKind.FRAME for f in inputs.frames.values()}}
    for asset_id, kind in kinds.items():
        if asset_id not in skipped:
            await desk.approve(asset_id, kind)
    with pytest.raises(NotReady, match=reason):
        await plan_of(desk)


async def test_a_localization_without_its_translation_or_timeline_is_not_ready(desk: Desk) -> None:
    await animatic_inputs(desk)
    await desk.approve(str(LocaleAssetId("de-DE", LocalePart.VOICEOVER_WAV, "loc-9")), AssetKind.VOICEOVER)
    with pytest.raises(NotReady, match="localization loc-9 has no de-DE translation of an assembled script"):
        await editor(desk).plan(PRODUCTION, "loc-9", "de-DE")
    desk.store.objects = {k: v for k, v in desk.store.objects.items() if "/loc-en-timeline-" not in k}  # the timeline gone
    with pytest.raises(NotReady, match=f"no timeline for localization {LOCALIZATION}"):
        await plan_of(desk)


def test_the_ffmpeg_command_holds_each_frame_for_its_cut_and_keys_every_shot(tmp_path: Path) -> None:
    from helix.documents import AnimaticPlan

    cuts = [AnimaticCut(scene_id="s1", shot_id=f"s1-shot{n}", frame=VersionRef(asset_id=f"f{n}", version=1), start=s, end=e)
            for n, (s, e) in enumerate([(0.0, 1.25), (1.25, 3.0)], start=1)]
    plan = AnimaticPlan(production_id=PRODUCTION, localization_job=LOCALIZATION, locale="de-DE", source_locale="en", cuts=cuts,
                        script=VersionRef(asset_id=SCRIPT, version=1), dub=VersionRef(asset_id=DUB, version=1), duration=3.0)
    shots = [[(tmp_path / "shot0000.png", 1.25)], [(tmp_path / "shot0001.png", 1.75)]]
    command = ffmpeg_command(plan, cut_request(), {"shots": shots, "dub": tmp_path / "dub.wav", "subtitles": None, "source_voice": None},
                             tmp_path / "animatic.mp4")
    listing = (tmp_path / "frames.ffconcat").read_text().splitlines()
    assert listing == ["ffconcat version 1.0", "file 'shot0000.png'", "duration 1.250000", "file 'shot0001.png'", "duration 1.750000",
                       "file 'shot0001.png'"]
    assert command[command.index("-force_key_frames") + 1] == "0.000,1.250" and command[command.index("-t") + 1] == "3.000"
    assert command.count("-map") == 2 and "mov_text" not in command, "no source voice, no subtitles: picture and dub only"
    assert command[command.index("-disposition:a:0") + 1] == "default" and command[-1] == str(tmp_path / "animatic.mp4")


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def colour_at(path: Path, seconds: float) -> np.ndarray:
    """The mean colour of the middle of the picture at a time (RGB)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(64, 64, 3)[24:40, 16:48].reshape(-1, 3).mean(axis=0)


async def test_the_cut_is_an_mp4_with_every_shot_in_place_both_tracks_and_the_subtitles(desk: Desk, tmp_path: Path) -> None:
    await animatic_inputs(desk)
    plan = await plan_of(desk)
    done = await desk.run(cut_request(), editor(desk).cut)
    assert isinstance(done, JobCompleted) and done.asset_ids == [ANIMATIC] == [str(animatic_asset(plan))]
    event = desk.announced(ANIMATIC)
    assert event.media_type == "video/mp4" and event.model is not None and event.model.id == "ffmpeg"
    assert event.parent_asset_ids == [SCRIPT, *(frame_id(s) for s in ("s1-shot1", "s1-shot2", "s3-shot1")), DUB, SUBTITLES, SOURCE_VOICE]
    assert event.typed_summary() == AnimaticSummary(locale="de-DE", shots=3, seconds=3.6, subtitles_asset_id=SUBTITLES, subtitles_version=1)
    assert event.parameters["audio_tracks"] == ["de-DE", "en"] and event.parameters["plan"] == plan_digest(plan)
    assert event.inputs["plan"] == plan.model_dump(mode="json")

    video = tmp_path / "animatic.mp4"
    video.write_bytes(desk.latest(AssetKind.ANIMATIC, ANIMATIC))
    probed = ffprobe(video, "-show_streams", "-show_format")
    streams = [(s["codec_type"], s["codec_name"], s["disposition"]["default"]) for s in probed["streams"]]
    assert streams[0][:2] == ("video", "h264") and (probed["streams"][0]["width"], probed["streams"][0]["height"]) == (64, 64)
    assert streams[1:3] == [("audio", "aac", 1), ("audio", "aac", 0)], "the dub first and the default, then the source voice"
    assert streams[3][:2] == ("subtitle", "mov_text") and len(streams) == 4
    tags = [(s["tags"].get("language"), s["tags"].get("handler_name")) for s in probed["streams"][1:]]
    assert tags == [("deu", "de-DE dub"), ("eng", "en original"), ("deu", "de-DE subtitles")], \
        "every audio and subtitle track names its language (ISO 639-2, which MP4 keeps) and what it is"
    assert float(probed["format"]["duration"]) == pytest.approx(3.6, abs=0.15)
    keys = [float(f["pts_time"]) for f in ffprobe(video, "-select_streams", "v", "-skip_frame", "nokey", "-show_frames")["frames"]]
    assert all(any(abs(k - c.start) <= 1 / 12 + 1e-6 for k in keys) for c in plan.cuts), (keys, [c.start for c in plan.cuts])
    for at, colour in ((0.7, (0, 0, 200)), (1.9, (0, 60, 200)), (3.0, (80, 0, 200))):
        assert colour_at(video, at) == pytest.approx(colour, abs=12), f"the frame of the shot on screen at {at} s"


async def test_a_cut_resumed_reuses_its_animatic_and_a_plan_not_ready_is_refused(desk: Desk) -> None:
    await animatic_inputs(desk)
    first = await desk.run(cut_request(), editor(desk).cut)
    puts = desk.store.puts
    again = await desk.run(cut_request(), editor(desk).cut)
    assert isinstance(first, JobCompleted) and isinstance(again, JobCompleted) and desk.store.puts == puts
    refused = await desk.run(cut_request("anim-2", locale="es-ES"), editor(desk).cut)
    assert isinstance(refused, JobFailed) and not refused.retriable
    assert refused.error == f"the dubbed track {LocaleAssetId('es-ES', LocalePart.VOICEOVER_WAV, LOCALIZATION)} is not approved"


def clip_of(tmp_path: Path, colours: list[tuple[int, int, int]], fps: int) -> bytes:
    """An MP4 of one solid colour per picture, as the visual service encodes clips."""
    from helix import ffmpeg

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    for n, colour in enumerate(colours, start=1):
        (folder / f"f{n:04d}.png").write_bytes(png(colour, (64, 48)))
    ffmpeg.encode_frames(folder, "f%04d.png", fps, folder / "clip.mp4")
    return (folder / "clip.mp4").read_bytes()


async def approved_clip(desk: Desk, tmp_path: Path, shot: str, colours: list[tuple[int, int, int]], *, frame_version: int = 1) -> str:
    clip = f"clip-clp-1-{shot}"
    made = Provenance(job_id="clp-1", model=ModelRef(id="tiny-ltx", revision="sha256:0"),
                      inputs={"frame": {"asset_id": frame_id(shot), "version": frame_version}}, parameters={"fps": 4},
                      generated_by=Actor(subject="visual", kind="service"), generated_at=datetime.now(UTC))
    version = desk.put(AssetKind.CLIP, clip, clip_of(tmp_path, colours, 4), media_type="video/mp4", provenance=made)
    await desk.approve(clip, AssetKind.CLIP, version)
    return clip


RED, GREEN = (200, 0, 0), (0, 200, 0)


async def test_a_shot_with_an_approved_clip_of_its_frame_moves_and_the_others_hold(desk: Desk, tmp_path: Path) -> None:
    await animatic_inputs(desk)
    long_clip = await approved_clip(desk, tmp_path, "s1-shot2", [RED, GREEN, RED, GREEN])  # 1 s: longer than its shot
    short_clip = await approved_clip(desk, tmp_path, "s3-shot1", [RED, GREEN])  # 0.5 s: shorter than its shot
    await approved_clip(desk, tmp_path, "s1-shot1", [GREEN, RED], frame_version=2)  # of a frame version the shot does not use
    plan = await plan_of(desk)
    assert [(c.shot_id, c.clip) for c in plan.cuts] == [("s1-shot1", None), ("s1-shot2", VersionRef(asset_id=long_clip, version=1)),
                                                        ("s3-shot1", VersionRef(asset_id=short_clip, version=1))]
    done = await desk.run(cut_request(), editor(desk).cut)
    assert isinstance(done, JobCompleted)
    event = desk.announced(ANIMATIC)
    assert event.parameters["moving_shots"] == ["s1-shot2", "s3-shot1"] and event.parameters["held_shots"] == ["s1-shot1"]
    summary = event.typed_summary()
    assert isinstance(summary, AnimaticSummary) and summary.moving_shots == 2
    assert {long_clip, short_clip} <= set(event.parent_asset_ids)
    video = tmp_path / "animatic.mp4"
    video.write_bytes(desk.latest(AssetKind.ANIMATIC, ANIMATIC))
    held, moving, short = plan.cuts
    assert colour_at(video, held.start + 0.3) == pytest.approx((0, 0, 200), abs=12), "a shot without a clip holds its frame"
    assert colour_at(video, held.end - 0.1) == pytest.approx((0, 0, 200), abs=12)
    seen = [colour_at(video, moving.start + 0.1 + 0.25 * k) for k in range(3)]  # the shot is 0.73 s: three of the clip's pictures
    for got, want in zip(seen, (RED, GREEN, RED), strict=True):
        assert got == pytest.approx(want, abs=20), "the picture changes within the shot, picture by picture at the clip's rate"
    assert colour_at(video, short.start + 0.1) == pytest.approx(RED, abs=20), "the clip longer than its shot is cut at the next shot"
    assert colour_at(video, short.end - 0.1) == pytest.approx(GREEN, abs=20), "a clip shorter than its shot holds its last picture"
    keys = [float(f["pts_time"]) for f in ffprobe(video, "-select_streams", "v", "-skip_frame", "nokey", "-show_frames")["frames"]]
    assert all(any(abs(k - c.start) <= 1 / 12 + 1e-6 for k in keys) for c in plan.cuts), "a cut at every shot start"
