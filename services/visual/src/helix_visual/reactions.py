"""What the visual service does when review decides (choreography).

An approved storyboard (the writer's, one per scene) gets its frames: one per shot, drawn
from the approved version, in a job whose id comes from the decision.

A revision request on one of its own images: a revision request on a frame, scene plate or texture re-renders it image-to-image from the
version the reviewer saw, with the reviewer's notes added to its prompt, the same model,
size, seed and tiling: a new version of the same asset whose parent is the old one. When
the reviewer marked regions, only those change: the re-render is pasted into the version
they saw inside the regions (softened at the edges), and each region's note joins the
prompt. The job's id comes from the decision, so a redelivered decision resumes the same job.
"""

from __future__ import annotations

from typing import Any

import structlog

from helix.events import (
    CloudEvent,
    FrameRequested,
    ImageRequest,
    ReviewApproved,
    ReviewRevisionRequested,
    SceneRequested,
    TextureRequested,
    new_event,
)
from helix.generation import GeneratorKit, Job, derived_event_id
from helix.generation.ids import ImageAssetId, ImageFamily, ScriptAssetId, ScriptPart
from helix_visual import prompts
from helix_visual.engine import ImageSpec
from helix_visual.images import decode, paste_regions
from helix_visual.rendering import Renderer
from helix_visual.tiling import seam_check

log = structlog.get_logger("helix.visual")
SOURCE = "/helix/visual"
HANDLED = (ReviewApproved, ReviewRevisionRequested)
REQUEST_OF: dict[ImageFamily, type[ImageRequest]] = {
    ImageFamily.FRAME: FrameRequested,
    ImageFamily.SCENE: SceneRequested,
    ImageFamily.TEXTURE: TextureRequested,
}


class VisualReactions:
    def __init__(self, kit: GeneratorKit, renderer: Renderer) -> None:
        self.kit = kit
        self.renderer = renderer

    async def on_decision(self, event: CloudEvent[Any]) -> None:
        decision = event.data
        if isinstance(decision, ReviewApproved):
            board = ScriptAssetId.parse(decision.asset_id)
            if board is not None and board.part is ScriptPart.STORYBOARD:
                await self.frames_for_approved_storyboard(event)
            return
        asset = ImageAssetId.parse(decision.asset_id)
        if asset is None or not isinstance(decision, ReviewRevisionRequested):
            return  # not an image of ours, or nothing to do
        await self.revise(event, asset)

    async def frames_for_approved_storyboard(self, event: CloudEvent[Any]) -> None:
        decision: ReviewApproved = event.data
        request = FrameRequested(production_id=decision.production_id, job_id=f"fr-{decision.decision_id}"[:128],
                                 requested_by=self.kit.actor, prompt="storyboard frame", storyboard_asset_id=decision.asset_id,
                                 width=self.renderer.settings.visual_frame_width, height=self.renderer.settings.visual_frame_height,
                                 steps=self.renderer.settings.visual_frame_steps)
        log.info("visual.storyboard_approved", asset_id=decision.asset_id, version=decision.asset_version, job_id=request.job_id)
        await self.kit.run(new_event(request, source=SOURCE, event_id=derived_event_id("reaction", event.id)), self.draw_frames)

    async def draw_frames(self, job: Job) -> list[str]:
        from helix_visual.frames import render_frames

        return await render_frames(self.renderer, job)

    async def revise(self, event: CloudEvent[Any], asset: ImageAssetId) -> None:
        decision: ReviewRevisionRequested = event.data
        # The job's request: what the reviewer asked for; the image's own settings come from
        # the version they saw, read inside the job (a missing parent fails the job, saying so).
        request = REQUEST_OF[asset.family](
            production_id=decision.production_id, job_id=f"rev-{decision.decision_id}"[:128], requested_by=decision.reviewer,
            notes=decision.notes, parent_asset_ids=[decision.asset_id], prompt=decision.notes[:4000])
        log.info("visual.revision", asset_id=decision.asset_id, version=decision.asset_version, notes=decision.notes[:200])

        async def work(job: Job) -> list[str]:
            parent = await self.renderer.image(decision.production_id, decision.asset_id, decision.asset_version)
            shown = parent.provenance.get("parameters", {})
            notes = "; ".join([decision.notes, *(r.note for r in decision.regions if r.note)])
            prompt = prompts.revision_prompt(str(shown.get("prompt") or parent.provenance.get("inputs", {}).get("prompt", "")), notes)
            tiling = shown.get("tiling", "none")
            seen = decode(parent.data)  # the picture as the reviewer saw it
            width, height = seen.size
            boxes = [r.box(width, height) for r in decision.regions]
            finish = (lambda image: paste_regions(seen, image, boxes)) if boxes else None
            spec = ImageSpec(model=shown.get("model_name", "default"), prompt=prompt, width=width, height=height, steps=int(shown.get("steps", 4)),
                             guidance_scale=float(shown.get("guidance_scale", 0.0)), seed=int(parent.provenance.get("seed") or 0),
                             tiling=tiling, init_image=parent.data, strength=self.renderer.settings.visual_revision_strength)
            inputs = {"prompt": prompt, "notes": decision.notes, "revises": {"asset_id": decision.asset_id, "version": parent.stored.key.version},
                      **({"regions": [r.model_dump() for r in decision.regions]} if boxes else {})}
            return [await self.renderer.image_asset(job, asset, spec, inputs=inputs, parents=[decision.asset_id],
                                                    revises_version=parent.stored.key.version, finish=finish,
                                                    extra={"regions": len(boxes)} if boxes else None,
                                                    check=seam_check(tiling) if tiling != "none" else None)]

        await self.kit.run(new_event(request, source=SOURCE, event_id=derived_event_id("reaction", event.id)), work)

