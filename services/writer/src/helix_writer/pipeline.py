"""Hierarchical script writing: each level its own grammar-constrained generation and its
own asset, conditioned on the levels above (logline → title → characters → scenes →
places → dialogue per scene), then the whole script as JSON and as Fountain.

Every level is stored as a new version of its asset with lineage (the levels it was made
from), and announced with `helix.asset.generated`; job progress goes to
`helix.jobs.status.v1` after each level. A person's rewrite of a level is stored verbatim
as a human-authored version (with its diff against the previous one), and only the levels
below it are regenerated.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from helix.assets import AssetNotFound, AssetStore, StoredAsset
from helix.events import (
    Actor,
    AssetGenerated,
    AssetKind,
    Authorship,
    DialogueRewriteRequested,
    EventData,
    GenerationRequest,
    JobCompleted,
    JobProgress,
    ModelRef,
    ScriptRequested,
    StoryboardRequested,
)
from helix.story import (
    LEVEL_ORDER,
    Character,
    CharactersDraft,
    DialogueDraft,
    DialogueLine,
    DialogueRewrite,
    Level,
    LineCandidates,
    LineDraft,
    Place,
    PlaceDraft,
    SceneScript,
    ScenesDraft,
    Script,
    Shot,
    Storyboard,
    StoryboardDraft,
    TitleDraft,
    json_budget,
)
from helix_writer.fountain import to_fountain

D = TypeVar("D", bound=BaseModel)
SERVICE = Actor(subject="writer", kind="service")
JSON = "application/json"


class StructuredGenerator(Protocol):
    """What the pipeline needs from a model: JSON that validates against a schema."""

    model_ref: ModelRef

    async def generate_json(self, messages: list[dict[str, str]], schema: type[D], *, max_new_tokens: int, seed: int | None) -> D: ...


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
    assets: dict[str, str] = field(default_factory=dict)  # level (or scene dialogue) -> asset id

    def script(self) -> Script:
        return Script(production_id=self.production_id, logline=self.logline, title=self.title, title_author=self.title_author,  # type: ignore[arg-type]
                      characters=self.characters, places=list(self.places.values()), scenes=self.scenes)


def _system(style: str, notes: str | None = None) -> dict[str, str]:
    extra = f" Notes to follow: {notes}" if notes else ""  # e.g. a reviewer's revision notes
    return {"role": "system", "content": f"You are a screenwriter. Style: {style or 'any'}.{extra} Answer with JSON only."}


class StoryWriter:
    def __init__(self, generator: StructuredGenerator, store: AssetStore, publish: Callable[[EventData], Awaitable[Any]]) -> None:
        self.generator = generator
        self.store = store
        self.publish = publish

    async def _json(self, messages: list[dict[str, str]], schema: type[D], *, seed: int | None) -> D:
        # The budget is the longest JSON the schema allows, so a constrained generation
        # always closes, however long a (random) model keeps its strings.
        return await self.generator.generate_json(messages, schema, max_new_tokens=json_budget(schema), seed=seed)

    # --- the levels ------------------------------------------------------------------------

    async def write(self, request: ScriptRequested, draft: Draft | None = None, *, from_level: Level = Level.TITLE) -> Draft:
        """Generate `from_level` and every level below it; levels above come from `draft`."""
        draft = draft or Draft(request.production_id, f"script-{request.job_id}", request.logline, request.style or "")
        todo = LEVEL_ORDER[LEVEL_ORDER.index(from_level):]
        for n, level in enumerate(todo, start=1):
            await getattr(self, f"_{level.value}")(request, draft)
            await self._progress(request, f"{level.value} written", n / (len(todo) + 1), draft)
        await self._assemble(request, draft)
        await self.publish(JobCompleted(production_id=request.production_id, job_id=request.job_id, service="writer",
                                        at=datetime.now(UTC), asset_ids=sorted(set(draft.assets.values()))))
        return draft

    async def _title(self, req: ScriptRequested, draft: Draft) -> None:
        messages = [_system(draft.style, req.notes), {"role": "user", "content": f"Logline: {draft.logline}\nWrite the title."}]
        out = await self._json(messages, TitleDraft, seed=req.seed)
        draft.title, draft.title_author = out.title, "ai"
        await self._store_level(req, draft, "title", {"title": draft.title}, messages, parents=[])

    async def _characters(self, req: ScriptRequested, draft: Draft) -> None:
        hint = f"\nPerformers to cast: {', '.join(req.performers)}" if req.performers else ""
        messages = [_system(draft.style, req.notes), {"role": "user", "content": f"Logline: {draft.logline}\nTitle: {draft.title}{hint}\nList the characters."}]
        out = await self._json(messages, CharactersDraft, seed=req.seed)
        draft.characters = [Character(**c.model_dump()) for c in out.characters]
        await self._store_level(req, draft, "characters", [c.model_dump() for c in draft.characters], messages, parents=["title"])

    async def _scenes(self, req: ScriptRequested, draft: Draft) -> None:
        cast = "; ".join(f"{c.name}: {c.description}" for c in draft.characters)
        messages = [_system(draft.style, req.notes), {"role": "user", "content": f"Logline: {draft.logline}\nTitle: {draft.title}\nCharacters: {cast}\nOutline the scenes."}]
        out = await self._json(messages, ScenesDraft, seed=req.seed)
        draft.scenes = [SceneScript(scene_id=f"s{i}", **s.model_dump()) for i, s in enumerate(out.scenes[: req.max_scenes], start=1)]
        await self._store_level(req, draft, "scenes", [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], messages,
                                parents=["title", "characters"])

    async def _places(self, req: ScriptRequested, draft: Draft) -> None:
        names = [n for n in dict.fromkeys(s.place for s in draft.scenes) if n not in draft.places or draft.places[n].author == "ai"]

        async def describe(name: str) -> tuple[str, dict[str, str], PlaceDraft]:
            messages = [_system(draft.style, req.notes), {"role": "user", "content": f"Title: {draft.title}\nDescribe the place: {name}"}]
            return name, messages[1], await self._json(messages, PlaceDraft, seed=req.seed)

        # Concurrent requests: the engine batches them into one generate call.
        for name, _prompt, out in await asyncio.gather(*(describe(n) for n in names)):
            draft.places[name] = Place(name=name, description=out.description)
        used = {s.place for s in draft.scenes}
        draft.places = {k: v for k, v in draft.places.items() if k in used}
        await self._store_level(req, draft, "places", [p.model_dump() for p in draft.places.values()],
                                [{"role": "user", "content": f"Describe the places: {', '.join(names)}"}], parents=["scenes"])

    async def _dialogue(self, req: ScriptRequested, draft: Draft, scene_ids: set[str] | None = None) -> None:
        """Dialogue for every scene (or those named), concurrently: one engine batch."""
        await asyncio.gather(*(self._scene_dialogue(req, draft, i, scene) for i, scene in enumerate(draft.scenes)
                               if scene_ids is None or scene.scene_id in scene_ids))

    async def _scene_dialogue(self, req: GenerationRequest, draft: Draft, i: int, scene: SceneScript) -> None:
        cast = ", ".join(c.name for c in draft.characters)
        before = " / ".join(s.beat for s in draft.scenes[max(0, i - 2) : i]) or "(this is the first scene)"  # the story so far, kept short for the context
        place = draft.places.get(scene.place)
        messages = [_system(draft.style, req.notes), {"role": "user", "content": (
            f"Title: {draft.title}\nCharacters: {cast}\nEarlier scenes: {before}\n"
            f"Place: {scene.place}: {place.description if place else ''}\nThis scene ({scene.plot_element.value}): {scene.beat}\n"
            "Write the dialogue.")}]
        out = await self._json(messages, DialogueDraft, seed=req.seed)
        scene.dialogue = [DialogueLine(line_id=f"{scene.scene_id}-l{n}", **line.model_dump()) for n, line in enumerate(out.lines, start=1)]
        await self._store_level(req, draft, f"dialogue-{scene.scene_id}", [line.model_dump() for line in scene.dialogue], messages,
                                parents=["scenes", "characters", "places"], kind=AssetKind.DIALOGUE)

    async def revise_scene_asset(self, req: ScriptRequested, draft: Draft, level: str) -> None:
        """A reviewer asked for changes to one scene's dialogue or storyboard: regenerate just
        that asset (a new version, with the notes in its prompt) and what is built from it."""
        kind, _, scene_id = level.partition("-")
        if scene_id not in {s.scene_id for s in draft.scenes}:
            raise ValueError(f"no scene {scene_id} in {draft.script_id}")
        if kind == "dialogue":
            await self._dialogue(req, draft, {scene_id})
            await self._assemble(req, draft)
        else:
            await self.storyboard(StoryboardRequested(production_id=req.production_id, job_id=req.job_id, requested_by=req.requested_by,
                                                      notes=req.notes, script_asset_id=draft.assets["script"], scene_ids=[scene_id]), draft)
            return
        await self.publish(JobCompleted(production_id=req.production_id, job_id=req.job_id, service="writer",
                                        at=datetime.now(UTC), asset_ids=[draft.assets[level]]))

    async def _assemble(self, req: ScriptRequested, draft: Draft) -> None:
        script = draft.script()
        parents = [k for k in draft.assets if k != "script" and k != "fountain"]
        await self._store_level(req, draft, "script", script.model_dump(mode="json"), [], parents=parents, kind=AssetKind.SCRIPT,
                                authorship=self._authorship(script))
        await self._store(req, draft, "fountain", to_fountain(script).encode(), "text/x-fountain", "fountain", [], ["script"],
                          AssetKind.SCRIPT, self._authorship(script))

    # --- storing -------------------------------------------------------------------------

    @staticmethod
    def _authorship(script: Script) -> Authorship:
        authors = {script.title_author, *(c.author for c in script.characters), *(s.author for s in script.scenes),
                   *(p.author for p in script.places), *(line.author for s in script.scenes for line in s.dialogue)}
        return Authorship.MIXED if len(authors) > 1 else (Authorship.HUMAN if authors == {"human"} else Authorship.AI)

    async def _store_level(self, req: GenerationRequest, draft: Draft, name: str, content: Any, messages: list[dict[str, str]],
                           *, parents: list[str], kind: AssetKind = AssetKind.SCRIPT, authorship: Authorship = Authorship.AI,
                           diff: str | None = None) -> StoredAsset:
        body = json.dumps({"level": name, "script_id": draft.script_id, "content": content}, indent=2, ensure_ascii=False).encode()
        return await self._store(req, draft, name, body, JSON, "json", messages, parents, kind, authorship, diff)

    async def _store(self, req: GenerationRequest, draft: Draft, name: str, body: bytes, media_type: str, ext: str,
                     messages: list[dict[str, str]], parents: list[str], kind: AssetKind, authorship: Authorship,
                     diff: str | None = None) -> StoredAsset:
        asset_id = f"{draft.script_id}-{name}"
        parent_ids = [draft.assets[p] for p in parents if p in draft.assets]
        parameters = {"level": name, "grammar": "json-schema" if messages else None, "temperature": 0.8}
        provenance = {"model": self.generator.model_ref.model_dump(), "inputs": messages, "parameters": parameters,
                      "parents": parent_ids, "authorship": authorship.value, "diff_from_previous": diff}
        stored = await asyncio.to_thread(self.store.put, production_id=draft.production_id, kind=kind, asset_id=asset_id,
                                         data=body, media_type=media_type, ext=ext, provenance=provenance)
        draft.assets[name] = asset_id
        await self.publish(AssetGenerated(
            **stored.event_fields(), job_id=req.job_id, model=self.generator.model_ref if authorship is not Authorship.HUMAN else None,
            inputs={"messages": messages} if messages else {"assembled_from": parent_ids}, parameters=parameters, seed=req.seed,
            parent_asset_ids=parent_ids, authorship=authorship, generated_by=SERVICE, generated_at=datetime.now(UTC),
            requested_by=req.requested_by))
        return stored

    async def _progress(self, req: GenerationRequest, step: str, fraction: float, draft: Draft) -> None:
        await self.publish(JobProgress(production_id=req.production_id, job_id=req.job_id, service="writer", at=datetime.now(UTC),
                                       step=step, fraction=round(fraction, 3), asset_ids=sorted(set(draft.assets.values()))))

    # --- storyboards and dialogue adjustments -----------------------------------------------

    async def storyboard(self, req: StoryboardRequested, draft: Draft) -> list[str]:
        """A shot list per scene (all scenes, or those asked for), generated concurrently."""
        scenes = [s for s in draft.scenes if not req.scene_ids or s.scene_id in req.scene_ids]
        if not scenes:
            raise ValueError(f"none of the scenes {req.scene_ids} is in {draft.script_id}")
        cast = ", ".join(c.name for c in draft.characters)

        async def board(scene: SceneScript) -> str:
            said = " / ".join(f"{line.speaker}: {line.text}" for line in scene.dialogue)
            messages = [_system(draft.style, req.notes), {"role": "user", "content": (
                f"Characters: {cast}\nPlace: {scene.place}\nScene: {scene.beat}\nDialogue: {said}\nPlan the shots.")}]
            out = await self._json(messages, StoryboardDraft, seed=req.seed)
            shots = [Shot(shot_id=f"{scene.scene_id}-shot{n}", location=scene.place, **shot.model_dump())
                     for n, shot in enumerate(out.shots, start=1)]
            content = Storyboard(production_id=draft.production_id, script_id=draft.script_id, scene_id=scene.scene_id, shots=shots)
            name = f"storyboard-{scene.scene_id}"
            await self._store_level(req, draft, name, content.model_dump(mode="json"), messages,
                                    parents=["script", f"dialogue-{scene.scene_id}"], kind=AssetKind.STORYBOARD)
            return draft.assets[name]

        asset_ids = await asyncio.gather(*(board(scene) for scene in scenes))
        await self.publish(JobCompleted(production_id=req.production_id, job_id=req.job_id, service="writer",
                                        at=datetime.now(UTC), asset_ids=list(asset_ids)))
        return list(asset_ids)

    async def rewrite_dialogue(self, req: DialogueRewriteRequested, draft: Draft) -> str:
        """Candidates for some lines of a scene, for tone, length or market."""
        scene_id = req.dialogue_asset_id.removeprefix(f"{draft.script_id}-dialogue-")
        scene = next((s for s in draft.scenes if s.scene_id == scene_id), None)
        if scene is None:
            raise ValueError(f"{req.dialogue_asset_id} is not a dialogue asset of {draft.script_id}")
        lines = [line for line in scene.dialogue if not req.line_ids or line.line_id in req.line_ids]
        goal = {k: v for k, v in {"tone": req.tone, "target_syllables": req.target_syllables, "target_seconds": req.target_seconds,
                                   "market": req.market}.items() if v is not None}
        wants = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in goal.items()) or "make it better"

        async def candidate(line: DialogueLine, n: int) -> str:
            messages = [_system(draft.style, req.notes), {"role": "user", "content": (
                f"Scene: {scene.beat}\n{line.speaker} says: {line.text}\nRewrite the line ({wants}). Variant {n}.")}]
            seed = None if req.seed is None else req.seed + n
            return (await self._json(messages, LineDraft, seed=seed)).text

        rewritten = []
        for line in lines:  # candidates of a line are generated together: one batch
            texts = await asyncio.gather(*(candidate(line, n) for n in range(1, req.candidates + 1)))
            rewritten.append(LineCandidates(line_id=line.line_id, speaker=line.speaker, original=line.text, candidates=list(texts)))
        content = DialogueRewrite(dialogue_asset_id=req.dialogue_asset_id, goal=goal, lines=rewritten)
        name = f"dialogue-{scene_id}-rewrite-{req.job_id}"
        await self._store_level(req, draft, name, content.model_dump(mode="json"), [], parents=[f"dialogue-{scene_id}"],
                                kind=AssetKind.DIALOGUE)
        await self.publish(JobCompleted(production_id=req.production_id, job_id=req.job_id, service="writer",
                                        at=datetime.now(UTC), asset_ids=[draft.assets[name]]))
        return draft.assets[name]

    # --- a person rewrites a level -----------------------------------------------------------

    async def rewrite(self, req: ScriptRequested, draft: Draft, level: Level, content: Any) -> Draft:
        """Store a person's version of `level` verbatim (human-authored, with its diff), then
        regenerate only the levels below it."""
        previous = await asyncio.to_thread(self._latest_json, draft.production_id, f"{draft.script_id}-{level.value}")
        if level is Level.TITLE:
            draft.title, draft.title_author = str(content["title"]), "human"
            stored_content: Any = {"title": draft.title}
        elif level is Level.CHARACTERS:
            draft.characters = [Character(**{**c, "author": "human"}) for c in content]
            stored_content = [c.model_dump() for c in draft.characters]
        elif level is Level.SCENES:
            draft.scenes = [SceneScript(**{**s, "author": "human", "dialogue": []}) for s in content]
            stored_content = [s.model_dump(exclude={"dialogue"}) for s in draft.scenes]
        elif level is Level.PLACES:
            draft.places = {p["name"]: Place(**{**p, "author": "human"}) for p in content}
            stored_content = [p.model_dump() for p in draft.places.values()]
        else:
            raise ValueError("dialogue is rewritten line by line (helix.writer.dialogue.rewrite.requested)")
        new_text = json.dumps(stored_content, indent=2, ensure_ascii=False)
        old_text = json.dumps(previous.get("content") if previous else None, indent=2, ensure_ascii=False)
        diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), "previous", "rewritten"))
        await self._store_level(req, draft, level.value, stored_content, [], parents=[], authorship=Authorship.HUMAN, diff=diff)
        below = LEVEL_ORDER.index(level) + 1
        if below < len(LEVEL_ORDER):
            return await self.write(req, draft, from_level=LEVEL_ORDER[below])
        await self._assemble(req, draft)
        return draft

    def _latest_json(self, production_id: str, asset_id: str) -> dict[str, Any] | None:
        try:
            versions = self.store.versions(production_id, AssetKind.SCRIPT, asset_id)
        except AssetNotFound:
            return None
        return json.loads(self.store.get(versions[-1].key)) if versions else None


_LEVEL_ASSET = re.compile(r"^(?P<script>script-.+?)-(?P<level>title|characters|scenes|places|script|fountain|(?:dialogue|storyboard)-.+)$")


def split_asset_id(asset_id: str) -> tuple[str, str] | None:
    """(script id, level) of one of the writer's assets: `script-<job>-<level…>`."""
    match = _LEVEL_ASSET.fullmatch(asset_id)
    return (match["script"], match["level"]) if match else None


def draft_from_store(store: AssetStore, production_id: str, script_id: str) -> Draft | None:
    """Rebuild a script's state from the latest version of its assembled JSON."""
    versions = store.versions(production_id, AssetKind.SCRIPT, f"{script_id}-script")
    if not versions:
        return None
    script = Script.model_validate(json.loads(store.get(versions[-1].key))["content"])
    draft = Draft(production_id, script_id, script.logline, title=script.title, title_author=script.title_author,
                  characters=script.characters, scenes=script.scenes, places={p.name: p for p in script.places})
    for name in ("title", "characters", "scenes", "places", "script", "fountain"):
        draft.assets[name] = f"{script_id}-{name}"
    for scene in script.scenes:
        draft.assets[f"dialogue-{scene.scene_id}"] = f"{script_id}-dialogue-{scene.scene_id}"
    return draft
