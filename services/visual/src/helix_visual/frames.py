"""Storyboard frames: one image per shot of a writer's storyboard (or one from a prompt),
in the production's style, with a consistent look: frames of the same location and
characters start from the same noise, and an optional reference image anchors them
(image-to-image). Where the model has a layout ControlNet, each shot's frame is conditioned
on its layout sketch (`helix.layout`: the director's blocking, or its subjects spread across
the frame), so who stands where follows the storyboard."""

from __future__ import annotations

from typing import Any

from helix.events import FrameRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.layout import layout
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.layout import sketch_png
from helix_visual.rendering import Renderer


async def render_frames(renderer: Renderer, job: Job[FrameRequested]) -> list[str]:
    req = job.request
    model, facts = renderer.pipeline(req.model)
    reference = await renderer.image(req.production_id, req.reference_asset_id) if req.reference_asset_id else None
    base_seed: int | str = req.seed if req.seed is not None else req.production_id
    laid_out = facts.layout is not None and reference is None  # a reference image anchors a frame instead (image-to-image)
    frames: list[tuple[str, str, int, dict[str, Any], bytes | None]] = []  # (item, prompt, seed, inputs, layout sketch)
    if req.storyboard_asset_id:
        board_version, board = await renderer.storyboard(req.production_id, req.storyboard_asset_id)
        shots = [s for s in board.shots if not req.shot_id or s.shot_id == req.shot_id]
        if req.shot_id and not shots:
            raise JobRefused(f"no shot {req.shot_id} in storyboard {req.storyboard_asset_id}")
        if not shots:
            raise JobRefused(f"storyboard {req.storyboard_asset_id} has no shots")
        for shot in shots:
            text = prompts.shot_prompt(shot, extra=req.prompt, style=req.style)
            inputs: dict[str, Any] = {"prompt": text, "shot": shot.model_dump(mode="json"), "storyboard_version": board_version}
            sketch = sketch_png(layout(shot), req.width, req.height) if laid_out else None
            if sketch is not None:
                inputs["layout"] = {"blocking": shot.staged().model_dump(mode="json"), "by": "director" if shot.blocking else "subjects"}
            frames.append((shot.shot_id, text, prompts.shot_seed(base_seed, shot), inputs, sketch))
    else:
        text = prompts.with_style(req.prompt, req.style)
        seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, req.job_id)
        frames.append((req.shot_id or "1", text, seed, {"prompt": text}, None))
    parents = [p for p in (req.storyboard_asset_id, req.reference_asset_id, *req.parent_asset_ids) if p]

    async def frame(n: int, item: str, text: str, seed: int, inputs: dict[str, Any], sketch: bytes | None) -> str:
        spec = ImageSpec(model=model, prompt=text, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                         steps=req.steps, guidance_scale=req.guidance_scale, seed=seed,
                         init_image=reference.data if reference else None, strength=req.strength,
                         layout_image=sketch, layout_scale=renderer.settings.visual_layout_scale)
        if req.negative_prompt:
            inputs = {**inputs, "negative_prompt": req.negative_prompt}
        if reference:
            inputs = {**inputs, "reference_asset_id": req.reference_asset_id, "reference_version": reference.version}
        return await renderer.image_asset(job, ImageAssetId(ImageFamily.FRAME, req.job_id, item), spec, inputs=inputs,
                                          parents=list(dict.fromkeys(parents)), position=(n, len(frames)))

    # All frames at once: the engine batches them (with every other job's) into as few pipeline calls as fit.
    return await job.gather(*(frame(n, *f) for n, f in enumerate(frames)))
