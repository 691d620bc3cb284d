"""Storyboard frames drawn again as they were drawn (`FramesRedrawRequested`): the same shot,
prompt, seed, size, model and layout, with the reference each character has approved now. A
new version of each frame, whose parent is the version it replaces: what a stale frame needs
once a reference it used is revised and approved (the production tree lists those)."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from helix.events import FramesRedrawRequested, FrameSummary
from helix.generation import Job, JobRefused
from helix.generation.assets import Provenance
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.story import Shot
from helix_visual.engine import ImageSpec
from helix_visual.frames import shot_frame
from helix_visual.images import decode
from helix_visual.rendering import RenderedWith, Renderer


async def redraw_frames(renderer: Renderer, job: Job[FramesRedrawRequested]) -> list[str]:
    req = job.request
    return await job.gather(*(_redraw(renderer, job, asset_id, n, len(req.frame_asset_ids)) for n, asset_id in enumerate(req.frame_asset_ids)))


async def _redraw(renderer: Renderer, job: Job[FramesRedrawRequested], asset_id: str, n: int, count: int) -> str:
    req = job.request
    asset = ImageAssetId.parse(asset_id)
    if asset is None or asset.family is not ImageFamily.FRAME:
        raise JobRefused(f"{asset_id} is not a storyboard frame (frame-<job>-<shot>)")
    parent = await renderer.image(req.production_id, asset_id)
    summary = parent.provenance.summary if isinstance(parent.provenance, Provenance) else None  # an upload has none
    try:
        shot = Shot.model_validate(parent.provenance.inputs.get("shot"))
    except ValidationError:
        raise JobRefused(f"{asset_id} v{parent.version} was not drawn from a storyboard shot: there is no shot to draw again") from None
    if not isinstance(summary, FrameSummary):
        raise JobRefused(f"{asset_id} v{parent.version} records no frame summary (drawn before frames kept their references)")
    names = list(summary.references)
    reads = await asyncio.gather(*(renderer.approved_image(req.production_id, summary.references[c].asset_id, what=f"the reference of {c}")
                                   for c in names))
    place = (await renderer.approved_image(req.production_id, summary.place.asset_id, what=f"the reference of {shot.location}")
             if summary.place else None)
    shown = RenderedWith.model_validate(parent.provenance.parameters)
    width, height = decode(parent.data).size
    _, facts = renderer.pipeline(shown.model_name)
    if (names or place) and facts.references is None:
        raise JobRefused(f"model {shown.model_name!r} takes no reference images (no IP-Adapter: HELIX_VISUAL_REFERENCE_MODEL)")
    frame = shot_frame(shot, shown.prompt, int(parent.provenance.seed or 0), {"redraws": {"asset_id": asset_id, "version": parent.version}},
                       dict(zip(names, reads, strict=True)), place=place, laid_out=summary.layout is not None and facts.layout is not None,
                       width=width, height=height)
    spec = ImageSpec(model=shown.model_name, prompt=frame.prompt, width=width, height=height, steps=shown.steps,
                     guidance_scale=shown.guidance_scale, seed=frame.seed, layout_image=frame.sketch,
                     layout_scale=renderer.settings.visual_layout_scale, references=frame.references, reference_masks=frame.masks,
                     reference_scale=renderer.settings.visual_reference_scale)
    parents = [asset_id, *dict.fromkeys(r.asset_id for r in [*reads, *([place] if place else [])])]
    return await renderer.image_asset(job, asset, spec, inputs=frame.inputs, parents=parents, revises_version=parent.version,
                                      position=(n, count), summary=frame.summary)
