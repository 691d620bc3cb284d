"""Kafka requests to the writer (`helix.writer.requests.v1`) → the writer's domain steps.

Each request is one kit job (`GeneratorKit.run_all`: lifecycle, retries, resume, one
outcome per request); `STEPS` says which step answers which request type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from helix.assets import AssetStore
from helix.events import (
    CandidateApplied,
    CloudEvent,
    DialogueEdited,
    DialogueRewriteRequested,
    ScriptEditRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    StoryboardRequested,
)
from helix.generation import GeneratorKit, Job
from helix.generation.ids import ScriptAssetId, ScriptPart, scene_part, script_id_for
from helix.story import Level
from helix_writer import storyboards
from helix_writer.levels import Draft, StoryWriter, draft_from_store

PREFIX_CHARS = 4000  # how much of a prefix set goes into a prompt


class WriterRequests:
    def __init__(self, kit: GeneratorKit, writer: StoryWriter, store: AssetStore, prefix_sets: dict[str, str] | None = None) -> None:
        self.kit = kit
        self.writer = writer
        self.store = store
        self.prefix_sets = prefix_sets or {}

    async def handle(self, events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        """A poll's requests, each its own job, worked concurrently: their generations share batches."""
        return await self.kit.run_all(events, self.work)

    async def work(self, job: Job) -> list[str] | None:
        return await STEPS[type(job.request)](self, job)

    # --- one step per request type ----------------------------------------------------------

    async def write_script(self, job: Job) -> list[str] | None:
        req: ScriptRequested = job.request  # type: ignore[assignment]
        if req.from_level is not Level.TITLE:  # regenerate from a level of an existing script
            if not req.parent_asset_ids:
                raise ValueError(f"from_level {req.from_level.value}: name the script to regenerate in parent_asset_ids")
            draft = await self.draft(req.production_id, req.parent_asset_ids[0])
            await self.writer.write(job, req, draft, from_level=req.from_level)
            return None
        draft = Draft(req.production_id, script_id_for(req.job_id), req.logline, req.style or "", req.locale,
                      target_locales=[str(t) for t in req.target_locales], examples=self.examples(req.prefix_set))
        await self.writer.write(job, req, draft, from_level=Level.TITLE)
        return None

    async def rewrite_level(self, job: Job) -> list[str] | None:
        req: ScriptLevelRewritten = job.request  # type: ignore[assignment]
        draft = await self.draft(req.production_id, req.script_id)
        as_script = ScriptRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by,
                                    logline=draft.logline, notes=req.notes, seed=req.seed, locale=draft.locale)
        await self.writer.rewrite(job, as_script, draft, Level(req.level), req.content)
        return None

    async def edit_script(self, job: Job) -> list[str] | None:
        """Dramatron's operations on one level: regenerate, continue, revert."""
        req: ScriptEditRequested = job.request  # type: ignore[assignment]
        draft = await self.draft(req.production_id, req.script_id)
        as_script = ScriptRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by,
                                    logline=draft.logline, notes=req.notes, seed=req.seed, locale=draft.locale,
                                    max_scenes=max(1, min(60, len(draft.scenes) or 8)))
        if req.level is Level.DIALOGUE and req.operation == "revert" and req.scene_id is None:
            raise ValueError("revert dialogue: name the scene (scene_id)")
        if req.operation == "continue":
            await self.writer.continue_level(job, as_script, draft, req.level, req.count or 1, req.scene_id)
        elif req.operation == "revert":
            name = scene_part(ScriptPart.DIALOGUE, req.scene_id) if req.level is Level.DIALOGUE else req.level.value  # type: ignore[arg-type]
            await self.writer.revert(job, draft, name, req.version)
        elif req.level is Level.DIALOGUE and req.scene_id:
            await self.writer.dialogue(job, as_script, draft, {req.scene_id}, keep_human=False)
            await self.writer.assemble(job, draft)
        else:
            await self.writer.write(job, as_script, draft, from_level=req.level, only=not req.cascade,
                                    keep_human=not req.regenerate_human)
        return None

    async def edit_dialogue(self, job: Job) -> list[str] | None:
        req: DialogueEdited = job.request  # type: ignore[assignment]
        draft = await self.draft(req.production_id, req.script_id)
        await self.writer.edit_dialogue(job, draft, req.scene_id, [line.model_dump() for line in req.lines])
        return None

    async def apply_candidate(self, job: Job) -> list[str] | None:
        req: CandidateApplied = job.request  # type: ignore[assignment]
        rewrite = ScriptAssetId.parse(req.rewrite_asset_id)
        if rewrite is None or rewrite.rewrite_job is None:
            raise ValueError(f"{req.rewrite_asset_id} is not a set of dialogue candidates")
        draft = await self.draft(req.production_id, rewrite.script_id)
        await self.writer.apply_candidate(job, draft, rewrite, req.line_id, req.candidate, req.requested_by.subject)
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

    def examples(self, name: str | None) -> str | None:
        """A studio's prefix set: example scripts (Fountain or text files in a folder), trimmed to fit a prompt."""
        if not name:
            return None
        folder = self.prefix_sets.get(name)
        if folder is None:
            raise ValueError(f"unknown prefix set {name!r}; this writer has {', '.join(sorted(self.prefix_sets)) or 'none'}")
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(Path(folder).glob("*")) if p.suffix in (".fountain", ".txt")]
        return "\n\n".join(texts)[:PREFIX_CHARS] or None


STEPS: dict[type, Callable[[WriterRequests, Job], Awaitable[list[str] | None]]] = {
    ScriptRequested: WriterRequests.write_script,
    ScriptLevelRewritten: WriterRequests.rewrite_level,
    ScriptEditRequested: WriterRequests.edit_script,
    DialogueEdited: WriterRequests.edit_dialogue,
    CandidateApplied: WriterRequests.apply_candidate,
    StoryboardRequested: WriterRequests.plan_storyboards,
    DialogueRewriteRequested: WriterRequests.rewrite_dialogue,
}
HANDLED = tuple(STEPS)
