"""Scene plates: a background or establishing image from a prompt, at the size asked for,
in the production's style. Revisions (image-to-image from the parent) are in `revisions.py`."""

from __future__ import annotations

from helix.events import SceneRequested
from helix.generation import Job
from helix.generation.ids import ImageAssetId, ImageFamily
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.rendering import Renderer


async def render_plate(renderer: Renderer, job: Job[SceneRequested]) -> list[str]:
    req = job.request
    model, _ = renderer.pipeline(req.model)
    text = prompts.with_style(req.prompt, req.style)
    seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, req.job_id)
    spec = ImageSpec(model=model, prompt=text, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                     steps=req.steps, guidance_scale=req.guidance_scale, seed=seed)
    inputs = {"prompt": text, **({"negative_prompt": req.negative_prompt} if req.negative_prompt else {})}
    asset = ImageAssetId(ImageFamily.SCENE, req.job_id)
    return [await renderer.image_asset(job, asset, spec, inputs=inputs, parents=list(req.parent_asset_ids))]
