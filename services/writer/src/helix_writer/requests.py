"""Kafka requests to the writer (`helix.writer.requests.v1`) → the writer's domain steps.

Each request is one kit job (`GeneratorKit.run_all`: lifecycle, retries, resume, one
outcome per request); `STEPS` says which step answers which request type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from helix.assets import AssetStore
from helix.events import CloudEvent, DialogueRewriteRequested, ScriptLevelRewritten, ScriptRequested, StoryboardRequested
from helix.generation import GeneratorKit, Job
from helix.generation.ids import ScriptAssetId, script_id_for
from helix.story import Level
from helix_writer import storyboards
from helix_writer.levels import Draft, StoryWriter, draft_from_store


class WriterRequests:
    def __init__(self, kit: GeneratorKit, writer: StoryWriter, store: AssetStore) -> None:
        self.kit = kit
        self.writer = writer
        self.store = store

    async def handle(self, events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        """A poll's requests, each its own job, worked concurrently: their generations share batches."""
        return await self.kit.run_all(events, self.work)

    async def work(self, job: Job) -> list[str] | None:
        return await STEPS[type(job.request)](self, job)

    # --- one step per request type ----------------------------------------------------------

    async def write_script(self, job: Job) -> list[str] | None:
        req: ScriptRequested = job.request  # type: ignore[assignment]
        draft = Draft(req.production_id, script_id_for(req.job_id), req.logline, req.style or "")
        await self.writer.write(job, req, draft, from_level=Level.TITLE)
        return None

    async def rewrite_level(self, job: Job) -> list[str] | None:
        req: ScriptLevelRewritten = job.request  # type: ignore[assignment]
        draft = await self.draft(req.production_id, req.script_id)
        as_script = ScriptRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by,
                                    logline=draft.logline, notes=req.notes, seed=req.seed)
        await self.writer.rewrite(job, as_script, draft, Level(req.level), req.content)
        return None

    async def plan_storyboards(self, job: Job) -> list[str] | None:
        req: StoryboardRequested = job.request  # type: ignore[assignment]
        return await storyboards.storyboard(self.writer, job, req, await self.draft(req.production_id, req.script_asset_id))

    async def rewrite_dialogue(self, job: Job) -> list[str] | None:
        req: DialogueRewriteRequested = job.request  # type: ignore[assignment]
        return [await storyboards.dialogue_candidates(self.writer, job, req, await self.draft(req.production_id, req.dialogue_asset_id))]

    async def draft(self, production_id: str, asset_or_script_id: str) -> Draft:
        """The latest state of the script an asset (or script id) belongs to."""
        parsed = ScriptAssetId.parse(asset_or_script_id)
        script_id = parsed.script_id if parsed else asset_or_script_id
        draft = await asyncio.to_thread(draft_from_store, self.store, production_id, script_id)
        if draft is None:
            raise ValueError(f"no script {script_id} in production {production_id}")
        return draft


STEPS: dict[type, Callable[[WriterRequests, Job], Awaitable[list[str] | None]]] = {
    ScriptRequested: WriterRequests.write_script,
    ScriptLevelRewritten: WriterRequests.rewrite_level,
    StoryboardRequested: WriterRequests.plan_storyboards,
    DialogueRewriteRequested: WriterRequests.rewrite_dialogue,
}
HANDLED = tuple(STEPS)
