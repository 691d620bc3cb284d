"""Hierarchical script writing at episode scale: each level its own grammar-constrained
generation and its own asset, conditioned on the levels above (logline → title →
characters → an outline by acts and the scenes of each act → places → dialogue per scene,
as long as each scene needs), then the whole script as JSON and as Fountain.

- Every level is stored through the generator kit (`Job.store`) as a new version of its
  asset with lineage; a job that runs again reuses what it stored (`Job.resumed`).
- Budgets are counted in the model's tokens (`json_budget` with the engine's worst case per
  character), and long lists are written in chunks that fit the model's context: scenes a
  few at a time per act, dialogue a few lines at a time until the scene is done (≤ 30).
- A person's words are never lost: when a level is regenerated, a level below it that a
  person wrote or changed is kept and marked possibly stale (`Script.stale`) for the person
  to decide, unless they asked for it to be regenerated too.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import math
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
    MAX_ACTS,
    MAX_CHARACTERS,
    MAX_LINES_PER_SCENE,
    Act,
    ActsDraft,
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
    StaleMark,
    TitleDraft,
    at_most,
    exactly,
    json_budget,
)
from helix_writer import prompts
from helix_writer.fountain import to_fountain

D = TypeVar("D", bound=BaseModel)
JSON = "application/json"
SCENES_PER_ACT_CALL = 6


@dataclass(frozen=True)
class Generated(Generic[D]):
    """A structured generation: the validated value, the parameters it really ran with, its model time."""

    value: D
    parameters: dict[str, Any]
    cost: AssetCost | None = None


class StructuredGenerator(Protocol):
    """What the writer needs from a model: JSON that validates against a schema, and the
    numbers to size its requests (tokens per character at worst; tokens left after a prompt)."""

    model_ref: ModelRef
    tokens_per_char: int

    async def generate_json(self, messages: prompts.Messages, schema: type[D], *, max_new_tokens: int, seed: int | None) -> Generated[D]: ...

    def room(self, messages: prompts.Messages) -> int: ...


@dataclass
class Draft:
    """The state of one script while it is being (re)written."""

    production_id: str
    script_id: str
    logline: str
    style: str = ""
    locale: str = "en"
    target_locales: list[str] = field(default_factory=list)
    title: str = ""
    title_author: str = "ai"
    acts: list[Act] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    scenes: list[SceneScript] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    stale: list[StaleMark] = field(default_factory=list)
    assets: dict[str, str] = field(default_factory=dict)  # part name (`title`, `dialogue-s1`, …) -> asset id
    examples: str | None = None  # a studio's prefix set (few-shot scripts)

    def script(self) -> Script:
        return Script(production_id=self.production_id, logline=self.logline, title=self.title, title_author=self.title_author,  # type: ignore[arg-type]
                      locale=self.locale, target_locales=self.target_locales, acts=self.acts, characters=self.characters, places=list(self.places.values()),
                      scenes=self.scenes, stale=self.stale)

    def part(self, name: str) -> ScriptAssetId:
        return ScriptAssetId.of(self.script_id, name)

    def human(self, name: str) -> bool:
        """Whether a person wrote or changed any of this part."""
        if name == ScriptPart.TITLE:
            return self.title_author == "human"
        if name == ScriptPart.CHARACTERS:
            return any(c.author == "human" for c in self.characters)
        if name == ScriptPart.SCENES:
            return any(s.author == "human" for s in self.scenes) or any(a.author == "human" for a in self.acts)
        if name == ScriptPart.PLACES:
            return any(p.author == "human" for p in self.places.values())
        scene = next((s for s in self.scenes if scene_part(ScriptPart.DIALOGUE, s.scene_id) == name), None)
        return bool(scene and any(line.author == "human" or line.selected_by for line in scene.dialogue))

    def mark_stale(self, name: str, because: str, job_id: str) -> None:
        self.stale = [m for m in self.stale if m.part != name] + [StaleMark(part=name, because=because, job_id=job_id)]

    def fresh(self, name: str) -> None:
        self.stale = [m for m in self.stale if m.part != name]


class StoryWriter:
    """The writer's domain steps; each runs inside a kit `Job`."""

    def __init__(self, generator: StructuredGenerator, store: AssetStore) -> None:
        self.generator = generator
        self.store = store

    async def generate(self, messages: prompts.Messages, schema: type[D], *, seed: int | None, salt: str = "") -> Generated[D]:
        # The budget is the most tokens the longest JSON the schema allows can take, so a
        # constrained generation always closes, however long a (random) model keeps its strings.
        # A request's seed makes it reproducible; each step draws from its own seed of it.
        step_seed = None if seed is None else _derive(seed, salt)
        return await self.generator.generate_json(messages, schema, max_new_tokens=self.budget(schema), seed=step_seed)

    def budget(self, schema: type[BaseModel]) -> int:
        return json_budget(schema, self.generator.tokens_per_char)

    def fitting(self, messages: prompts.Messages, make: Any, largest: int) -> type[BaseModel]:
        """The largest `make(n)` schema (n ≤ largest) whose budget fits what the context leaves."""
        room = self.generator.room(messages)
        for n in range(largest, 0, -1):
            if self.budget(make(n)) <= room:
                return make(n)
        raise ValueError(f"the prompt leaves {room} tokens of the model's context: not enough for one item")

    @staticmethod
    def sys(draft: Draft, notes: str | None) -> dict[str, str]:
        return prompts.system(draft.style, notes, draft.locale, draft.examples)

    # --- the levels ------------------------------------------------------------------------

    async def write(self, job: Job, request: ScriptRequested, draft: Draft, *, from_level: Level = Level.TITLE,
                    keep_human: bool = True, targeted: bool = True, only: bool = False) -> Draft:
        """Generate `from_level` (and, unless `only`, every level below it). A level a person
        wrote or changed is kept and marked stale when `keep_human` — except `from_level` itself
        when it is `targeted` (a person asked for it); with `only`, the levels below are kept
        as they are and marked stale."""
        todo = [from_level] if only else list(LEVEL_ORDER[LEVEL_ORDER.index(from_level):])
        if only:
            for level in LEVEL_ORDER[LEVEL_ORDER.index(from_level) + 1:]:
                for name in self._parts(draft, level):
                    draft.mark_stale(name, from_level.value, job.job_id)
        for n, level in enumerate(todo, start=1):
            await self._level(job, request, draft, level, keep_human=keep_human and not (targeted and level is from_level))
            await job.progress(f"{level.value} written", n / (len(todo) + 1))
        await self.assemble(job, draft)
        return draft

    @staticmethod
    def _parts(draft: Draft, level: Level) -> list[str]:
        if level is Level.DIALOGUE:
            return [scene_part(ScriptPart.DIALOGUE, s.scene_id) for s in draft.scenes]
        return [level.value]

    async def _level(self, job: Job, req: ScriptRequested, draft: Draft, level: Level, *, keep_human: bool) -> None:
        """One level (dispatch a grep can follow); a person's version of it is kept when `keep_human`."""
        if level is Level.DIALOGUE:
            await self.dialogue(job, req, draft, keep_human=keep_human)
            return
        if keep_human and draft.human(level.value):
            draft.mark_stale(level.value, "a level above", job.job_id)
            return
        draft.fresh(level.value)
        if level is Level.TITLE:
            await self._title(job, req, draft)
        elif level is Level.CHARACTERS:
            await self._characters(job, req, draft)
        elif level is Level.SCENES:
            await self._scenes(job, req, draft)
        else:
            await self._places(job, req, draft)

    async def _title(self, job: Job, req: GenerationRequest, draft: Draft) -> None:
        if (body := await self.resumed(job, draft, ScriptPart.TITLE)) is not None:
            draft.title, draft.title_author = body["content"]["title"], "ai"
            return
        messages = prompts.title(self.sys(draft, req.notes), draft.logline)
        out = await self.generate(messages, TitleDraft, seed=req.seed)
        draft.title, draft.title_author = out.value.title, "ai"
        await self.store_level(job, draft, ScriptPart.TITLE, {"title": draft.title}, messages, out, parents=[])

    async def _characters(self, job: Job, req: GenerationRequest, draft: Draft, *, more: int | None = None) -> None:
        if (body := await self.resumed(job, draft, ScriptPart.CHARACTERS)) is not None:
            draft.characters = [Character(**c) for c in body["content"]]
            return
        performers = list(getattr(req, "performers", []))
        existing = draft.characters if more else []
        messages = prompts.characters(self.sys(draft, req.notes), draft.logline, draft.title, performers, existing, more)
        schema = exactly(CharactersDraft, "characters", more) if more else CharactersDraft
        out = await self.generate(messages, schema, seed=req.seed)
        taken = {c.name.lower() for c in existing}
        new = [Character(**c.model_dump()) for c in out.value.characters if c.name.lower() not in taken]
        draft.characters = [*existing, *new][:MAX_CHARACTERS]
        await self.store_level(job, draft, ScriptPart.CHARACTERS, [c.model_dump() for c in draft.characters], messages, out,
                               parents=[ScriptPart.TITLE])

    async def _scenes(self, job: Job, req: ScriptRequested, draft: Draft) -> None:
        """An outline by acts, then the scenes of each act a few at a time (acts side by side)."""
        if (body := await self.resumed(job, draft, ScriptPart.SCENES)) is not None:
            draft.acts = [Act(**a) for a in body.get("acts", [])]
            draft.scenes = _keep_dialogue(draft.scenes, [SceneScript(**s) for s in body["content"]])
            return
        total = req.max_scenes
        n_acts = min(MAX_ACTS, max(1, math.ceil(total / 8)))
        sys = self.sys(draft, req.notes)
        act_messages = prompts.acts(sys, draft.logline, draft.title, draft.characters, n_acts)
        outline = await self.generate(act_messages, exactly(ActsDraft, "acts", n_acts), seed=req.seed)
        draft.acts = [Act(number=n, beat=a.beat) for n, a in enumerate(outline.value.acts, start=1)]
        shares = [total // n_acts + (1 if n < total % n_acts else 0) for n in range(n_acts)]

        async def act_scenes(act: Act, count: int) -> tuple[list[SceneScript], list[Generated[Any]]]:
            written: list[SceneScript] = []
            outs: list[Generated[Any]] = []
            while len(written) < count:
                want = min(SCENES_PER_ACT_CALL, count - len(written))
                messages = prompts.scenes(sys, draft.logline, draft.title, draft.characters, draft.acts, act, written, want)
                schema = self.fitting(messages, lambda n: exactly(ScenesDraft, "scenes", n), want)
                out = await self.generate(messages, schema, seed=req.seed, salt=f"act{act.number}-{len(written)}")
                written += [SceneScript(scene_id="pending", act=act.number, **s.model_dump()) for s in out.value.scenes]
                outs.append(out)
            return written, outs

        per_act = await job.gather(*(act_scenes(act, count) for act, count in zip(draft.acts, shares, strict=True)))
        scenes = [s for written, _ in per_act for s in written]
        for n, scene in enumerate(scenes, start=1):
            scene.scene_id = scene_id(n)
        draft.scenes = _keep_dialogue(draft.scenes, scenes)
        outs = [outline, *(o for _, written_outs in per_act for o in written_outs)]
        await self.store_level(job, draft, ScriptPart.SCENES, [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], act_messages,
                               *outs, parents=[ScriptPart.TITLE, ScriptPart.CHARACTERS],
                               extra={"acts": [a.model_dump() for a in draft.acts]})

    async def _places(self, job: Job, req: GenerationRequest, draft: Draft) -> None:
        if (body := await self.resumed(job, draft, ScriptPart.PLACES)) is not None:
            draft.places = {p["name"]: Place(**p) for p in body["content"]}
            return
        names = [n for n in dict.fromkeys(s.place for s in draft.scenes) if n not in draft.places or draft.places[n].author == "ai"]
        sys = self.sys(draft, req.notes)

        async def describe(name: str) -> tuple[str, Generated[PlaceDraft]]:
            beats = [s.beat for s in draft.scenes if s.place == name]
            return name, await self.generate(prompts.place(sys, draft.title, name, beats), PlaceDraft, seed=req.seed, salt=f"place-{name}")

        # Concurrent requests: the engine batches them.
        described = await job.gather(*(describe(n) for n in names))
        for name, out in described:
            draft.places[name] = Place(name=name, description=out.value.description)
        used = {s.place for s in draft.scenes}
        draft.places = {k: v for k, v in draft.places.items() if k in used}
        await self.store_level(job, draft, ScriptPart.PLACES, [p.model_dump() for p in draft.places.values()], prompts.places_summary(names),
                               *[out for _, out in described], parents=[ScriptPart.SCENES])

    async def dialogue(self, job: Job, req: GenerationRequest, draft: Draft, scene_ids: set[str] | None = None, *,
                       keep_human: bool = True, more: int | None = None) -> None:
        """Dialogue for every scene (or those named), concurrently: the engine batches them.
        A scene whose dialogue a person wrote is kept (marked stale) when `keep_human`."""
        chosen = [(i, s) for i, s in enumerate(draft.scenes) if scene_ids is None or s.scene_id in scene_ids]
        todo = []
        for i, scene in chosen:
            name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
            if more is None and keep_human and draft.human(name):
                draft.mark_stale(name, "a level above", job.job_id)
            else:
                draft.fresh(name)
                todo.append((i, scene))
        await job.gather(*(self._scene_dialogue(job, req, draft, i, scene, more=more) for i, scene in todo))

    async def _scene_dialogue(self, job: Job, req: GenerationRequest, draft: Draft, i: int, scene: SceneScript, *,
                              more: int | None = None) -> None:
        name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
        if (body := await self.resumed(job, draft, name)) is not None:
            scene.dialogue = [DialogueLine(**line) for line in body["content"]]
            return
        sys = self.sys(draft, req.notes)
        lines = list(scene.dialogue) if more else []
        limit = min(MAX_LINES_PER_SCENE, len(lines) + more) if more else MAX_LINES_PER_SCENE
        outs: list[Generated[Any]] = []
        messages: prompts.Messages = []
        while len(lines) < limit:
            messages = prompts.dialogue(sys, draft.logline, draft.title, draft.characters, draft.scenes[i - 1] if i else None, scene,
                                        draft.places.get(scene.place), lines)
            want = min(8, limit - len(lines))
            schema = self.fitting(messages, lambda n: at_most(DialogueDraft, "lines", n), want)
            out = await self.generate(messages, schema, seed=req.seed, salt=f"{name}-{len(lines)}")
            outs.append(out)
            lines += [DialogueLine(line_id=line_id(scene.scene_id, len(lines) + n), **line.model_dump())
                      for n, line in enumerate(out.value.lines, start=1)][: limit - len(lines)]
            if out.value.scene_done and not more:
                break
        scene.dialogue = lines
        await self.store_level(job, draft, name, [line.model_dump() for line in scene.dialogue], messages, *outs,
                               parents=[ScriptPart.SCENES, ScriptPart.CHARACTERS, ScriptPart.PLACES])

    async def continue_level(self, job: Job, req: GenerationRequest, draft: Draft, level: Level, count: int, scene: str | None) -> None:
        """More of a level: characters, scenes (with their places and dialogue), or lines of one scene."""
        if level is Level.CHARACTERS:
            await self._characters(job, req, draft, more=count)
        elif level is Level.SCENES:
            last = draft.scenes[-1] if draft.scenes else None
            act = next((a for a in draft.acts if last and a.number == last.act), None) or Act(number=1, beat=draft.logline)
            sys = self.sys(draft, req.notes)
            messages = prompts.scenes(sys, draft.logline, draft.title, draft.characters, draft.acts or [act], act, draft.scenes, count)
            out = await self.generate(messages, self.fitting(messages, lambda n: exactly(ScenesDraft, "scenes", n), count), seed=req.seed)
            start = len(draft.scenes)
            added = [SceneScript(scene_id=scene_id(start + n), act=act.number, **s.model_dump()) for n, s in enumerate(out.value.scenes, 1)]
            draft.scenes += added
            await self.store_level(job, draft, ScriptPart.SCENES, [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], messages, out,
                                   parents=[ScriptPart.TITLE, ScriptPart.CHARACTERS], extra={"acts": [a.model_dump() for a in draft.acts]})
            if any(s.place not in draft.places for s in added):
                await self._places(job, req, draft)
            await self.dialogue(job, req, draft, {s.scene_id for s in added})
        elif level is Level.DIALOGUE:
            if scene not in {s.scene_id for s in draft.scenes}:
                raise ValueError(f"continue dialogue: no scene {scene!r} in {draft.script_id}")
            await self.dialogue(job, req, draft, {scene}, more=count)  # type: ignore[arg-type]
        else:
            raise ValueError(f"the {level.value} level cannot be continued (characters, scenes and dialogue can)")
        await self.assemble(job, draft)

    async def revise_scene(self, job: Job, req: ScriptRequested, draft: Draft, part: ScriptAssetId) -> None:
        """A reviewer asked for changes to one scene's dialogue: regenerate just that asset
        (a new version, with the notes in its prompt) and reassemble the script around it."""
        if part.scene not in {s.scene_id for s in draft.scenes}:
            raise ValueError(f"no scene {part.scene} in {draft.script_id}")
        await self.dialogue(job, req, draft, {part.scene}, keep_human=False)
        await self.assemble(job, draft)

    async def assemble(self, job: Job, draft: Draft) -> None:
        """The whole script as JSON and as Fountain (the same bytes again are the same version)."""
        script = draft.script()
        authorship = _authorship(script)
        parents = [k for k in draft.assets if k not in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN)]
        await self.store_level(job, draft, ScriptPart.SCRIPT, script.model_dump(mode="json"), [], parents=parents, authorship=authorship)
        await self.store_part(job, draft, ScriptPart.FOUNTAIN, to_fountain(script).encode(), "text/x-fountain", "fountain", [], [ScriptPart.SCRIPT],
                              authorship=authorship)

    # --- a person's words ------------------------------------------------------------------

    async def rewrite(self, job: Job, req: ScriptRequested, draft: Draft, level: Level, content: Any) -> Draft:
        """Store a person's version of `level` verbatim (human-authored, with its diff), then
        regenerate only the levels below it (keeping, and marking stale, what a person wrote there)."""
        if level is Level.TITLE:
            draft.title, draft.title_author = str(content["title"]), "human"
            stored_content: Any = {"title": draft.title}
        elif level is Level.CHARACTERS:
            draft.characters = [Character(**{**c, "author": "human"}) for c in content]
            stored_content = [c.model_dump() for c in draft.characters]
        elif level is Level.SCENES:
            scenes = [SceneScript(**{**s, "author": "human", "dialogue": []}) for s in content]
            bad = [s.scene_id for s in scenes if not _SCENE_ID.fullmatch(s.scene_id)]
            if bad:
                raise ValueError(f"scene ids {bad} must match {SCENE_ID_PATTERN} (letters, digits, '.', '_'; no '-')")
            draft.scenes = _keep_dialogue(draft.scenes, scenes)
            stored_content = [s.model_dump(exclude={"dialogue"}) for s in draft.scenes]
        elif level is Level.PLACES:
            draft.places = {p["name"]: Place(**{**p, "author": "human"}) for p in content}
            stored_content = [p.model_dump() for p in draft.places.values()]
        else:
            raise ValueError("dialogue is edited line by line (helix.writer.dialogue.edited)")
        draft.fresh(level.value)
        await self.store_human(job, draft, level.value, stored_content)
        below = LEVEL_ORDER.index(level) + 1
        if below < len(LEVEL_ORDER):
            return await self.write(job, req, draft, from_level=LEVEL_ORDER[below], targeted=False)
        await self.assemble(job, draft)
        return draft

    async def edit_dialogue(self, job: Job, draft: Draft, scene: str, lines: list[dict[str, Any]]) -> None:
        """A person's own dialogue for a scene, verbatim; line ids kept where given."""
        target = next((s for s in draft.scenes if s.scene_id == scene), None)
        if target is None:
            raise ValueError(f"no scene {scene!r} in {draft.script_id}")
        used = {line["line_id"] for line in lines if line.get("line_id")}
        fresh_ids = (line_id(scene, n) for n in range(1, 10_000) if line_id(scene, n) not in used)
        target.dialogue = [DialogueLine(line_id=line.get("line_id") or next(fresh_ids), speaker=line["speaker"],
                                        parenthetical=line.get("parenthetical", ""), text=line["text"], author="human") for line in lines]
        name = scene_part(ScriptPart.DIALOGUE, scene)
        draft.fresh(name)
        await self.store_human(job, draft, name, [line.model_dump() for line in target.dialogue])
        await self.assemble(job, draft)

    async def apply_candidate(self, job: Job, draft: Draft, rewrite: ScriptAssetId, line: str, candidate: int, person: str) -> None:
        """A person picked a model-written candidate: the scene's dialogue gets it as a new
        version, the line authored by the model and selected by the person."""
        body = await asyncio.to_thread(self._latest_json, draft.production_id, AssetKind.DIALOGUE, str(rewrite))
        if body is None:
            raise ValueError(f"no dialogue candidates {rewrite}")
        options = next((c for c in body["content"]["lines"] if c["line_id"] == line), None)
        if options is None or not 0 <= candidate < len(options["candidates"]):
            raise ValueError(f"{rewrite} has no candidate {candidate} for line {line}")
        scene = next((s for s in draft.scenes if s.scene_id == rewrite.scene), None)
        target = next((x for x in scene.dialogue if x.line_id == line), None) if scene else None
        if scene is None or target is None:
            raise ValueError(f"line {line} is not in scene {rewrite.scene} any more")
        scene.dialogue = [x.model_copy(update={"text": options["candidates"][candidate], "author": "ai", "selected_by": person})
                          if x.line_id == line else x for x in scene.dialogue]
        name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
        await self.store_level(job, draft, name, [x.model_dump() for x in scene.dialogue], [], parents=[str(rewrite)],
                               authorship=Authorship.MIXED, extra={"selected": {"line_id": line, "candidate": candidate, "by": person}})
        await self.assemble(job, draft)

    async def revert(self, job: Job, draft: Draft, name: str, version: int | None) -> int:
        """Bring back an earlier version of a level as its newest version (undo); returns the version restored."""
        part = draft.part(name)
        versions = await asyncio.to_thread(self._versions, draft.production_id, part.kind, str(part))
        if len(versions) < 1 or (version is None and len(versions) < 2):
            raise ValueError(f"{part} has no earlier version to go back to")
        chosen = version or versions[-2].key.version
        stored = next((v for v in versions if v.key.version == chosen), None)
        if stored is None:
            raise ValueError(f"{part} has no version {chosen}")
        body = json.loads(await asyncio.to_thread(self.store.get, stored.key))
        _restore(draft, name, body)
        provenance = (await asyncio.to_thread(self.store.sidecar, stored.key)).get("provenance", {})
        authorship = Authorship(provenance.get("authorship", "ai"))
        await self.store_level(job, draft, name, body["content"], [], parents=[], authorship=authorship,
                               extra={k: v for k, v in body.items() if k not in ("level", "script_id", "content")} | {"reverted_from": chosen})
        await self.assemble(job, draft)
        return chosen

    def _latest_json(self, production_id: str, kind: AssetKind, asset_id: str) -> dict[str, Any] | None:
        versions = self._versions(production_id, kind, asset_id)
        return json.loads(self.store.get(versions[-1].key)) if versions else None

    def _versions(self, production_id: str, kind: AssetKind, asset_id: str) -> list[StoredAsset]:
        try:
            return self.store.versions(production_id, kind, asset_id)
        except AssetNotFound:
            return []

    # --- storing -------------------------------------------------------------------------

    async def resumed(self, job: Job, draft: Draft, name: str) -> dict[str, Any] | None:
        """The body of a part this job stored before (a retry or redelivery), else None."""
        part = draft.part(name)
        found = await job.resumed(part.kind, str(part))
        if found is None:
            return None
        draft.assets[name] = str(part)
        return json.loads(found[1])

    async def store_human(self, job: Job, draft: Draft, name: str, content: Any) -> None:
        previous = await asyncio.to_thread(self._latest_json, draft.production_id, draft.part(name).kind, str(draft.part(name)))
        new_text = json.dumps(content, indent=2, ensure_ascii=False)
        old_text = json.dumps(previous.get("content") if previous else None, indent=2, ensure_ascii=False)
        diff = "".join(difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), "previous", "rewritten"))
        await self.store_level(job, draft, name, content, [], parents=[], authorship=Authorship.HUMAN, diff=diff)

    async def store_level(self, job: Job, draft: Draft, name: str, content: Any, messages: prompts.Messages,
                          *generations: Generated[Any], parents: list[str], authorship: Authorship = Authorship.AI,
                          diff: str | None = None, extra: dict[str, Any] | None = None) -> StoredAsset:
        body = json.dumps({"level": name, "script_id": draft.script_id, "content": content, **(extra or {})}, indent=2,
                          ensure_ascii=False).encode()
        return await self.store_part(job, draft, name, body, JSON, "json", messages, parents, *generations, authorship=authorship,
                                     diff=diff)

    async def store_part(self, job: Job, draft: Draft, name: str, body: bytes, media_type: str, ext: str, messages: prompts.Messages,
                         parents: list[str], *generations: Generated[Any], authorship: Authorship = Authorship.AI,
                         diff: str | None = None) -> StoredAsset:
        part = draft.part(name)
        parent_ids = [draft.assets.get(p, p) for p in parents if p in draft.assets or ScriptAssetId.parse(p)]
        parameters: dict[str, Any] = {"level": name, **(generations[0].parameters if generations else {})}
        if len(generations) > 1:
            parameters["generations"] = len(generations)
        stored = await job.store(GeneratedAsset(
            kind=part.kind, asset_id=str(part), data=body, media_type=media_type, ext=ext,
            model=self.generator.model_ref if authorship is not Authorship.HUMAN else None,
            inputs={"messages": messages} if messages else {"assembled_from": parent_ids}, parameters=parameters,
            seed=job.request.seed, parents=parent_ids, authorship=authorship, cost=total_cost([g.cost for g in generations]),
            extra={"diff_from_previous": diff}))
        draft.assets[name] = str(part)
        return stored


