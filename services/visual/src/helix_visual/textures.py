"""Textures: tileable in x, y or both (circular padding in the UNet and the VAE, `tiling.py`),
and checked: the seam ratios (wrapped edge vs neighbouring interior columns/rows) are
measured on the rendered image and recorded with it; a texture that does not tile on an
axis it was asked to tile on fails its job rather than reach a reviewer as seamless."""

from __future__ import annotations

from helix.events import TextureRequested
from helix.generation import Job
from helix.generation.ids import ImageAssetId, ImageFamily
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.rendering import Renderer
from helix_visual.tiling import seam_check


async def render_texture(renderer: Renderer, job: Job[TextureRequested]) -> list[str]:
    req = job.request
    model, _ = renderer.pipeline(req.model)
    text = prompts.with_style(req.prompt, req.style)
    seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, req.job_id)
    axes = req.axes()
    spec = ImageSpec(model=model, prompt=text, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                     steps=req.steps, guidance_scale=req.guidance_scale, seed=seed, tiling=axes)
    asset = ImageAssetId(ImageFamily.TEXTURE, req.job_id)
    inputs = {"prompt": text, "tiling": axes, **({"negative_prompt": req.negative_prompt} if req.negative_prompt else {})}
    return [await renderer.image_asset(job, asset, spec, inputs=inputs, parents=list(req.parent_asset_ids),
                                        check=seam_check(axes))]
