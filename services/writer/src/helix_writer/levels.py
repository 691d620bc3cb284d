"""Hierarchical script writing: each level its own grammar-constrained generation and its
own asset, conditioned on the levels above (logline → title → characters → scenes →
places → dialogue per scene), then the whole script as JSON and as Fountain.

Every level is stored through the generator kit (`Job.store`) as a new version of its
asset with lineage (the levels it was made from), and the job reports progress after each
level. A job that runs again (a retry, a redelivery after a crash) resumes: a level it
already stored is read back (`Job.resumed`), not generated a second time. A person's
rewrite of a level is stored verbatim as a human-authored version (with its diff against
the previous one), and only the levels below it are regenerated.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from helix.assets import AssetNotFound, AssetStore, StoredAsset
from helix.events import AssetKind, Authorship, GenerationRequest, ModelRef, ScriptRequested
from helix.events.data import AssetCost
from helix.generation import GeneratedAsset, Job, total_cost
from helix.generation.ids import SCENE_ID_PATTERN, ScriptAssetId, ScriptPart, line_id, scene_id, scene_part
from helix.story import (
    LEVEL_ORDER,
    Character,
    CharactersDraft,
    DialogueDraft,
    DialogueLine,
    Level,
    Place,
    PlaceDraft,
    SceneScript,
    ScenesDraft,
    Script,
    TitleDraft,
    json_budget,
)
from helix_writer import prompts
from helix_writer.fountain import to_fountain

D = TypeVar("D", bound=BaseModel)
JSON = "application/json"


@dataclass(frozen=True)
class Generated(Generic[D]):
    """A structured generation: the validated value, the parameters it really ran with, its model time."""

    value: D
    parameters: dict[str, Any]
    cost: AssetCost | None = None


class StructuredGenerator(Protocol):
    """What the writer needs from a model: JSON that validates against a schema."""

    model_ref: ModelRef

    async def generate_json(self, messages: prompts.Messages, schema: type[D], *, max_new_tokens: int, seed: int | None) -> Generated[D]: ...


@dataclass
class Draft:
    """The state of one script while it is being (re)written."""

    production_id: str
    script_id: str
    logline: str
    style: str = ""
    title: str = ""
    title_author: str = "ai"
    characters: list[Character] = field(default_factory=list)
    scenes: list[SceneScript] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    assets: dict[str, str] = field(default_factory=dict)  # part name (`title`, `dialogue-s1`, …) -> asset id

    def script(self) -> Script:
        return Script(production_id=self.production_id, logline=self.logline, title=self.title, title_author=self.title_author,  # type: ignore[arg-type]
                      characters=self.characters, places=list(self.places.values()), scenes=self.scenes)

    def part(self, name: str) -> ScriptAssetId:
        return ScriptAssetId.of(self.script_id, name)


class StoryWriter:
    """The writer's domain steps; each runs inside a kit `Job`."""

    def __init__(self, generator: StructuredGenerator, store: AssetStore) -> None:
        self.generator = generator
        self.store = store

    async def generate(self, messages: prompts.Messages, schema: type[D], *, seed: int | None) -> Generated[D]:
        # The budget is the longest JSON the schema allows, so a constrained generation
        # always closes, however long a (random) model keeps its strings.
        return await self.generator.generate_json(messages, schema, max_new_tokens=json_budget(schema), seed=seed)

    # --- the levels ------------------------------------------------------------------------

    async def write(self, job: Job, request: ScriptRequested, draft: Draft, *, from_level: Level = Level.TITLE) -> Draft:
        """Generate `from_level` and every level below it; levels above come from `draft`."""
        todo = LEVEL_ORDER[LEVEL_ORDER.index(from_level):]
        for n, level in enumerate(todo, start=1):
            await self._level(job, request, draft, level)
            await job.progress(f"{level.value} written", n / (len(todo) + 1))
        await self.assemble(job, draft)
        return draft

    async def _level(self, job: Job, req: ScriptRequested, draft: Draft, level: Level) -> None:
        """One level: dispatch a grep can follow."""
        if level is Level.TITLE:
            await self._title(job, req, draft)
        elif level is Level.CHARACTERS:
            await self._characters(job, req, draft)
        elif level is Level.SCENES:
            await self._scenes(job, req, draft)
        elif level is Level.PLACES:
            await self._places(job, req, draft)
        else:
            await self.dialogue(job, req, draft)

    async def _title(self, job: Job, req: ScriptRequested, draft: Draft) -> None:
        if (content := await self.resumed(job, draft, ScriptPart.TITLE)) is not None:
            draft.title, draft.title_author = content["title"], "ai"
            return
        messages = prompts.title(draft.style, req.notes, draft.logline)
        out = await self.generate(messages, TitleDraft, seed=req.seed)
        draft.title, draft.title_author = out.value.title, "ai"
        await self.store_level(job, draft, ScriptPart.TITLE, {"title": draft.title}, messages, out, parents=[])

    async def _characters(self, job: Job, req: ScriptRequested, draft: Draft) -> None:
        if (content := await self.resumed(job, draft, ScriptPart.CHARACTERS)) is not None:
            draft.characters = [Character(**c) for c in content]
            return
        messages = prompts.characters(draft.style, req.notes, draft.logline, draft.title, req.performers)
        out = await self.generate(messages, CharactersDraft, seed=req.seed)
        draft.characters = [Character(**c.model_dump()) for c in out.value.characters]
        await self.store_level(job, draft, ScriptPart.CHARACTERS, [c.model_dump() for c in draft.characters], messages, out, parents=[ScriptPart.TITLE])

    async def _scenes(self, job: Job, req: ScriptRequested, draft: Draft) -> None:
        if (content := await self.resumed(job, draft, ScriptPart.SCENES)) is not None:
            draft.scenes = [SceneScript(**s) for s in content]
            return
        messages = prompts.scenes(draft.style, req.notes, draft.logline, draft.title, draft.characters)
        out = await self.generate(messages, ScenesDraft, seed=req.seed)
        draft.scenes = [SceneScript(scene_id=scene_id(i), **s.model_dump()) for i, s in enumerate(out.value.scenes[: req.max_scenes], start=1)]
        await self.store_level(job, draft, ScriptPart.SCENES, [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], messages, out,
                               parents=[ScriptPart.TITLE, ScriptPart.CHARACTERS])

    async def _places(self, job: Job, req: ScriptRequested, draft: Draft) -> None:
        if (content := await self.resumed(job, draft, ScriptPart.PLACES)) is not None:
            draft.places = {p["name"]: Place(**p) for p in content}
            return
        names = [n for n in dict.fromkeys(s.place for s in draft.scenes) if n not in draft.places or draft.places[n].author == "ai"]

        async def describe(name: str) -> tuple[str, Generated[PlaceDraft]]:
            return name, await self.generate(prompts.place(draft.style, req.notes, draft.title, name), PlaceDraft, seed=req.seed)

        # Concurrent requests: the engine batches them into one generate call.
        described = await job.gather(*(describe(n) for n in names))
        for name, out in described:
            draft.places[name] = Place(name=name, description=out.value.description)
        used = {s.place for s in draft.scenes}
        draft.places = {k: v for k, v in draft.places.items() if k in used}
        await self.store_level(job, draft, ScriptPart.PLACES, [p.model_dump() for p in draft.places.values()], prompts.places_summary(names),
                               *[out for _, out in described], parents=[ScriptPart.SCENES])

    async def dialogue(self, job: Job, req: GenerationRequest, draft: Draft, scene_ids: set[str] | None = None) -> None:
        """Dialogue for every scene (or those named), concurrently: one engine batch."""
        await job.gather(*(self._scene_dialogue(job, req, draft, i, scene) for i, scene in enumerate(draft.scenes)
                           if scene_ids is None or scene.scene_id in scene_ids))

    async def _scene_dialogue(self, job: Job, req: GenerationRequest, draft: Draft, i: int, scene: SceneScript) -> None:
        name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
        if (content := await self.resumed(job, draft, name)) is not None:
            scene.dialogue = [DialogueLine(**line) for line in content]
            return
        messages = prompts.dialogue(draft.style, req.notes, draft.title, draft.characters, draft.scenes[max(0, i - 2): i], scene,
                                    draft.places.get(scene.place))
        out = await self.generate(messages, DialogueDraft, seed=req.seed)
        scene.dialogue = [DialogueLine(line_id=line_id(scene.scene_id, n), **line.model_dump()) for n, line in enumerate(out.value.lines, start=1)]
        await self.store_level(job, draft, name, [line.model_dump() for line in scene.dialogue], messages, out,
                               parents=[ScriptPart.SCENES, ScriptPart.CHARACTERS, ScriptPart.PLACES])

    async def revise_scene(self, job: Job, req: ScriptRequested, draft: Draft, part: ScriptAssetId) -> None:
        """A reviewer asked for changes to one scene's dialogue: regenerate just that asset
        (a new version, with the notes in its prompt) and reassemble the script around it."""
        if part.scene not in {s.scene_id for s in draft.scenes}:
            raise ValueError(f"no scene {part.scene} in {draft.script_id}")
        await self.dialogue(job, req, draft, {part.scene})
        await self.assemble(job, draft)

    async def assemble(self, job: Job, draft: Draft) -> None:
        """The whole script as JSON and as Fountain (the same bytes again are the same version)."""
        script = draft.script()
        authorship = _authorship(script)
        parents = [k for k in draft.assets if k not in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN)]
        await self.store_level(job, draft, ScriptPart.SCRIPT, script.model_dump(mode="json"), [], parents=parents, authorship=authorship)
        await self.store_part(job, draft, ScriptPart.FOUNTAIN, to_fountain(script).encode(), "text/x-fountain", "fountain", [], [ScriptPart.SCRIPT],
                              authorship=authorship)

    # --- a person rewrites a level -----------------------------------------------------------

    async def rewrite(self, job: Job, req: ScriptRequested, draft: Draft, level: Level, content: Any) -> Draft:
        """Store a person's version of `level` verbatim (human-authored, with its diff), then
        regenerate only the levels below it."""
        previous = await asyncio.to_thread(self._latest_json, draft.production_id, str(draft.part(level.value)))
        if level is Level.TITLE:
            draft.title, draft.title_author = str(content["title"]), "human"
            stored_content: Any = {"title": draft.title}
        elif level is Level.CHARACTERS:
            draft.characters = [Character(**{**c, "author": "human"}) for c in content]
            stored_content = [c.model_dump() for c in draft.characters]
        elif level is Level.SCENES:
            draft.scenes = [SceneScript(**{**s, "author": "human", "dialogue": []}) for s in content]
            bad = [s.scene_id for s in draft.scenes if not _SCENE_ID.fullmatch(s.scene_id)]
            if bad:
                raise ValueError(f"scene ids {bad} must match {SCENE_ID_PATTERN} (letters, digits, '.', '_'; no '-')")
            stored_content = [s.model_dump(exclude={"dialogue"}) for s in draft.scenes]
        elif level is Level.PLACES:
            draft.places = {p["name"]: Place(**{**p, "author": "human"}) for p in content}
            stored_content = [p.model_dump() for p in draft.places.values()]
        else:
            raise ValueError("dialogue is rewritten line by line (helix.writer.dialogue.rewrite.requested)")
        new_text = json.dumps(stored_content, indent=2, ensure_ascii=False)
        old_text = json.dumps(previous.get("content") if previous else None, indent=2, ensure_ascii=False)
        diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), "previous", "rewritten"))
        await self.store_level(job, draft, level.value, stored_content, [], parents=[], authorship=Authorship.HUMAN, diff=diff)
        below = LEVEL_ORDER.index(level) + 1
        if below < len(LEVEL_ORDER):
            return await self.write(job, req, draft, from_level=LEVEL_ORDER[below])
        await self.assemble(job, draft)
        return draft

    def _latest_json(self, production_id: str, asset_id: str) -> dict[str, Any] | None:
        try:
            versions = self.store.versions(production_id, AssetKind.SCRIPT, asset_id)
        except AssetNotFound:
            return None
        return json.loads(self.store.get(versions[-1].key)) if versions else None

    # --- storing -------------------------------------------------------------------------

    async def resumed(self, job: Job, draft: Draft, name: str) -> Any:
        """The content of a part this job stored before (a retry or redelivery), else None."""
        part = draft.part(name)
        found = await job.resumed(part.kind, str(part))
        if found is None:
            return None
        draft.assets[name] = str(part)
        return json.loads(found[1])["content"]

    async def store_level(self, job: Job, draft: Draft, name: str, content: Any, messages: prompts.Messages,
                          *generations: Generated[Any], parents: list[str], authorship: Authorship = Authorship.AI,
                          diff: str | None = None) -> StoredAsset:
        body = json.dumps({"level": name, "script_id": draft.script_id, "content": content}, indent=2, ensure_ascii=False).encode()
        return await self.store_part(job, draft, name, body, JSON, "json", messages, parents, *generations, authorship=authorship,
                                     diff=diff)

    async def store_part(self, job: Job, draft: Draft, name: str, body: bytes, media_type: str, ext: str, messages: prompts.Messages,
                         parents: list[str], *generations: Generated[Any], authorship: Authorship = Authorship.AI,
                         diff: str | None = None) -> StoredAsset:
        part = draft.part(name)
        parent_ids = [draft.assets[p] for p in parents if p in draft.assets]
        parameters: dict[str, Any] = {"level": name, **(generations[0].parameters if generations else {})}
        extra: dict[str, Any] = {"diff_from_previous": diff}
        stored = await job.store(GeneratedAsset(
            kind=part.kind, asset_id=str(part), data=body, media_type=media_type, ext=ext,
            model=self.generator.model_ref if authorship is not Authorship.HUMAN else None,
            inputs={"messages": messages} if messages else {"assembled_from": parent_ids}, parameters=parameters,
            seed=job.request.seed, parents=parent_ids, authorship=authorship, cost=total_cost([g.cost for g in generations]),
            extra=extra))
        draft.assets[name] = str(part)
        return stored


