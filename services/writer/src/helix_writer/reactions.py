"""What the writer asks of itself when review decides about one of its assets (choreography).

- an approved assembled script: its storyboards (`StoryboardRequested`, one per scene);
- a revision request on a level, a scene's dialogue or storyboard, or the assembled script:
  a `ScriptRevisionRequested` with the reviewer's notes (the step, `requests.revise`, decides
  what is regenerated).
Each is a request on the writer's own topic, its job id from the decision
(`helix.generation.ids.reaction_job_id`), the decision named as its cause: a redelivered
decision is the same request, and the ordinary request path does the work.
"""

from __future__ import annotations

from helix.events import Actor, CloudEvent, GenerationRequest, ReviewApproved, ReviewDecision
from helix.events.data import ReviewRevisionRequested, ScriptRevisionRequested, StoryboardRequested
from helix.generation.ids import Reaction, ScriptAssetId, ScriptPart, reaction_job_id
from helix.generation.service import TypedAssetId, cause

HANDLED = (ReviewApproved, ReviewRevisionRequested)
WRITER = Actor(subject="writer", kind="service")


async def react(event: CloudEvent[ReviewDecision], asset: TypedAssetId | None) -> list[GenerationRequest]:
    """Storyboards for an approved script; a revision for a revision request."""
    decision = event.data
    if not isinstance(asset, ScriptAssetId):
        return []  # not the writer's asset
    if isinstance(decision, ReviewApproved) and asset.part is ScriptPart.SCRIPT:
        return [StoryboardRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.STORYBOARDS, decision.decision_id),
                                    requested_by=WRITER, script_asset_id=decision.asset_id, caused_by=cause(event))]
    if isinstance(decision, ReviewRevisionRequested) and asset.rewrite_job is None:  # candidates are chosen, not revised
        return [ScriptRevisionRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.REVISION, decision.decision_id),
                                        requested_by=decision.reviewer, notes=decision.notes, asset_id=decision.asset_id,
                                        asset_version=decision.asset_version, parent_asset_ids=[decision.asset_id],
                                        caused_by=cause(event))]
    return []
