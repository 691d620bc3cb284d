"""Scene plates: a background or establishing image from a prompt, at the size asked for,
in the production's style; with a place of the cast, conditioned on its approved establishing
view (the model's IP-Adapter), so a plate of the pier looks like the pier the frames keep.
Revisions (image-to-image from the parent) are in `revisions.py`."""

from __future__ import annotations

from typing import Any

from helix.events import SceneRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId, ImageFamily
from helix_visual import prompts
from helix_visual.cast import approved_cast
from helix_visual.engine import ImageSpec
from helix_visual.rendering import Renderer


async def render_plate(renderer: Renderer, job: Job[SceneRequested]) -> list[str]:
    req = job.request
    model, facts = renderer.pipeline(req.model)
    text = prompts.with_style(req.prompt, req.style)
    seed = req.seed if req.seed is not None else prompts.stable_seed(req.production_id, req.job_id)
    inputs: dict[str, Any] = {"prompt": text, **({"negative_prompt": req.negative_prompt} if req.negative_prompt else {})}
    parents = list(req.parent_asset_ids)
    references: tuple[bytes, ...] = ()
    if req.place:
        if facts.references is None:
            raise JobRefused(f"model {req.model or 'default'!r} takes no reference images (no IP-Adapter: HELIX_VISUAL_REFERENCE_MODEL)")
        place = (await approved_cast(renderer, req.production_id, set())).place(req.place)
        if place is None:
            raise JobRefused(f"{req.place} has no approved establishing view in the cast (a reference sheet of the place, approved)")
        references = (place.data,)
        inputs["place_reference"] = {"place": req.place, "asset_id": place.asset_id, "version": place.version}
        parents.append(place.asset_id)
    spec = ImageSpec(model=model, prompt=text, negative_prompt=req.negative_prompt, width=req.width, height=req.height,
                     steps=req.steps, guidance_scale=req.guidance_scale, seed=seed, references=references,
                     reference_scale=renderer.settings.visual_reference_scale)
    asset = ImageAssetId(ImageFamily.SCENE, req.job_id)
    return [await renderer.image_asset(job, asset, spec, inputs=inputs, parents=parents)]
