"""Steps on a written script, on the tiny model: a shot list per scene (those asked for, resumed
when the job runs again) and line candidates for a person to choose from (one generation per
candidate, each with its own seed, for the goal asked), refusing what is not a scene's dialogue."""

from __future__ import annotations

from typing import Any

import pytest

from helix.documents import RewriteDocument, StoryboardDocument
from helix.events import DialogueRewriteRequested, StoryboardRequested
from helix.events.examples import example
from helix.generation import JobRefused
from helix.story import StoryboardDraft
from helix_writer.storyboards import dialogue_candidates, storyboard

from .conftest import DANA, PRODUCTION, Studio, sample_draft

SCRIPT = "script-job-0"


def boards(job_id: str = "job-1", **fields: Any) -> StoryboardRequested:
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "requested_by": DANA,
                              "script_asset_id": f"{SCRIPT}-script", "scene_ids": [], "seed": 5}
    return example(StoryboardRequested, **{**values, **fields})  # type: ignore[return-value]


def lines(job_id: str = "job-1", **fields: Any) -> DialogueRewriteRequested:
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "requested_by": DANA,
                              "dialogue_asset_id": f"{SCRIPT}-dialogue-s1", "line_ids": [], "tone": None,
                              "target_syllables": None}
    return example(DialogueRewriteRequested, **{**values, **fields})  # type: ignore[return-value]


async def test_a_shot_list_is_planned_for_each_scene_asked_for(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft())
    request = boards(scene_ids=["s2"])
    assert await storyboard(studio.writer, studio.job(request), request, draft) == [f"{SCRIPT}-storyboard-s2"]
    board = StoryboardDocument.model_validate(studio.body(f"{SCRIPT}-storyboard-s2")).content
    assert (board.production_id, board.script_id, board.scene_id) == (PRODUCTION, SCRIPT, "s2")
    assert [s.shot_id for s in board.shots] == [f"s2-shot{n}" for n in range(1, len(board.shots) + 1)]
    assert {s.location for s in board.shots} == {"Harbor"}
    assert studio.provenance(f"{SCRIPT}-storyboard-s2")["parents"] == [f"{SCRIPT}-script", f"{SCRIPT}-dialogue-s2"]
    (call,) = studio.generator.calls
    assert call.schema is StoryboardDraft and "<line>MARA: Light it. Now.</line>" in call.prompt and call.seed == 5


async def test_every_scene_gets_a_shot_list_when_none_is_named_and_a_rerun_reuses_them(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft())
    request = boards()
    made = await storyboard(studio.writer, studio.job(request), request, draft)
    assert made == [f"{SCRIPT}-storyboard-s1", f"{SCRIPT}-storyboard-s2"] and len(studio.generator.calls) == 2
    assert await storyboard(studio.writer, studio.job(request), request, draft) == made
    assert len(studio.generator.calls) == 2 and len(studio.versions(f"{SCRIPT}-storyboard-s1")) == 1


async def test_a_shot_list_for_scenes_the_script_lacks_is_refused(desk: Studio) -> None:
    request = boards(scene_ids=["s8", "s9"])
    with pytest.raises(JobRefused, match=r"none of the scenes \['s8', 's9'\] is in script-job-0"):
        await storyboard(desk.writer, desk.job(request), request, sample_draft())


async def test_each_candidate_of_a_line_is_its_own_generation_with_its_own_seed(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft())
    request = lines(line_ids=["s1-l2"], tone="warmer", target_syllables=8, candidates=3, seed=11)
    made = await dialogue_candidates(studio.writer, studio.job(request), request, draft)
    assert made == f"{SCRIPT}-dialogue-s1-rewrite-job-1"
    rewrite = RewriteDocument.model_validate(studio.body(made)).content
    assert rewrite.dialogue_asset_id == f"{SCRIPT}-dialogue-s1" and rewrite.goal == {"tone": "warmer", "target_syllables": 8}
    (only,) = rewrite.lines
    assert (only.line_id, only.speaker, only.original, len(only.candidates)) == ("s1-l2", "JONAH", "Then we leave at five.", 3)
    calls = studio.generator.calls
    assert [c.seed for c in calls] == [12, 13, 14]
    assert [c.prompt.endswith(f"Rewrite the line (<goal>tone: warmer, target syllables: 8</goal>). Variant {n}.")
            for n, c in enumerate(calls, start=1)] == [True] * 3
    assert studio.provenance(made)["parents"] == [f"{SCRIPT}-dialogue-s1"]


async def test_without_a_goal_every_line_of_the_scene_is_just_made_better(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft())
    request = lines(candidates=1, seed=None)
    made = await dialogue_candidates(studio.writer, studio.job(request), request, draft)
    rewrite = RewriteDocument.model_validate(studio.body(made)).content
    assert rewrite.goal == {} and [x.line_id for x in rewrite.lines] == ["s1-l1", "s1-l2"]
    assert all(len(x.candidates) == 1 for x in rewrite.lines)
    assert all("<goal>make it better</goal>" in c.prompt and c.seed is None for c in studio.generator.calls)


async def test_candidates_a_job_already_wrote_are_reused(studio: Studio) -> None:
    draft = await studio.put_script(sample_draft())
    request = lines(candidates=1)
    made = await dialogue_candidates(studio.writer, studio.job(request), request, draft)
    calls = len(studio.generator.calls)
    assert await dialogue_candidates(studio.writer, studio.job(request), request, sample_draft()) == made
    assert len(studio.generator.calls) == calls


@pytest.mark.parametrize("asset_id", [f"{SCRIPT}-storyboard-s1", "script-other-dialogue-s1", f"{SCRIPT}-dialogue-s9",
                                      f"{SCRIPT}-dialogue-s1-rewrite-job-2", "frame-job-1-s1-shot1"])
async def test_candidates_for_anything_but_a_scenes_dialogue_of_this_script_are_refused(desk: Studio, asset_id: str) -> None:
    request = lines(dialogue_asset_id=asset_id)
    with pytest.raises(JobRefused, match=f"{asset_id} is not a dialogue asset of {SCRIPT}"):
        await dialogue_candidates(desk.writer, desk.job(request), request, sample_draft())
