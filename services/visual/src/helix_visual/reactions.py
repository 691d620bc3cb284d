"""What the visual service asks of itself when review decides (choreography).

- an approved storyboard (the writer's, one per scene): its frames (`FrameRequested`, one
  image per shot, drawn from the approved version), keeping the production's approved cast
  (`cast`) where the default model takes reference images;
- a revision request on one of its own images: `ImageRevisionRequested` with the reviewer's
  notes and marked regions (the step is `revisions.revise_image`); on a clip, a new clip from
  the frame's newest approved version with the notes in its prompt (`ClipRequested`);
- an approved frame, where motion is on (HELIX_VISUAL_MOTION_ON_APPROVAL): its shot in motion
  (`ClipRequested`, the step is `clips.make_clip`).
Each is a request on the visual service's own topic, its job id from the decision, the
decision named as its cause; the ordinary request path does the work, so the frames of many
storyboards share the engine's batches.
"""

from __future__ import annotations

from helix.events import Actor, CloudEvent, GenerationRequest, ReviewApproved, ReviewDecision
from helix.events.data import (
    ClipRequested,
    FrameRequested,
    ImageRevisionRequested,
    ReviewRevisionRequested,
    TimeNote,
    UsedVersion,
)
from helix.generation.ids import ImageAssetId, ImageFamily, Reaction, ScriptAssetId, ScriptPart, clip_job_id, reaction_job_id
from helix.generation.service import TypedAssetId, cause
from helix_visual.settings import VisualSettings

HANDLED = (ReviewApproved, ReviewRevisionRequested)
VISUAL = Actor(subject="visual", kind="service")


class VisualReactions:
    def __init__(self, settings: VisualSettings) -> None:
        self.settings = settings

    async def react(self, event: CloudEvent[ReviewDecision], asset: TypedAssetId | None) -> list[GenerationRequest]:
        """Frames for an approved storyboard; a clip for an approved frame (where motion is on); a
        revision for a revision request on an image or clip."""
        decision = event.data
        if isinstance(decision, ReviewApproved) and isinstance(asset, ScriptAssetId) and asset.part is ScriptPart.STORYBOARD:
            return [FrameRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.FRAMES, decision.decision_id),
                                   requested_by=VISUAL, prompt="storyboard frame", storyboard_asset_id=decision.asset_id,
                                   width=self.settings.visual_frame_width, height=self.settings.visual_frame_height,
                                   steps=self.settings.visual_frame_steps, cast=bool(self.settings.reference_path()),
                                   caused_by=cause(event))]
        if isinstance(asset, ImageAssetId) and asset.family is ImageFamily.FRAME and isinstance(decision, ReviewApproved) \
                and self.settings.visual_motion_on_approval and self.settings.visual_video_model != "none":
            return [self._clip(event, decision.asset_id, decision.asset_version, "")]
        if isinstance(decision, ReviewRevisionRequested) and isinstance(asset, ImageAssetId) and asset.family is ImageFamily.CLIP:
            return [self._clip(event, None, None, decision.notes, revises=UsedVersion(asset_id=decision.asset_id, version=decision.asset_version),
                               timecodes=decision.timecodes)]
        if isinstance(decision, ReviewRevisionRequested) and isinstance(asset, ImageAssetId):
            return [ImageRevisionRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.REVISION, decision.decision_id),
                                           requested_by=decision.reviewer, notes=decision.notes, asset_id=decision.asset_id,
                                           asset_version=decision.asset_version, regions=decision.regions,
                                           parent_asset_ids=[decision.asset_id], caused_by=cause(event))]
        return []

    def _clip(self, event: CloudEvent[ReviewDecision], frame_asset_id: str | None, frame_version: int | None, notes: str, *,
              revises: UsedVersion | None = None, timecodes: list[TimeNote] | None = None) -> ClipRequested:
        decision = event.data
        job_id = (clip_job_id(frame_asset_id, frame_version) if frame_asset_id is not None and frame_version is not None
                  else reaction_job_id(Reaction.REVISION, decision.decision_id))
        return ClipRequested(production_id=decision.production_id, job_id=job_id,
                             requested_by=VISUAL if revises is None else decision.reviewer, frame_asset_id=frame_asset_id,
                             frame_version=frame_version, revises=revises, prompt=notes, timecodes=timecodes or [],
                             fps=self.settings.visual_clip_fps, width=self.settings.visual_clip_width,
                             height=self.settings.visual_clip_height, steps=self.settings.visual_clip_steps,
                             caused_by=cause(event))
