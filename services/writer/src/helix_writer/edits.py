"""A person's words: their own version of a level (kept verbatim, human-authored, with its
diff), their own dialogue for a scene, a model candidate they chose, and going back to an
earlier version. What a person wrote is never regenerated behind their back: the levels
below a rewritten one are regenerated, and what a person wrote there is kept and marked
stale (`levels.StoryWriter.write`)."""

from __future__ import annotations

import json
import re
from typing import Any

from helix.documents import level_content
from helix.events import Authorship, EditedLine, ScriptRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import SCENE_ID_PATTERN, ScriptAssetId, ScriptPart, line_id, scene_part
from helix.story import LEVEL_ORDER, DialogueLine, Level
from helix_writer.draft import Draft, keep_dialogue
from helix_writer.levels import StoryWriter
from helix_writer.repository import ScriptRepository

_SCENE_ID = re.compile(SCENE_ID_PATTERN)


class ScriptEditor:
    def __init__(self, writer: StoryWriter, repository: ScriptRepository) -> None:
        self.writer = writer
        self.repository = repository

    async def rewrite(self, job: Job[Any], req: ScriptRequested, draft: Draft, level: Level, content: Any) -> Draft:
        """Store a person's version of `level` verbatim (human-authored, with its diff), then
        regenerate only the levels below it (keeping, and marking stale, what a person wrote there)."""
        if level is Level.DIALOGUE:
            raise JobRefused("dialogue is edited line by line (helix.writer.dialogue.edited)")
        value = level_content(level).validate_python(content)  # the event's own validator already checked it
        if level is Level.TITLE:
            draft.title, draft.title_author = value.title, "human"
            stored: Any = {"title": draft.title}
        elif level is Level.CHARACTERS:
            draft.characters = [c.model_copy(update={"author": "human"}) for c in value]
            stored = [c.model_dump() for c in draft.characters]
        elif level is Level.SCENES:
            scenes = [s.model_copy(update={"author": "human", "dialogue": []}) for s in value]
            bad = [s.scene_id for s in scenes if not _SCENE_ID.fullmatch(s.scene_id)]
            if bad:
                raise JobRefused(f"scene ids {bad} must match {SCENE_ID_PATTERN} (letters, digits, '.', '_'; no '-')")
            draft.scenes = keep_dialogue(draft.scenes, scenes)
            stored = [s.model_dump(exclude={"dialogue"}) for s in draft.scenes]
        else:
            draft.places = {p.name: p.model_copy(update={"author": "human"}) for p in value}
            stored = [p.model_dump() for p in draft.places.values()]
        draft.fresh(level.value)
        await self.repository.store_human(job, draft, level.value, stored)
        below = LEVEL_ORDER.index(level) + 1
        if below < len(LEVEL_ORDER):
            return await self.writer.write(job, req, draft, from_level=LEVEL_ORDER[below], targeted=False)
        await self.writer.assemble(job, draft)
        return draft

    async def edit_dialogue(self, job: Job[Any], draft: Draft, scene: str, lines: list[EditedLine]) -> None:
        """A person's own dialogue for a scene, verbatim; line ids kept where given."""
        target = next((s for s in draft.scenes if s.scene_id == scene), None)
        if target is None:
            raise JobRefused(f"no scene {scene!r} in {draft.script_id}")
        used = {line.line_id for line in lines if line.line_id}
        fresh_ids = (line_id(scene, n) for n in range(1, 10_000) if line_id(scene, n) not in used)
        target.dialogue = [DialogueLine(line_id=line.line_id or next(fresh_ids), speaker=line.speaker, parenthetical=line.parenthetical,
                                        text=line.text, author="human") for line in lines]
        name = scene_part(ScriptPart.DIALOGUE, scene)
        draft.fresh(name)
        await self.repository.store_human(job, draft, name, [line.model_dump() for line in target.dialogue])
        await self.writer.assemble(job, draft)

    async def apply_candidate(self, job: Job[Any], draft: Draft, rewrite: ScriptAssetId, line: str, candidate: int, person: str) -> None:
        """A person picked a model-written candidate: the scene's dialogue gets it as a new
        version, the line authored by the model and selected by the person."""
        body = await self.repository.latest(draft.production_id, rewrite)
        if body is None:
            raise JobRefused(f"no dialogue candidates {rewrite}")
        options = next((c for c in body.content.lines if c.line_id == line), None)
        if options is None or not 0 <= candidate < len(options.candidates):
            raise JobRefused(f"{rewrite} has no candidate {candidate} for line {line}")
        scene = next((s for s in draft.scenes if s.scene_id == rewrite.scene), None)
        target = next((x for x in scene.dialogue if x.line_id == line), None) if scene else None
        if scene is None or target is None:
            raise JobRefused(f"line {line} is not in scene {rewrite.scene} any more")
        scene.dialogue = [x.model_copy(update={"text": options.candidates[candidate], "author": "ai", "selected_by": person})
                          if x.line_id == line else x for x in scene.dialogue]
        name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
        await self.repository.store_level(job, draft, name, [x.model_dump() for x in scene.dialogue], [], parents=[str(rewrite)],
                                          authorship=Authorship.MIXED,
                                          extra={"selected": {"line_id": line, "candidate": candidate, "by": person}})
        await self.writer.assemble(job, draft)

    async def revert(self, job: Job[Any], draft: Draft, name: str, version: int | None) -> int:
        """Bring back an earlier version of a level as its newest version (undo); returns the version restored."""
        part = draft.part(name)
        read = await self.repository.version(draft.production_id, part, version)
        draft.restore(name, read.document, read.provenance.authorship)
        stored = read.document.model_dump(mode="json", exclude_none=True, exclude={"level", "script_id", "content", "reverted_from"})
        verbatim = json.loads(read.data)["content"]  # the earlier version's content exactly as it was stored
        await self.repository.store_level(job, draft, name, verbatim, [], parents=[], authorship=read.provenance.authorship,
                                          extra=stored | {"reverted_from": read.version})
        await self.writer.assemble(job, draft)
        return read.version
