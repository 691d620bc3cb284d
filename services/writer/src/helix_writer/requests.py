"""Kafka requests to the writer (`helix.writer.requests.v1`) → the writer's domain steps.

Each request is one kit job; `steps()` says which step answers which request type (a grep
finds each). The writer's own reactions to review arrive here too, as requests
(`StoryboardRequested`, `ScriptRevisionRequested`: see `reactions.py`).
"""

from __future__ import annotations

from pathlib import Path

from helix.events import (
    CandidateApplied,
    DialogueEdited,
    DialogueRewriteRequested,
    GenerationRequest,
    ScriptEditRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    ScriptRevisionRequested,
    StoryboardRequested,
)
from helix.generation import Job, JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart, scene_part, script_id_for
from helix.generation.service import Step
from helix.story import Level
from helix_writer import storyboards
from helix_writer.draft import Draft
from helix_writer.edits import ScriptEditor
from helix_writer.levels import StoryWriter
from helix_writer.repository import ScriptRepository

PREFIX_CHARS = 4000  # how much of a prefix set goes into a prompt


class WriterRequests:
    def __init__(self, writer: StoryWriter, editor: ScriptEditor, repository: ScriptRepository,
                 prefix_sets: dict[str, str] | None = None) -> None:
        self.writer = writer
        self.editor = editor
        self.repository = repository
        self.prefix_sets = prefix_sets or {}

    def steps(self) -> dict[type[GenerationRequest], Step]:
        return {
            ScriptRequested: self.write_script,
            ScriptLevelRewritten: self.rewrite_level,
            ScriptEditRequested: self.edit_script,
            DialogueEdited: self.edit_dialogue,
            CandidateApplied: self.apply_candidate,
            StoryboardRequested: self.plan_storyboards,
            DialogueRewriteRequested: self.rewrite_dialogue,
            ScriptRevisionRequested: self.revise,
        }

    # --- one step per request type ----------------------------------------------------------

    async def write_script(self, job: Job[ScriptRequested]) -> list[str] | None:
        req = job.request
        if req.from_level is not Level.TITLE:  # regenerate from a level of an existing script
            if not req.parent_asset_ids:
                raise JobRefused(f"from_level {req.from_level.value}: name the script to regenerate in parent_asset_ids")
            draft = await self.draft(req.production_id, req.parent_asset_ids[0])
            await self.writer.write(job, req, draft, from_level=req.from_level)
            return None
        draft = Draft(req.production_id, script_id_for(req.job_id), req.logline, req.style or "", req.locale,
                      target_locales=[str(t) for t in req.target_locales], examples=self.examples(req.prefix_set))
        await self.writer.write(job, req, draft, from_level=Level.TITLE)
        return None

    async def rewrite_level(self, job: Job[ScriptLevelRewritten]) -> list[str] | None:
        req = job.request
        draft = await self.draft(req.production_id, req.script_id)
        await self.editor.rewrite(job, self._as_script(req, draft), draft, Level(req.level), req.content)
        return None

    async def edit_script(self, job: Job[ScriptEditRequested]) -> list[str] | None:
        """Dramatron's operations on one level: regenerate, continue, revert."""
        req = job.request
        draft = await self.draft(req.production_id, req.script_id)
        as_script = self._as_script(req, draft)
        if req.level is Level.DIALOGUE and req.operation == "revert" and req.scene_id is None:
            raise JobRefused("revert dialogue: name the scene (scene_id)")
        if req.operation == "continue":
            await self.writer.continue_level(job, as_script, draft, req.level, req.count or 1, req.scene_id)
        elif req.operation == "revert":
            name = scene_part(ScriptPart.DIALOGUE, req.scene_id) if req.level is Level.DIALOGUE and req.scene_id else req.level.value
            await self.editor.revert(job, draft, name, req.version)
        elif req.level is Level.DIALOGUE and req.scene_id:
            await self.writer.dialogue(job, as_script, draft, {req.scene_id}, keep_human=False)
            await self.writer.assemble(job, draft)
        else:
            await self.writer.write(job, as_script, draft, from_level=req.level, only=not req.cascade,
                                    keep_human=not req.regenerate_human)
        return None

    async def edit_dialogue(self, job: Job[DialogueEdited]) -> list[str] | None:
        req = job.request
        draft = await self.draft(req.production_id, req.script_id)
        await self.editor.edit_dialogue(job, draft, req.scene_id, req.lines)
        return None

    async def apply_candidate(self, job: Job[CandidateApplied]) -> list[str] | None:
        req = job.request
        rewrite = ScriptAssetId.parse(req.rewrite_asset_id)
        if rewrite is None or rewrite.rewrite_job is None:
            raise JobRefused(f"{req.rewrite_asset_id} is not a set of dialogue candidates")
        draft = await self.draft(req.production_id, rewrite.script_id)
        await self.editor.apply_candidate(job, draft, rewrite, req.line_id, req.candidate, req.requested_by.subject)
        return None

    async def plan_storyboards(self, job: Job[StoryboardRequested]) -> list[str] | None:
        """Storyboards are drawn from the script as a person approved it."""
        req = job.request
        script = self._script_of(req.script_asset_id)
        return await storyboards.storyboard(self.writer, job, req, await self.repository.approved_draft(req.production_id, script.script_id))

    async def rewrite_dialogue(self, job: Job[DialogueRewriteRequested]) -> list[str] | None:
        req = job.request
        return [await storyboards.dialogue_candidates(self.writer, job, req, await self.draft(req.production_id, req.dialogue_asset_id))]

    async def revise(self, job: Job[ScriptRevisionRequested]) -> list[str] | None:
        """A reviewer's notes on one of the writer's assets: a storyboard or one scene's dialogue
        is regenerated alone (the script reassembled around new dialogue); notes on the whole
        script rewrite every scene's dialogue (scenes a person wrote are kept, marked stale);
        notes on a level regenerate it and the levels below."""
        req = job.request
        part = self._script_of(req.asset_id)
        if part.rewrite_job is not None:
            raise JobRefused(f"{req.asset_id} is a set of candidates: a person chooses among them, nothing is revised")
        draft = await self.repository.draft(req.production_id, part.script_id)
        as_script = self._as_script(req, draft)
        if part.part is ScriptPart.STORYBOARD:
            board = StoryboardRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by,
                                        notes=req.notes, script_asset_id=draft.assets[ScriptPart.SCRIPT], scene_ids=[part.scene or ""])
            return await storyboards.storyboard(self.writer, job, board, draft)
        if part.part is ScriptPart.DIALOGUE:
            await self.writer.revise_scene(job, as_script, draft, part)
            return [str(part)]
        if part.part in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN):
            await self.writer.dialogue(job, as_script, draft)
            await self.writer.assemble(job, draft)
            return None
        assert part.level is not None
        await self.writer.write(job, as_script, draft, from_level=part.level)
        return None

    # --- helpers -------------------------------------------------------------------------------

    async def draft(self, production_id: str, asset_or_script_id: str) -> Draft:
        """The latest state of the script an asset (or script id) belongs to."""
        parsed = ScriptAssetId.parse(asset_or_script_id)
        return await self.repository.draft(production_id, parsed.script_id if parsed else asset_or_script_id)

    @staticmethod
    def _script_of(asset_id: str) -> ScriptAssetId:
        parsed = ScriptAssetId.parse(asset_id)
        if parsed is None:
            raise JobRefused(f"{asset_id} is not one of the writer's assets (script-<job>-<part>)")
        return parsed

    @staticmethod
    def _as_script(req: GenerationRequest, draft: Draft) -> ScriptRequested:
        """The script request a step on an existing script works under (its logline, locale, size)."""
        return ScriptRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by, logline=draft.logline,
                               notes=req.notes, seed=req.seed, locale=draft.locale, parent_asset_ids=list(req.parent_asset_ids),
                               max_scenes=max(1, min(60, len(draft.scenes) or 8)), caused_by=req.caused_by)

    def examples(self, name: str | None) -> str | None:
        """A studio's prefix set: example scripts (Fountain or text files in a folder), trimmed to fit a prompt."""
        if not name:
            return None
        folder = self.prefix_sets.get(name)
        if folder is None:
            raise JobRefused(f"unknown prefix set {name!r}; this writer has {', '.join(sorted(self.prefix_sets)) or 'none'}")
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(Path(folder).glob("*")) if p.suffix in (".fountain", ".txt")]
        return "\n\n".join(texts)[:PREFIX_CHARS] or None


__all__ = ["WriterRequests"]