def _authorship(script: Script) -> Authorship:
    authors = {script.title_author, *(c.author for c in script.characters), *(s.author for s in script.scenes),
               *(p.author for p in script.places), *(line.author for s in script.scenes for line in s.dialogue)}
    return Authorship.MIXED if len(authors) > 1 else (Authorship.HUMAN if authors == {"human"} else Authorship.AI)


_SCENE_ID = re.compile(SCENE_ID_PATTERN)


def draft_from_store(store: AssetStore, production_id: str, script_id: str) -> Draft | None:
    """Rebuild a script's state from the latest version of its assembled JSON."""
    script_asset = ScriptAssetId(script_id, ScriptPart.SCRIPT)
    try:
        versions = store.versions(production_id, AssetKind.SCRIPT, str(script_asset))
    except AssetNotFound:
        return None
    if not versions:
        return None
    script = Script.model_validate(json.loads(store.get(versions[-1].key))["content"])
    draft = Draft(production_id, script_id, script.logline, title=script.title, title_author=script.title_author,
                  characters=script.characters, scenes=script.scenes, places={p.name: p for p in script.places})
    for part in (ScriptPart.TITLE, ScriptPart.CHARACTERS, ScriptPart.SCENES, ScriptPart.PLACES, ScriptPart.SCRIPT, ScriptPart.FOUNTAIN):
        draft.assets[part.value] = str(ScriptAssetId(script_id, part))
    for scene in script.scenes:
        draft.assets[scene_part(ScriptPart.DIALOGUE, scene.scene_id)] = str(ScriptAssetId(script_id, ScriptPart.DIALOGUE, scene.scene_id))
    return draft