def _derive(seed: int, salt: str) -> int:
    import hashlib

    return seed if not salt else int.from_bytes(hashlib.sha256(f"{seed}\x1f{salt}".encode()).digest()[:8], "big") >> 1


def _keep_dialogue(old: list[SceneScript], new: list[SceneScript]) -> list[SceneScript]:
    """New scenes keep the dialogue the old scene with the same id had (nothing a person wrote is dropped)."""
    by_id = {s.scene_id: s.dialogue for s in old}
    return [s.model_copy(update={"dialogue": by_id.get(s.scene_id, s.dialogue)}) for s in new]


def _restore(draft: Draft, name: str, body: dict[str, Any]) -> None:
    content = body["content"]
    if name == ScriptPart.TITLE:
        draft.title = content["title"]
    elif name == ScriptPart.CHARACTERS:
        draft.characters = [Character(**c) for c in content]
    elif name == ScriptPart.SCENES:
        draft.scenes = _keep_dialogue(draft.scenes, [SceneScript(**s) for s in content])
        draft.acts = [Act(**a) for a in body.get("acts", [])] or draft.acts
    elif name == ScriptPart.PLACES:
        draft.places = {p["name"]: Place(**p) for p in content}
    else:
        scene = next((s for s in draft.scenes if scene_part(ScriptPart.DIALOGUE, s.scene_id) == name), None)
        if scene is None:
            raise ValueError(f"{name} belongs to no scene of {draft.script_id}")
        scene.dialogue = [DialogueLine(**line) for line in content]
    draft.fresh(name)


def _authorship(script: Script) -> Authorship:
    authors = {script.title_author, *(c.author for c in script.characters), *(s.author for s in script.scenes),
               *(p.author for p in script.places), *(line.author for s in script.scenes for line in s.dialogue),
               *("human" for s in script.scenes for line in s.dialogue if line.selected_by)}
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
    draft = Draft(production_id, script_id, script.logline, locale=script.locale, target_locales=script.target_locales, title=script.title, title_author=script.title_author,
                  acts=script.acts, characters=script.characters, scenes=script.scenes, places={p.name: p for p in script.places},
                  stale=script.stale)
    for part in (ScriptPart.TITLE, ScriptPart.CHARACTERS, ScriptPart.SCENES, ScriptPart.PLACES, ScriptPart.SCRIPT, ScriptPart.FOUNTAIN):
        draft.assets[part.value] = str(ScriptAssetId(script_id, part))
    for scene in script.scenes:
        draft.assets[scene_part(ScriptPart.DIALOGUE, scene.scene_id)] = str(ScriptAssetId(script_id, ScriptPart.DIALOGUE, scene.scene_id))
    return draft
