"""Hierarchical script writing at episode scale: each level its own grammar-constrained
generation and its own asset, conditioned on the levels above (logline → title →
characters → an outline by acts and the scenes of each act → places → dialogue per scene,
as long as each scene needs), then the whole script as JSON and as Fountain.

- Every level is stored through the script repository (`Job.store`: a new version of its
  asset with lineage); a job that runs again reuses what it stored (`Job.resumed`).
- Budgets are counted in the model's tokens (`json_budget` with the engine's worst case per
  character), and long lists are written in chunks that fit the model's context: scenes a
  few at a time per act, dialogue a few lines at a time until the scene is done (≤ 30).
- A person's words are never lost: when a level is regenerated, a level below it that a
  person wrote or changed is kept and marked possibly stale (`Script.stale`) for the person
  to decide, unless they asked for it to be regenerated too. A person's own edits are
  `edits.py`; where parts are stored and read, `repository.py`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel

from helix.events import GenerationRequest, ScriptRequested
from helix.generation import Job, JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart, line_id, scene_id, scene_part
from helix.story import (
    LEVEL_ORDER,
    MAX_ACTS,
    MAX_CHARACTERS,
    MAX_LINES_PER_SCENE,
    Act,
    ActsDraft,
    Character,
    CharactersDraft,
    DialogueLine,
    Level,
    Place,
    PlaceDraft,
    SceneScript,
    ScenesDraft,
    TitleDraft,
    exactly,
    json_budget,
    spoken_by,
)
from helix_writer import prompts
from helix_writer.draft import Draft, authorship, keep_dialogue
from helix_writer.fountain import to_fountain
from helix_writer.repository import ScriptRepository
from helix_writer.structured import Generated, StructuredGenerator

D = TypeVar("D", bound=BaseModel)
SCENES_PER_ACT_CALL = 6
FIRST_LINES = 4  # the least a scene's dialogue opens with
COPY_RETRIES = 2  # an answer with a 5-word run of its worked example is written again, with another seed



def fresh_ids(make: Callable[[int], str], taken: set[str], count: int, *, after: int) -> list[str]:
    """`count` new ids `make(after + 1)`, `make(after + 2)`, … skipping any already taken (a
    person may have kept `s1-l2` alone: more lines are then `s1-l3`, `s1-l4`, never a second `s1-l2`)."""
    fresh: list[str] = []
    n = after
    while len(fresh) < count:
        n += 1
        if (candidate := make(n)) not in taken:
            fresh.append(candidate)
    return fresh

def unsaid(said: list[DialogueLine], written: list[Any]) -> list[Any]:
    """The `written` lines that say something new: not a line of the scene already, not twice."""
    seen = {line.text.casefold() for line in said}
    new = []
    for line in written:
        if line.text.casefold() not in seen:
            seen.add(line.text.casefold())
            new.append(line)
    return new


class StoryWriter:
    """The writer's generation steps; each runs inside a kit `Job`."""

    def __init__(self, generator: StructuredGenerator, repository: ScriptRepository, *, lines_per_scene: int = MAX_LINES_PER_SCENE) -> None:
        self.generator = generator
        self.repository = repository
        self.lines_per_scene = min(lines_per_scene, MAX_LINES_PER_SCENE)  # a scene's dialogue as first written (more on request)

    async def generate(self, messages: prompts.Messages, schema: type[D], *, seed: int | None, salt: str = "") -> Generated[D]:
        # The budget is the most tokens the longest JSON the schema allows can take, so a
        # constrained generation always closes, however long a (random) model keeps its strings.
        # A request's seed makes it reproducible; each step draws from its own seed of it.
        for attempt in range(COPY_RETRIES + 1):
            step_seed = None if seed is None else _derive(seed, salt if attempt == 0 else f"{salt}-again{attempt}")
            out = await self.generator.generate_json(messages, schema, max_new_tokens=self.budget(schema), seed=step_seed)
            if not prompts.copies_example(messages, out.value.model_dump_json()):
                break  # its own words (after COPY_RETRIES, what it wrote is kept, copied or not)
        return out

    def budget(self, schema: type[BaseModel]) -> int:
        return json_budget(schema, self.generator.tokens_per_char)

    def fitting(self, messages: prompts.Messages, make: Callable[[int], type[D]], largest: int) -> type[D]:
        """The largest `make(n)` schema (n ≤ largest) whose budget fits what the context leaves."""
        room = self.generator.room(messages)
        for n in range(largest, 0, -1):
            if self.budget(make(n)) <= room:
                return make(n)
        raise JobRefused(f"the prompt leaves {room} tokens of the model's context: not enough for one item")

    @staticmethod
    def sys(draft: Draft, notes: str | None) -> dict[str, str]:
        return prompts.system(draft.style, notes, draft.locale, draft.examples)

    # --- the levels ------------------------------------------------------------------------

    async def write(self, job: Job[Any], request: ScriptRequested, draft: Draft, *, from_level: Level = Level.TITLE,
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

    async def _level(self, job: Job[Any], req: ScriptRequested, draft: Draft, level: Level, *, keep_human: bool) -> None:
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

    async def _title(self, job: Job[Any], req: GenerationRequest, draft: Draft) -> None:
        if (body := await self.repository.resumed(job, draft, ScriptPart.TITLE)) is not None:
            draft.title, draft.title_author = body.content.title, "ai"
            return
        messages = prompts.title(self.sys(draft, req.notes), draft.logline)
        out = await self.generate(messages, TitleDraft, seed=req.seed)
        draft.title, draft.title_author = out.value.title, "ai"
        await self.repository.store_level(job, draft, ScriptPart.TITLE, {"title": draft.title}, messages, out, parents=[])

    async def _characters(self, job: Job[Any], req: GenerationRequest, draft: Draft, *, more: int | None = None) -> None:
        if (body := await self.repository.resumed(job, draft, ScriptPart.CHARACTERS)) is not None:
            draft.characters = list(body.content)
            return
        performers = list(req.performers) if isinstance(req, ScriptRequested) else []
        existing = draft.characters if more else []
        messages = prompts.characters(self.sys(draft, req.notes), draft.logline, draft.title, performers, existing, more)
        schema = exactly(CharactersDraft, "characters", more) if more else CharactersDraft
        out = await self.generate(messages, schema, seed=req.seed)
        taken = {c.name.lower() for c in existing}
        new = [Character(**c.model_dump()) for c in out.value.characters if c.name.lower() not in taken]
        draft.characters = [*existing, *new][:MAX_CHARACTERS]
        await self.repository.store_level(job, draft, ScriptPart.CHARACTERS, [c.model_dump() for c in draft.characters], messages, out,
                               parents=[ScriptPart.TITLE])

    async def _scenes(self, job: Job[Any], req: ScriptRequested, draft: Draft) -> None:
        """An outline by acts, then the scenes of each act a few at a time (acts side by side)."""
        if (body := await self.repository.resumed(job, draft, ScriptPart.SCENES)) is not None:
            draft.acts = list(body.acts or [])
            draft.scenes = keep_dialogue(draft.scenes, list(body.content))
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
        draft.scenes = keep_dialogue(draft.scenes, scenes)
        outs = [outline, *(o for _, written_outs in per_act for o in written_outs)]
        await self.repository.store_level(job, draft, ScriptPart.SCENES, [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], act_messages,
                               *outs, parents=[ScriptPart.TITLE, ScriptPart.CHARACTERS],
                               extra={"acts": [a.model_dump() for a in draft.acts]})

    async def _places(self, job: Job[Any], req: GenerationRequest, draft: Draft) -> None:
        if (body := await self.repository.resumed(job, draft, ScriptPart.PLACES)) is not None:
            draft.places = {p.name: p for p in body.content}
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
        await self.repository.store_level(job, draft, ScriptPart.PLACES, [p.model_dump() for p in draft.places.values()], prompts.places_summary(names),
                               *[out for _, out in described], parents=[ScriptPart.SCENES])

    async def dialogue(self, job: Job[Any], req: GenerationRequest, draft: Draft, scene_ids: set[str] | None = None, *,
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

    async def _scene_dialogue(self, job: Job[Any], req: GenerationRequest, draft: Draft, i: int, scene: SceneScript, *,
                              more: int | None = None) -> None:
        name = scene_part(ScriptPart.DIALOGUE, scene.scene_id)
        if (body := await self.repository.resumed(job, draft, name)) is not None:
            scene.dialogue = list(body.content)
            return
        sys = self.sys(draft, req.notes)
        lines = list(scene.dialogue) if more else []
        limit = min(MAX_LINES_PER_SCENE, len(lines) + more) if more else self.lines_per_scene
        outs: list[Generated[Any]] = []
        messages: prompts.Messages = []
        cast = [c.name for c in draft.characters]
        while len(lines) < limit:
            messages = prompts.dialogue(sys, draft.logline, draft.title, draft.characters, draft.scenes[i - 1] if i else None, scene,
                                        draft.places.get(scene.place), lines)
            want = min(8, limit - len(lines))
            first = 1 if lines else FIRST_LINES  # a scene opens with a few lines, then goes on until the model says it is done
            schema = self.fitting(messages, partial(spoken_by, cast, at_least=first), want)
            out = await self.generate(messages, schema, seed=req.seed, salt=f"{name}-{len(lines)}")
            outs.append(out)
            new = unsaid(lines, out.value.lines)[: limit - len(lines)]
            ids = fresh_ids(lambda n: line_id(scene.scene_id, n), {x.line_id for x in lines}, len(new), after=len(lines))
            lines += [DialogueLine(line_id=i, **line.model_dump()) for i, line in zip(ids, new, strict=True)]
            if not new or (out.value.scene_done and not more):
                break  # done, or only saying again what was said (a line said twice is left out)
        scene.dialogue = lines
        await self.repository.store_level(job, draft, name, [line.model_dump() for line in scene.dialogue], messages, *outs,
                               parents=[ScriptPart.SCENES, ScriptPart.CHARACTERS, ScriptPart.PLACES])

    async def continue_level(self, job: Job[Any], req: GenerationRequest, draft: Draft, level: Level, count: int, scene: str | None) -> None:
        """More of a level: characters, scenes (with their places and dialogue), or lines of one scene."""
        if level is Level.CHARACTERS:
            await self._characters(job, req, draft, more=count)
        elif level is Level.SCENES:
            last = draft.scenes[-1] if draft.scenes else None
            act = next((a for a in draft.acts if last and a.number == last.act), None) or Act(number=1, beat=draft.logline)
            sys = self.sys(draft, req.notes)
            messages = prompts.scenes(sys, draft.logline, draft.title, draft.characters, draft.acts or [act], act, draft.scenes, count)
            out = await self.generate(messages, self.fitting(messages, lambda n: exactly(ScenesDraft, "scenes", n), count), seed=req.seed)
            ids = fresh_ids(scene_id, {s.scene_id for s in draft.scenes}, len(out.value.scenes), after=len(draft.scenes))
            added = [SceneScript(scene_id=i, act=act.number, **s.model_dump()) for i, s in zip(ids, out.value.scenes, strict=True)]
            draft.scenes += added
            await self.repository.store_level(job, draft, ScriptPart.SCENES, [s.model_dump(exclude={"dialogue"}) for s in draft.scenes], messages, out,
                                   parents=[ScriptPart.TITLE, ScriptPart.CHARACTERS], extra={"acts": [a.model_dump() for a in draft.acts]})
            if any(s.place not in draft.places for s in added):
                await self._places(job, req, draft)
            await self.dialogue(job, req, draft, {s.scene_id for s in added})
        elif level is Level.DIALOGUE:
            if scene not in {s.scene_id for s in draft.scenes}:
                raise JobRefused(f"continue dialogue: no scene {scene!r} in {draft.script_id}")
            await self.dialogue(job, req, draft, {scene}, more=count)
        else:
            raise JobRefused(f"the {level.value} level cannot be continued (characters, scenes and dialogue can)")
        await self.assemble(job, draft)

    async def revise_scene(self, job: Job[Any], req: GenerationRequest, draft: Draft, part: ScriptAssetId) -> None:
        """A reviewer asked for changes to one scene's dialogue: regenerate just that asset
        (a new version, with the notes in its prompt) and reassemble the script around it."""
        if part.scene not in {s.scene_id for s in draft.scenes}:
            raise JobRefused(f"no scene {part.scene} in {draft.script_id}")
        await self.dialogue(job, req, draft, {part.scene}, keep_human=False)
        await self.assemble(job, draft)

    async def assemble(self, job: Job[Any], draft: Draft) -> None:
        """The whole script as JSON and as Fountain (the same bytes again are the same version)."""
        script = draft.script()
        made_by = authorship(script)
        parents = [k for k in draft.assets if k not in (ScriptPart.SCRIPT, ScriptPart.FOUNTAIN)]
        await self.repository.store_level(job, draft, ScriptPart.SCRIPT, script.model_dump(mode="json"), [], parents=parents, authorship=made_by)
        await self.repository.store_part(job, draft, ScriptPart.FOUNTAIN, to_fountain(script).encode(), "text/x-fountain", "fountain", [],
                                         [ScriptPart.SCRIPT], authorship=made_by)


def _derive(seed: int, salt: str) -> int:
    return seed if not salt else int.from_bytes(hashlib.sha256(f"{seed}\x1f{salt}".encode()).digest()[:8], "big") >> 1
