"""A shot in motion (`ClipRequested`): an image-to-video clip from the shot's approved frame.

    the approved frame version, and its shot (camera move, action, length: the frame's first
    version records the storyboard shot it draws)
      → the video pipeline (`motion.Motion`: LTX-Video image-to-video by default, the tiny
        random one Helix builds unless HELIX_VISUAL_VIDEO_MODEL names a real one), starting from
        that frame, the camera move and the action in the prompt
      → an H.264 MP4 (ffmpeg), stored as `clip-<job>-<shot>`: the frame its parent, the frame
        version and the shot in its provenance, signed with Content Credentials like every
        media asset, then reviewed like any other.

A clip is as long as the shot (or `seconds`), at `fps`; the pipeline's own frame-count rule
rounds it (LTX: 8k+1 frames). Same frame, same prompt and seed: the same clip.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from helix import ffmpeg
from helix.documents import VersionRef
from helix.events import AssetCost, ClipRequested, TimeNote
from helix.events.data import ClipSummary
from helix.generation import GeneratedAsset, Job, JobRefused
from helix.generation.ids import CLIP_FRAME_INPUT, ImageAssetId, ImageFamily
from helix.generation.reader import NotStored
from helix.story import Camera, Shot
from helix_visual import prompts
from helix_visual.images import decode
from helix_visual.motion import ClipSpec, Motion
from helix_visual.rendering import Renderer

# How each camera move reads in a video model's prompt.
CAMERA_WORDS: dict[Camera, str] = {
    Camera.STATIC: "static camera, locked-off shot",
    Camera.PAN: "the camera pans slowly across the scene",
    Camera.TILT: "the camera tilts slowly",
    Camera.DOLLY: "the camera dollies forward smoothly",
    Camera.HANDHELD: "handheld camera, slight natural shake",
    Camera.CRANE: "the camera cranes up over the scene",
}


def clip_prompt(shot: Shot | None, extra: str, timecodes: list[TimeNote] | None = None) -> str:
    """The shot's action and camera move, then what the request adds, then the reviewer's
    notes at their moments (`at 0:01.5–0:02.0: slower`)."""
    parts = [shot.action, CAMERA_WORDS[shot.camera]] if shot is not None else []
    timed = [f"at {t.label()}: {t.note}" for t in timecodes or []]
    return ", ".join(p for p in [*parts, extra.strip(), *timed] if p) or "subtle natural motion"


async def make_clip(renderer: Renderer, motion: Motion, job: Job[ClipRequested]) -> list[str]:
    req = job.request
    frame_asset_id, asset, revises_version = await _source(renderer, req)
    frame_id = ImageAssetId.parse(frame_asset_id)
    if frame_id is None or frame_id.family is not ImageFamily.FRAME:
        raise JobRefused(f"{frame_asset_id} is not a storyboard frame (frame-<job>-<shot>): clips start from frames")
    asset = asset or ImageAssetId(ImageFamily.CLIP, req.job_id, frame_id.item)
    if await job.resumed(asset.kind, str(asset)) is not None:
        return [str(asset)]
    version = await renderer.documents.approved_version(req.production_id, frame_id)
    if version is None:
        raise JobRefused(f"frame {frame_asset_id} is not approved: a clip moves only a frame a person approved")
    if req.frame_version is not None and req.frame_version != version:
        raise JobRefused(f"version {req.frame_version} of frame {frame_asset_id} is not its newest approved one (v{version})")
    frame = await renderer.image(req.production_id, frame_asset_id, version)
    shot = await _shot_of(renderer, req.production_id, frame_id)
    seconds = req.seconds or (float(shot.duration_s) if shot is not None else 2.0)
    prompt = clip_prompt(shot, req.prompt, req.timecodes)
    seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, f"{frame_asset_id}@{version}")
    spec = ClipSpec(image=decode(frame.data), prompt=prompt, seconds=seconds, fps=req.fps, width=req.width, height=req.height,
                    steps=req.steps, seed=seed)
    await job.progress(f"{asset}: {seconds:g} s at {req.fps} fps from {frame_asset_id} v{version}", 0.1)
    result = await motion.animate(spec)
    await job.progress(f"{asset}: {len(result.frames)} frames, encoding", 0.8)
    data = await asyncio.to_thread(_encode, result.frames, result.fps)
    loaded = result.model
    parameters: dict[str, Any] = {
        "model": loaded.id, "model_revision": loaded.revision, "pipeline": result.pipeline, "prompt": prompt, "seed": seed,
        "steps": req.steps, "fps": result.fps, "frames": len(result.frames), "seconds": round(len(result.frames) / result.fps, 3),
        "width": result.width, "height": result.height, "frame": {"asset_id": frame_asset_id, "version": version},
        "device": result.device, "memory": result.memory, "video": "h264", "ffmpeg": await asyncio.to_thread(ffmpeg.version),
    }
    await job.store(GeneratedAsset(
        kind=asset.kind, asset_id=str(asset), data=data, media_type="video/mp4", ext="mp4", model=loaded,
        inputs={"prompt": prompt, CLIP_FRAME_INPUT: VersionRef(asset_id=frame_asset_id, version=version).model_dump(mode="json"),
                **({"revises": req.revises.model_dump(mode="json"), "notes": req.prompt} if req.revises else {}),
                **({"timecodes": [t.model_dump(mode="json") for t in req.timecodes]} if req.timecodes else {}),
                **({"shot": shot.model_dump(mode="json")} if shot is not None else {})},
        parameters=parameters, seed=seed,
        cost=AssetCost(model_seconds=round(result.seconds, 6), gpu_seconds=round(result.seconds, 6) if result.device.startswith("cuda") else 0.0,
                       device=result.device),
        parents=list(dict.fromkeys([frame_asset_id, *req.parent_asset_ids])), revises_version=revises_version,
        summary=ClipSummary(shot_id=frame_id.item or "", frame_asset_id=frame_asset_id, frame_version=version,
                            seconds=parameters["seconds"], fps=result.fps, frames=len(result.frames))))
    return [str(asset)]


async def _source(renderer: Renderer, req: ClipRequested) -> tuple[str, ImageAssetId | None, int | None]:
    """The frame a clip starts from; for a revision, also the clip it is a new version of, and
    which version the reviewer sent back (its provenance names its frame)."""
    if req.revises is None:
        assert req.frame_asset_id is not None  # the request validates one of the two
        return req.frame_asset_id, None, None
    clip = ImageAssetId.parse(req.revises.asset_id)
    if clip is None or clip.family is not ImageFamily.CLIP:
        raise JobRefused(f"{req.revises.asset_id} is not a clip (clip-<job>-<shot>)")
    try:
        sent_back = await renderer.documents.version(req.production_id, clip, req.revises.version)
    except NotStored:
        raise JobRefused(f"no version {req.revises.version} of clip {req.revises.asset_id}") from None
    moved = VersionRef.model_validate(sent_back.provenance.inputs.get(CLIP_FRAME_INPUT) or {})
    return moved.asset_id, clip, req.revises.version


async def _shot_of(renderer: Renderer, production_id: str, frame: ImageAssetId) -> Shot | None:
    """The storyboard shot a frame draws: its first version records it (revisions keep the shot)."""
    first = await renderer.documents.version(production_id, frame, 1)
    shot = first.provenance.inputs.get("shot")
    return Shot.model_validate(shot) if isinstance(shot, dict) else None


def _encode(frames: list[Any], fps: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="helix-clip-") as folder:
        work = Path(folder)
        for n, image in enumerate(frames, start=1):
            image.save(work / f"f{n:04d}.png")
        ffmpeg.encode_frames(work, "f%04d.png", fps, work / "clip.mp4")
        return (work / "clip.mp4").read_bytes()
