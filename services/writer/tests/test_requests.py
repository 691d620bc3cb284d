"""Requests to the writer, each run as a kit job through its step on the tiny model: new scripts
(with a studio's examples), regenerating from a level, a person's level and dialogue, Dramatron's
edit operations, candidates written and chosen, storyboards of an approved script, and a
reviewer's revisions. Bad requests end their job refused, saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helix.events import (
    CandidateApplied,
    DialogueEdited,
    DialogueRewriteRequested,
    EventData,
    JobCompleted,
    JobFailed,
    ScriptEditRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    ScriptRevisionRequested,
    StoryboardRequested,
)
from helix.events.examples import example
from helix.generation.ids import script_id_for
from helix_writer.requests import PREFIX_CHARS

from .conftest import PRODUCTION, RecordingGenerator, Studio, by_a_person, sample_draft, script_request

SCRIPT = "script-job-0"
NOTES = "Mara sounds too calm here."


def ask(model: type[EventData], job_id: str, **fields: Any) -> Any:
    """A valid request of `model` (`helix.events.examples`) about the stored script."""
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, **fields}
    if "script_id" in model.model_fields:
        values.setdefault("script_id", SCRIPT)
    if model is ScriptRevisionRequested:
        values.update(caused_by=None, notes=NOTES, parent_asset_ids=[fields["asset_id"]])
    return example(model, **values)


def refused(outcome: JobCompleted | JobFailed, reason: str) -> bool:
    return isinstance(outcome, JobFailed) and not outcome.retriable and reason in outcome.error


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    folder = tmp_path / "noir"
    folder.mkdir()
    (folder / "a.fountain").write_text("INT. BAR - NIGHT")
    (folder / "b.txt").write_text("EXT. DOCK - DAY")
    (folder / "c.md").write_text("notes, not a script")
    return folder


def test_each_request_type_is_answered_by_its_step(desk: Studio) -> None:
    requests = desk.requests
    assert requests.steps() == {
        ScriptRequested: requests.write_script, ScriptLevelRewritten: requests.rewrite_level,
        ScriptEditRequested: requests.edit_script, DialogueEdited: requests.edit_dialogue,
        CandidateApplied: requests.apply_candidate, StoryboardRequested: requests.plan_storyboards,
        DialogueRewriteRequested: requests.rewrite_dialogue, ScriptRevisionRequested: requests.revise,
    }


async def test_a_new_script_is_written_under_its_jobs_script_id_with_the_studios_examples(generator: RecordingGenerator,
                                                                                          examples: Path, tmp_path: Path) -> None:
    studio = Studio(generator, tmp_path / "writer.db", {"noir": str(examples)})
    done = await studio.run(script_request(job_id="job-7", max_scenes=1, prefix_set="noir"))
    script = script_id_for("job-7")
    assert isinstance(done, JobCompleted)
    parts = ("title", "characters", "scenes", "places", "dialogue-s1", "script", "fountain")
    assert set(done.asset_ids) == {f"{script}-{part}" for part in parts}
    systems = [c.messages[0]["content"] for c in generator.calls]
    assert systems and all("<examples>INT. BAR - NIGHT\n\nEXT. DOCK - DAY</examples>" in s for s in systems)
    assert not [s for s in systems if "notes, not" in s], "only .fountain and .txt files are examples"


def test_a_studios_examples_are_trimmed_to_fit_a_prompt(examples: Path, tmp_path: Path) -> None:
    (examples / "b.txt").write_text("x" * (2 * PREFIX_CHARS))
    (tmp_path / "empty").mkdir()
    sets = {"noir": str(examples), "empty": str(tmp_path / "empty")}
    requests = Studio(RecordingGenerator(), tmp_path / "writer.db", sets).requests
    text = requests.examples("noir")
    assert text is not None and len(text) == PREFIX_CHARS and text.startswith("INT. BAR - NIGHT\n\nxxx")
    assert requests.examples(None) is None and requests.examples("empty") is None


async def test_an_unknown_prefix_set_is_refused_naming_the_sets_there_are(examples: Path, tmp_path: Path) -> None:
    studio = Studio(RecordingGenerator(), tmp_path / "writer.db", {"noir": str(examples)})
    assert refused(await studio.run(script_request(prefix_set="western")), "unknown prefix set 'western'; this writer has noir")


async def test_regenerating_from_a_level_needs_the_script_named(desk: Studio) -> None:
    outcome = await desk.run(script_request(from_level="places"))
    assert refused(outcome, "from_level places: name the script to regenerate in parent_asset_ids")


async def test_regenerating_from_a_level_rewrites_the_named_script_from_there(studio: Studio) -> None:
    await studio.put_script(sample_draft())
    done = await studio.run(script_request(job_id="job-2", from_level="dialogue", parent_asset_ids=[f"{SCRIPT}-script"]))
    assert isinstance(done, JobCompleted)
    parts = ("title", "places", "dialogue-s1", "dialogue-s2", "script")
    assert [len(studio.versions(f"{SCRIPT}-{part}")) for part in parts] == [1, 1, 2, 2, 2]
    assert studio.generator.calls == studio.generator.asked("DialogueDraft")


async def test_a_persons_level_is_stored_as_theirs(desk: Studio) -> None:
    await desk.put_script(by_a_person(sample_draft(), "characters", "scenes", "places", "dialogue-s1", "dialogue-s2"))
    done = await desk.run(ask(ScriptLevelRewritten, "job-2", level="title", content={"title": "Mine"}))
    assert isinstance(done, JobCompleted)
    assert desk.provenance(f"{SCRIPT}-title")["authorship"] == "human"
    assert desk.body(f"{SCRIPT}-script")["content"]["title"] == "Mine"


async def test_reverting_dialogue_must_name_its_scene(desk: Studio) -> None:
    await desk.put_script(sample_draft())
    outcome = await desk.run(ask(ScriptEditRequested, "job-2", operation="revert", level="dialogue", scene_id=None, count=None))
    assert refused(outcome, "revert dialogue: name the scene (scene_id)")


async def test_a_persons_dialogue_is_stored_and_a_revert_brings_back_the_version_before(desk: Studio) -> None:
    await desk.put_script(sample_draft())
    first = desk.body(f"{SCRIPT}-dialogue-s2")["content"]
    edited = await desk.run(ask(DialogueEdited, "job-2", scene_id="s2", lines=[{"speaker": "JONAH", "text": "Not yet."}]))
    assert isinstance(edited, JobCompleted)
    assert [(x["line_id"], x["author"]) for x in desk.body(f"{SCRIPT}-dialogue-s2")["content"]] == [("s2-l1", "human")]
    reverted = await desk.run(ask(ScriptEditRequested, "job-3", operation="revert", level="dialogue", scene_id="s2", count=None))
    assert isinstance(reverted, JobCompleted)
    assert desk.body(f"{SCRIPT}-dialogue-s2") == {"level": "dialogue-s2", "script_id": SCRIPT, "content": first,
                                                  "reverted_from": 1}


async def test_continuing_adds_lines_to_the_scene_named(studio: Studio) -> None:
    await studio.put_script(sample_draft())
    done = await studio.run(ask(ScriptEditRequested, "job-2", operation="continue", level="dialogue", scene_id="s2", count=2))
    assert isinstance(done, JobCompleted)
    assert [x["line_id"] for x in studio.body(f"{SCRIPT}-dialogue-s2")["content"]] == ["s2-l1", "s2-l2", "s2-l3"]


async def test_regenerating_one_scenes_dialogue_rewrites_a_persons_lines_there(studio: Studio) -> None:
    await studio.put_script(by_a_person(sample_draft(), "dialogue-s1"))
    done = await studio.run(ask(ScriptEditRequested, "job-2", operation="regenerate", level="dialogue", scene_id="s1",
                                count=None))
    assert isinstance(done, JobCompleted)
    assert {x["author"] for x in studio.body(f"{SCRIPT}-dialogue-s1")["content"]} == {"ai"}
    assert len(studio.versions(f"{SCRIPT}-dialogue-s2")) == 1 and len(studio.versions(f"{SCRIPT}-script")) == 2


async def test_regenerating_a_level_alone_marks_the_levels_below_stale(studio: Studio) -> None:
    await studio.put_script(sample_draft())
    done = await studio.run(ask(ScriptEditRequested, "job-2", operation="regenerate", level="characters", scene_id=None,
                                count=None))
    assert isinstance(done, JobCompleted)
    assert studio.generator.calls == studio.generator.asked("CharactersDraft") and len(studio.generator.calls) == 1
    assert [len(studio.versions(f"{SCRIPT}-{part}")) for part in ("characters", "scenes", "dialogue-s1")] == [2, 1, 1]
    stale = studio.body(f"{SCRIPT}-script")["content"]["stale"]
    assert [(m["part"], m["because"], m["job_id"]) for m in stale] == [(part, "characters", "job-2") for part in
                                                                       ("scenes", "places", "dialogue-s1", "dialogue-s2")]


async def test_a_chosen_candidate_must_name_a_set_of_candidates(desk: Studio) -> None:
    outcome = await desk.run(ask(CandidateApplied, "job-2", rewrite_asset_id=f"{SCRIPT}-dialogue-s1"))
    assert refused(outcome, f"{SCRIPT}-dialogue-s1 is not a set of dialogue candidates")


async def test_a_person_picks_one_of_the_candidates_the_writer_wrote(studio: Studio) -> None:
    await studio.put_script(sample_draft())
    written = await studio.run(ask(DialogueRewriteRequested, "job-3", dialogue_asset_id=f"{SCRIPT}-dialogue-s1",
                                   line_ids=["s1-l1"], candidates=2))
    candidates = f"{SCRIPT}-dialogue-s1-rewrite-job-3"
    assert isinstance(written, JobCompleted) and written.asset_ids == [candidates]
    options = studio.body(candidates)["content"]["lines"][0]["candidates"]
    chosen = await studio.run(ask(CandidateApplied, "job-4", rewrite_asset_id=candidates, line_id="s1-l1", candidate=1))
    assert isinstance(chosen, JobCompleted)
    first = studio.body(f"{SCRIPT}-dialogue-s1")["content"][0]
    assert (first["text"], first["selected_by"]) == (options[1], "dana@studio.example")


async def test_storyboards_wait_for_a_person_to_approve_the_script(studio: Studio) -> None:
    await studio.put_script(sample_draft())
    request = ask(StoryboardRequested, "job-2", script_asset_id=f"{SCRIPT}-script", scene_ids=[])
    assert refused(await studio.run(request), f"script {SCRIPT}-script is not approved")
    await studio.approve(f"{SCRIPT}-script")
    done = await studio.run(request.model_copy(update={"job_id": "job-3"}))
    assert isinstance(done, JobCompleted) and done.asset_ids == [f"{SCRIPT}-storyboard-s1", f"{SCRIPT}-storyboard-s2"]


async def test_storyboards_of_an_asset_that_is_not_the_writers_are_refused(desk: Studio) -> None:
    outcome = await desk.run(ask(StoryboardRequested, "job-2", script_asset_id="frame-job-1-s1-shot1", scene_ids=[]))
    assert refused(outcome, "frame-job-1-s1-shot1 is not one of the writer's assets")


@pytest.mark.parametrize(("part", "made", "asked"), [
    ("dialogue-s2", ["dialogue-s2"], {"DialogueDraft"}),
    ("storyboard-s1", ["storyboard-s1"], {"StoryboardDraft"}),
    ("script", ["dialogue-s1", "dialogue-s2", "script", "fountain"], {"DialogueDraft"}),
    ("places", ["places", "dialogue-s1", "dialogue-s2", "script", "fountain"], {"PlaceDraft", "DialogueDraft"}),
])
async def test_a_revision_regenerates_what_the_reviewer_saw_with_their_notes(studio: Studio, part: str, made: list[str],
                                                                            asked: set[str]) -> None:
    await studio.put_script(sample_draft())
    done = await studio.run(ask(ScriptRevisionRequested, "rev-1", asset_id=f"{SCRIPT}-{part}"))
    assert isinstance(done, JobCompleted)
    assert sorted(done.asset_ids) == sorted(f"{SCRIPT}-{name}" for name in made)
    assert {name for name in asked if studio.generator.asked(name)} == asked and len(studio.generator.calls) == sum(
        len(studio.generator.asked(name)) for name in asked)
    assert all(f"<notes>{NOTES}</notes>" in c.prompt for c in studio.generator.calls)
    assert len(studio.versions(f"{SCRIPT}-title")) == 1


async def test_candidates_are_chosen_among_not_revised(desk: Studio) -> None:
    outcome = await desk.run(ask(ScriptRevisionRequested, "rev-2", asset_id=f"{SCRIPT}-dialogue-s1-rewrite-job-3"))
    assert refused(outcome, "is a set of candidates: a person chooses among them")
