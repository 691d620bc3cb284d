"""What the visual service asks of itself when review decides (choreography).

- an approved storyboard (the writer's, one per scene): its frames (`FrameRequested`, one
  image per shot, drawn from the approved version), keeping the production's approved cast
  (`cast`) where the default model takes reference images;
- a revision request on one of its own images: `ImageRevisionRequested` with the reviewer's
  notes and marked regions (the step is `revisions.revise_image`).
Each is a request on the visual service's own topic, its job id from the decision, the
decision named as its cause; the ordinary request path does the work, so the frames of many
storyboards share the engine's batches.
"""

from __future__ import annotations

from helix.events import Actor, CloudEvent, GenerationRequest, ReviewApproved, ReviewDecision
from helix.events.data import FrameRequested, ImageRevisionRequested, ReviewRevisionRequested
from helix.generation.ids import ImageAssetId, Reaction, ScriptAssetId, ScriptPart, reaction_job_id
from helix.generation.service import TypedAssetId, cause
from helix_visual.settings import VisualSettings

HANDLED = (ReviewApproved, ReviewRevisionRequested)
VISUAL = Actor(subject="visual", kind="service")


class VisualReactions:
    def __init__(self, settings: VisualSettings) -> None:
        self.settings = settings

    async def react(self, event: CloudEvent[ReviewDecision], asset: TypedAssetId | None) -> list[GenerationRequest]:
        """Frames for an approved storyboard; a revision for a revision request on an image."""
        decision = event.data
        if isinstance(decision, ReviewApproved) and isinstance(asset, ScriptAssetId) and asset.part is ScriptPart.STORYBOARD:
            return [FrameRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.FRAMES, decision.decision_id),
                                   requested_by=VISUAL, prompt="storyboard frame", storyboard_asset_id=decision.asset_id,
                                   width=self.settings.visual_frame_width, height=self.settings.visual_frame_height,
                                   steps=self.settings.visual_frame_steps, cast=bool(self.settings.reference_path()),
                                   caused_by=cause(event))]
        if isinstance(decision, ReviewRevisionRequested) and isinstance(asset, ImageAssetId):
            return [ImageRevisionRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.REVISION, decision.decision_id),
                                           requested_by=decision.reviewer, notes=decision.notes, asset_id=decision.asset_id,
                                           asset_version=decision.asset_version, regions=decision.regions,
                                           parent_asset_ids=[decision.asset_id], caused_by=cause(event))]
        return []
