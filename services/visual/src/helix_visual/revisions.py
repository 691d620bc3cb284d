"""A reviewer asked for changes to a frame, scene plate or texture (`ImageRevisionRequested`,
which the visual service makes of itself from the decision: `reactions.py`).

The image is re-rendered image-to-image from the version the reviewer saw, with their notes
added to its prompt, the same model, size, seed and tiling: a new version of the same asset
whose parent is the old one. When the reviewer marked regions, only those change: the
re-render is pasted into the version they saw inside the regions (softened at the edges),
and each region's note joins the prompt.
"""

from __future__ import annotations

from helix.events import ImageRevisionRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import ImageAssetId
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.images import decode, paste_regions
from helix_visual.rendering import RenderedWith, Renderer
from helix_visual.tiling import seam_check


async def revise_image(renderer: Renderer, job: Job[ImageRevisionRequested]) -> list[str]:
    req = job.request
    asset = ImageAssetId.parse(req.asset_id)
    if asset is None:
        raise JobRefused(f"{req.asset_id} is not one of the visual service's images (frame-, scene-, texture-)")
    parent = await renderer.image(req.production_id, req.asset_id, req.asset_version)
    shown = RenderedWith.model_validate(parent.provenance.parameters)
    notes = "; ".join([req.notes, *(r.note for r in req.regions if r.note)])
    prompt = prompts.revision_prompt(shown.prompt or str(parent.provenance.inputs.get("prompt", "")), notes)
    seen = decode(parent.data)  # the picture as the reviewer saw it
    width, height = seen.size
    boxes = [r.box(width, height) for r in req.regions]
    spec = ImageSpec(model=shown.model_name, prompt=prompt, width=width, height=height, steps=shown.steps,
                     guidance_scale=shown.guidance_scale, seed=int(parent.provenance.seed or 0), tiling=shown.tiling,
                     init_image=parent.data, strength=renderer.settings.visual_revision_strength)
    inputs = {"prompt": prompt, "notes": req.notes, "revises": {"asset_id": req.asset_id, "version": parent.version},
              **({"regions": [r.model_dump() for r in req.regions]} if boxes else {})}
    return [await renderer.image_asset(job, asset, spec, inputs=inputs, parents=[req.asset_id], revises_version=parent.version,
                                       finish=(lambda image: paste_regions(seen, image, boxes)) if boxes else None,
                                       extra={"regions": len(boxes)} if boxes else None,
                                       check=seam_check(shown.tiling) if shown.tiling != "none" else None)]
