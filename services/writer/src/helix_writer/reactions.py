"""What the writer does when review decides about one of its assets (choreography).

- an approved assembled script gets its storyboards (one per scene);
- a revision request on a level regenerates that level and the levels below it, with the
  reviewer's notes in the prompt (what a person wrote below is kept, marked stale); on one
  scene's dialogue or storyboard, just that asset (and the script is reassembled around new
  dialogue); on the assembled script, the dialogue of every scene.
Each reaction is a kit job whose id comes from the decision, so a redelivered decision
resumes the same job instead of starting a second one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from helix.events import CloudEvent, ReviewApproved, ReviewRevisionRequested, ScriptRequested, StoryboardRequested, new_event
from helix.generation import GeneratorKit, Job, derived_event_id
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix_writer import storyboards
from helix_writer.levels import StoryWriter, draft_from_store

log = structlog.get_logger("helix.writer")
SOURCE = "/helix/writer"
HANDLED = (ReviewApproved, ReviewRevisionRequested)


class WriterReactions:
    def __init__(self, kit: GeneratorKit, writer: StoryWriter) -> None:
        self.kit = kit
        self.writer = writer

    async def on_decision(self, event: CloudEvent[Any]) -> None:
        decision = event.data
        part = ScriptAssetId.parse(decision.asset_id)
        if part is None:
            return  # not the writer's asset
        if isinstance(decision, ReviewApproved):
            if part.part is ScriptPart.SCRIPT:
                await self.storyboards_for_approved_script(event, part)
            return
        await self.revise(event, part)

    async def storyboards_for_approved_script(self, event: CloudEvent[Any], part: ScriptAssetId) -> None:
        decision = event.data
        request = StoryboardRequested(production_id=decision.production_id, job_id=f"sb-{decision.decision_id}"[:128],
                                      requested_by=self.kit.actor, script_asset_id=decision.asset_id)
        draft = await asyncio.to_thread(draft_from_store, self.writer.store, decision.production_id, part.script_id)

        async def work(job: Job) -> list[str]:
            if draft is None:
                raise ValueError(f"no script {part.script_id} in production {decision.production_id}")
            return await storyboards.storyboard(self.writer, job, request, draft)

        await self._run(request, event, work)

    async def revise(self, event: CloudEvent[Any], part: ScriptAssetId) -> None:
        decision: ReviewRevisionRequested = event.data
        if part.rewrite_job is not None:
            return  # candidates are chosen, not revised
        draft = await asyncio.to_thread(draft_from_store, self.writer.store, decision.production_id, part.script_id)
        if draft is None:
            return
        request = ScriptRequested(production_id=decision.production_id, job_id=f"rev-{decision.decision_id}"[:128],
                                  requested_by=decision.reviewer, logline=draft.logline, notes=decision.notes,
                                  parent_asset_ids=[decision.asset_id], locale=draft.locale, max_scenes=max(1, min(60, len(draft.scenes) or 8)))
        log.info("writer.revision", asset_id=decision.asset_id, notes=decision.notes[:200])

        async def work(job: Job) -> list[str] | None:
            if part.part is ScriptPart.STORYBOARD:
                board = StoryboardRequested(production_id=request.production_id, job_id=request.job_id, requested_by=request.requested_by,
                                            notes=request.notes, script_asset_id=draft.assets[ScriptPart.SCRIPT], scene_ids=[part.scene or ""])
                return await storyboards.storyboard(self.writer, job, board, draft)
            if part.part is ScriptPart.DIALOGUE:
                await self.writer.revise_scene(job, request, draft, part)
                return [str(part)]
            if part.part in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN):
                # Notes on the whole script: the dialogue of every scene is rewritten with them;
                # scenes whose dialogue a person wrote are kept and marked stale.
                await self.writer.dialogue(job, request, draft)
                await self.writer.assemble(job, draft)
                return None
            await self.writer.write(job, request, draft, from_level=part.level)  # type: ignore[arg-type]
            return None

        await self._run(request, event, work)

    async def _run(self, request: Any, decision: CloudEvent[Any], work: Any) -> None:
        # The request as an event of its own, its id derived from the decision's: a redelivered
        # decision is the same job, resumed.
        await self.kit.run(new_event(request, source=SOURCE, event_id=derived_event_id("reaction", decision.id)), work)
