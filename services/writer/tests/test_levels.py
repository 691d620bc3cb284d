"""`StoryWriter` on the tiny model: a script written level by level, each level its own asset with
its lineage, token budgets and step seeds, resume without regenerating, scenes shared among acts
and written in chunks, what a person wrote kept (and marked stale) unless they asked for it,
continuing a level, a reviewer's revision of one scene, and assembling the whole script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helix.events import JobProgress, ScriptRequested
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.generation.reader import Documents
from helix.story import (
    MAX_LINES_PER_SCENE,
    Act,
    CharactersDraft,
    Level,
    PlotElement,
    SceneDraft,
    ScenesDraft,
    Script,
    StaleMark,
    exactly,
    json_budget,
)
from helix.testing import MemoryStore
from helix_writer import prompts
from helix_writer.draft import Draft
from helix_writer.fountain import to_fountain
from helix_writer.levels import StoryWriter, _derive, fresh_ids, unsaid
from helix_writer.repository import ScriptRepository
from helix_writer.structured import Generated

from .conftest import LOGLINE, NO_MODEL, PRODUCTION, RecordingGenerator, Studio, by_a_person, sample_draft, script_request

SCRIPT = "script-job-1"


async def write(studio: Studio, draft: Draft, request: ScriptRequested | None = None, **options: object) -> Draft:
    request = request or script_request()
    return await studio.writer.write(studio.job(request), request, draft, **options)  # type: ignore[arg-type]


async def continued(studio: Studio, draft: Draft, level: Level, count: int, scene: str | None = None) -> None:
    job = studio.script_job("job-2")
    await studio.writer.continue_level(job, job.request, draft, level, count, scene)


def empty_draft() -> Draft:
    return Draft(PRODUCTION, SCRIPT, LOGLINE)


def test_a_line_already_said_in_the_scene_or_twice_in_a_chunk_is_left_out() -> None:
    from helix.story import DialogueLine, DialogueLineDraft

    said = [DialogueLine(line_id="s1-l1", speaker="Mira", text="You again?")]
    written = [DialogueLineDraft(speaker="Tom", text=t) for t in ("You again?", "I only came to warm my hands.", "I ONLY came to warm my hands.",
                                                                    "Thank you.")]
    assert [x.text for x in unsaid(said, written)] == ["I only came to warm my hands.", "Thank you."]


def test_step_seeds_are_stable_distinct_per_step_and_fit_a_request_seed() -> None:
    assert _derive(7, "") == 7
    assert _derive(7, "act1-0") == _derive(7, "act1-0")
    assert len({_derive(7, "act1-0"), _derive(7, "act1-6"), _derive(8, "act1-0"), _derive(7, "place-Quay")}) == 4
    assert all(0 <= _derive(2**63 - 1, salt) < 2**63 for salt in ("a", "b", "dialogue-s1-0"))


async def test_a_script_is_written_level_by_level_each_part_its_own_asset_with_its_lineage(studio: Studio) -> None:
    draft = await write(studio, empty_draft())
    progress = studio.bus.of_type(JobProgress)
    assert [p.step for p in progress] == [f"{level} written" for level in ("title", "characters", "scenes", "places", "dialogue")]
    assert [p.fraction for p in progress] == [round(n / 6, 3) for n in range(1, 6)]
    parents = {e.asset_id.removeprefix(f"{SCRIPT}-"): {p.removeprefix(f"{SCRIPT}-") for p in e.parent_asset_ids}
               for e in studio.generated("job-1")}
    above = {"scenes", "characters", "places"}
    assert parents == {"title": set(), "characters": {"title"}, "scenes": {"title", "characters"}, "places": {"scenes"},
                       "dialogue-s1": above, "dialogue-s2": above, "fountain": {"script"},
                       "script": {"title", "characters", "scenes", "places", "dialogue-s1", "dialogue-s2"}}
    assert all(e.model == studio.generator.model_ref and e.authorship.value == "ai" and e.seed == 7 for e in studio.generated())
    script = Script.model_validate(studio.body(f"{SCRIPT}-script")["content"])
    assert script == draft.script() and script.title and script.characters
    assert [s.scene_id for s in script.scenes] == ["s1", "s2"]
    assert {p.name for p in script.places} == {s.place for s in script.scenes}
    for scene in script.scenes:
        assert 1 <= len(scene.dialogue) <= MAX_LINES_PER_SCENE
        assert [x.line_id for x in scene.dialogue] == [f"{scene.scene_id}-l{n}" for n in range(1, len(scene.dialogue) + 1)]
    (fountain,) = studio.versions(f"{SCRIPT}-fountain")
    assert studio.store.get(fountain.key) == to_fountain(script).encode()


async def test_a_scene_opens_with_a_few_lines_and_stops_at_the_writers_limit(studio: Studio) -> None:
    studio.writer.lines_per_scene = 5
    draft = await write(studio, empty_draft())
    assert all(1 <= len(scene.dialogue) <= 5 for scene in draft.scenes)
    firsts = [c.schema for c in studio.generator.asked("DialogueDraft") if c.seed in {_derive(7, f"dialogue-{s.scene_id}-0") for s in draft.scenes}]
    assert firsts and all(schema.model_fields["lines"].metadata[0].min_length == 4 for schema in firsts), "a scene opens with four lines"


async def test_every_generation_gets_the_budget_its_schema_needs_and_a_seed_of_its_own_step(studio: Studio) -> None:
    draft = await write(studio, empty_draft(), script_request(seed=7))
    calls = studio.generator.calls
    assert all(c.max_new_tokens == json_budget(c.schema, studio.generator.tokens_per_char) for c in calls)
    seeds = {c.schema.__name__: c.seed for c in calls if not c.schema.__name__.startswith(("PlaceDraft", "DialogueDraft"))}
    assert seeds == {"TitleDraft": 7, "CharactersDraft": 7, "ActsDraft1": 7, "ScenesDraft2": _derive(7, "act1-0")}
    places = sorted(c.seed for c in studio.generator.asked("PlaceDraft"))
    assert places == sorted(_derive(7, f"place-{name}") for name in draft.places)
    dialogue = {c.seed for c in studio.generator.asked("DialogueDraft")}
    assert {_derive(7, "dialogue-s1-0"), _derive(7, "dialogue-s2-0")} <= dialogue


async def test_a_job_run_again_reuses_what_it_stored_and_generates_nothing(studio: Studio) -> None:
    first = await write(studio, empty_draft())
    calls, puts = len(studio.generator.calls), studio.store.puts
    again = await write(studio, empty_draft())
    assert len(studio.generator.calls) == calls and studio.store.puts == puts
    assert again.script() == first.script()


@pytest.mark.parametrize(("max_scenes", "acts", "chunks"), [(7, [1] * 7, ["ScenesDraft6", "ScenesDraft1"]),
                                                            (9, [1] * 5 + [2] * 4, ["ScenesDraft5", "ScenesDraft4"])])
async def test_scenes_are_shared_among_acts_and_written_a_few_at_a_time(studio: Studio, max_scenes: int, acts: list[int],
                                                                        chunks: list[str]) -> None:
    draft = sample_draft(SCRIPT, scenes=[], places={})
    await write(studio, draft, script_request(max_scenes=max_scenes), from_level=Level.SCENES, only=True)
    assert [s.act for s in draft.scenes] == acts
    assert [s.scene_id for s in draft.scenes] == [f"s{n}" for n in range(1, max_scenes + 1)]
    assert [c.schema.__name__ for c in studio.generator.asked("ActsDraft")] == [f"ActsDraft{max(acts)}"]
    assert sorted(c.schema.__name__ for c in studio.generator.asked("ScenesDraft")) == sorted(chunks)
    assert len(draft.acts) == max(acts) and studio.body(f"{SCRIPT}-scenes")["acts"] == [a.model_dump() for a in draft.acts]
    assert len(studio.generator.calls) == 1 + len(chunks), "only the scenes level was regenerated"
    assert [(m.part, m.because) for m in draft.stale] == [("places", "scenes")]


async def test_the_next_chunk_of_an_act_sees_the_scenes_written_before_it(studio: Studio) -> None:
    draft = sample_draft(SCRIPT, scenes=[], places={})
    await write(studio, draft, script_request(max_scenes=7), from_level=Level.SCENES, only=True)
    first, second = studio.generator.asked("ScenesDraft")
    assert "(this act starts here)" in first.prompt and first.prompt.endswith("Write the next 6 scenes of act 1.")
    assert f"<scene>{draft.scenes[5].place}: {draft.scenes[5].beat}</scene>" in second.prompt
    assert second.prompt.endswith("Write the next 1 scenes of act 1.")


@pytest.mark.parametrize("targeted", [True, False])
async def test_a_level_a_person_wrote_is_regenerated_only_when_it_is_the_one_they_asked_for(studio: Studio,
                                                                                           targeted: bool) -> None:
    draft = by_a_person(await studio.put_script(sample_draft(SCRIPT)), "characters")
    await write(studio, draft, script_request(job_id="job-2"), from_level=Level.CHARACTERS, only=True, targeted=targeted)
    below = [("scenes", "characters"), ("places", "characters"), ("dialogue-s1", "characters"), ("dialogue-s2", "characters")]
    if targeted:
        assert len(studio.generator.asked("CharactersDraft")) == 1 and not draft.human("characters")
        assert [(m.part, m.because) for m in draft.stale] == below
    else:
        assert studio.generator.calls == [] and draft.human("characters")
        assert [(m.part, m.because) for m in draft.stale] == below + [("characters", "a level above")]


async def test_a_persons_dialogue_below_is_kept_and_marked_stale_unless_they_ask_for_it_to_be_regenerated(studio: Studio) -> None:
    draft = by_a_person(await studio.put_script(sample_draft(SCRIPT)), "dialogue-s1", "dialogue-s2")
    await write(studio, draft, script_request(job_id="job-2"), from_level=Level.PLACES)
    assert [m.part for m in draft.stale] == ["dialogue-s1", "dialogue-s2"] and not studio.generator.asked("DialogueDraft")
    assert len(studio.versions(f"{SCRIPT}-places")) == 2 and len(studio.versions(f"{SCRIPT}-dialogue-s1")) == 1
    await write(studio, draft, script_request(job_id="job-3"), from_level=Level.PLACES, keep_human=False)
    assert draft.stale == [] and not draft.human("dialogue-s1") and not draft.human("dialogue-s2")
    assert len(studio.versions(f"{SCRIPT}-dialogue-s1")) == 2 and len(studio.versions(f"{SCRIPT}-dialogue-s2")) == 2


async def test_continuing_a_scenes_dialogue_adds_the_lines_asked_for_numbered_after_it(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft(SCRIPT))
    before = list(draft.scenes[0].dialogue)
    await continued(studio, draft, Level.DIALOGUE, 3, "s1")
    dialogue = draft.scenes[0].dialogue
    assert dialogue[:2] == before and [x.line_id for x in dialogue[2:]] == ["s1-l3", "s1-l4", "s1-l5"]
    schema = studio.generator.asked("DialogueDraft")[0].schema
    assert schema.__name__ == "DialogueDraftOfCast1to3"
    line = schema.model_json_schema()["$defs"]["DialogueLineOfCast"]
    assert line["properties"]["speaker"]["enum"] == [c.name for c in draft.characters], "the grammar offers the cast's names only"
    assert "Continue the scene's dialogue where it stops." in studio.generator.calls[0].prompt
    assert len(studio.body(f"{SCRIPT}-dialogue-s1")["content"]) == 5 and len(studio.versions(f"{SCRIPT}-dialogue-s2")) == 1
    assert len(studio.body(f"{SCRIPT}-script")["content"]["scenes"][0]["dialogue"]) == 5


async def test_continuing_the_cast_keeps_it_and_adds_only_new_names(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft(SCRIPT))
    await continued(studio, draft, Level.CHARACTERS, 2)
    (call,) = studio.generator.calls
    assert call.schema.__name__ == "CharactersDraft2"
    assert "The cast so far:\n<character>Mara: the keeper</character>" in call.prompt
    assert [c.name for c in draft.characters[:2]] == ["Mara", "Jonah"] and len(draft.characters) <= 4
    assert not {c.name.lower() for c in draft.characters[2:]} & {"mara", "jonah"}
    assert [c["name"] for c in studio.body(f"{SCRIPT}-characters")["content"]] == [c.name for c in draft.characters]


async def test_continuing_the_scenes_writes_the_dialogue_and_places_of_the_new_ones_only(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft(SCRIPT))
    await continued(studio, draft, Level.SCENES, 1)
    assert [(s.scene_id, s.act) for s in draft.scenes] == [("s1", 1), ("s2", 1), ("s3", 1)]
    assert set(draft.places) == {s.place for s in draft.scenes}
    assert len(studio.versions(f"{SCRIPT}-dialogue-s3")) == 1 and draft.scenes[2].dialogue
    assert len(studio.versions(f"{SCRIPT}-dialogue-s1")) == 1 and len(studio.versions(f"{SCRIPT}-dialogue-s2")) == 1
    assert [s["scene_id"] for s in studio.body(f"{SCRIPT}-script")["content"]["scenes"]] == ["s1", "s2", "s3"]


@pytest.mark.parametrize(("level", "scene", "reason"), [(Level.TITLE, None, "the title level cannot be continued"),
                                                        (Level.PLACES, None, "the places level cannot be continued"),
                                                        (Level.DIALOGUE, "s9", "continue dialogue: no scene 's9'")])
async def test_what_cannot_be_continued_is_refused(desk: Studio, level: Level, scene: str | None, reason: str) -> None:
    draft = await desk.put_script(sample_draft(SCRIPT))
    with pytest.raises(JobRefused, match=reason):
        await continued(desk, draft, level, 2, scene)


async def test_a_revision_regenerates_one_scenes_dialogue_with_the_reviewers_notes(studio: Studio) -> None:
    draft = by_a_person(await studio.put_script(sample_draft(SCRIPT)), "dialogue-s2")
    request = script_request(job_id="job-2", notes="More fear, shorter lines.")
    await studio.writer.revise_scene(studio.job(request), request, draft, ScriptAssetId(SCRIPT, ScriptPart.DIALOGUE, "s2"))
    assert len(studio.versions(f"{SCRIPT}-dialogue-s2")) == 2 and len(studio.versions(f"{SCRIPT}-dialogue-s1")) == 1
    assert not draft.human("dialogue-s2"), "the reviewer asked for this scene: a person's lines there are rewritten"
    assert all("<notes>More fear, shorter lines.</notes>" in c.prompt for c in studio.generator.calls)
    assert len(studio.versions(f"{SCRIPT}-script")) == 2


async def test_a_revision_of_a_scene_the_script_lacks_is_refused(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft(SCRIPT))
    job = desk.script_job("job-2")
    with pytest.raises(JobRefused, match=f"no scene s9 in {SCRIPT}"):
        await desk.writer.revise_scene(job, job.request, draft, ScriptAssetId(SCRIPT, ScriptPart.DIALOGUE, "s9"))


def test_the_largest_chunk_that_fits_what_the_context_leaves_is_asked_for(tmp_path: Path) -> None:
    def scenes(n: int) -> type:
        return exactly(ScenesDraft, "scenes", n)

    room = json_budget(scenes(2), 3)
    writer = Studio(RecordingGenerator(room_cap=room), tmp_path / "writer.db").writer
    assert writer.fitting([], scenes, 5).__name__ == "ScenesDraft2"
    assert writer.budget(CharactersDraft) == json_budget(CharactersDraft, 3)
    tight = Studio(RecordingGenerator(room_cap=json_budget(scenes(1), 3) - 1), tmp_path / "tight.db").writer
    with pytest.raises(JobRefused, match="not enough for one item"):
        tight.fitting([], scenes, 5)


async def test_assembling_unchanged_parts_again_is_the_same_version(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft(SCRIPT))
    await desk.writer.assemble(desk.script_job("job-2"), draft)
    assert len(desk.versions(f"{SCRIPT}-script")) == 1 and len(desk.versions(f"{SCRIPT}-fountain")) == 1
    draft.mark_stale("places", "scenes", "job-3")
    await desk.writer.assemble(desk.script_job("job-3"), draft)
    assert len(desk.versions(f"{SCRIPT}-script")) == 2
    stale = StaleMark(part="places", because="scenes", job_id="job-3")
    assert desk.body(f"{SCRIPT}-script")["content"]["stale"] == [stale.model_dump()]


def test_fresh_ids_continue_after_what_is_kept_and_never_repeat_one() -> None:
    make = lambda n: f"s1-l{n}"  # noqa: E731
    assert fresh_ids(make, {"s1-l2"}, 2, after=1) == ["s1-l3", "s1-l4"], "a person kept s1-l2 alone"
    assert fresh_ids(make, set(), 2, after=0) == ["s1-l1", "s1-l2"]
    assert fresh_ids(make, {"s1-l1", "s1-l2", "s1-l5"}, 3, after=2) == ["s1-l3", "s1-l4", "s1-l6"]


class _Scripted:
    """A generator that answers with the drafts it was given, in turn, and records the seeds."""

    model_ref = NO_MODEL
    tokens_per_char = 3

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.seeds: list[int | None] = []

    async def generate_json(self, messages: Any, schema: Any, *, max_new_tokens: int, seed: int | None) -> Generated[Any]:
        self.seeds.append(seed)
        return Generated(self.answers.pop(0), {})

    def room(self, messages: Any) -> int:
        return 8192


async def test_an_answer_that_copies_its_worked_example_is_written_again_with_another_seed(tmp_path: Path) -> None:
    copied = ScenesDraft(scenes=[SceneDraft(place="Lighthouse", plot_element=PlotElement.CLIMAX,
                                            beat="The mayor's purse is stolen and Tom is seen running.")])
    own = ScenesDraft(scenes=[SceneDraft(place="Lighthouse", plot_element=PlotElement.CLIMAX, beat="Ava climbs the tower in the storm.")])
    generator = _Scripted(copied, own)
    writer = StoryWriter(generator, ScriptRepository(Documents(MemoryStore(), None), NO_MODEL))
    messages = prompts.scenes(prompts.system("drama"), LOGLINE, "Title", [], [Act(number=1, beat="Storm.")], Act(number=1, beat="Storm."), [], 1)
    out = await writer.generate(messages, ScenesDraft, seed=7, salt="act1-0")
    assert out.value == own and len(generator.seeds) == 2 and generator.seeds[0] != generator.seeds[1]
    stubborn = _Scripted(copied, copied, copied)
    kept = await StoryWriter(stubborn, ScriptRepository(Documents(MemoryStore(), None), NO_MODEL)).generate(messages, ScenesDraft, seed=7)
    assert kept.value == copied and len(stubborn.seeds) == 3, "asked again at most twice, then kept"
