"""A person's words: their version of a level stored verbatim (theirs, with its diff) and only what
a model wrote below it regenerated, their own dialogue with its line ids, a candidate they chose,
and going back to an earlier version. What a person does itself never reaches the model (`desk`)."""

from __future__ import annotations

import pytest

from helix.events import EditedLine
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.story import DialogueRewrite, Level, LineCandidates, StaleMark
from helix_writer.draft import Draft

from .conftest import Studio, by_a_person, sample_draft, script_request

BELOW_TITLE = ("characters", "scenes", "places", "dialogue-s1", "dialogue-s2")


async def rewrite(studio: Studio, draft: Draft, level: Level, content: object, job_id: str = "job-2") -> Draft:
    request = script_request(job_id=job_id)
    return await studio.editor.rewrite(studio.job(request), request, draft, level, content)


async def candidates(studio: Studio, draft: Draft, job_id: str = "job-5") -> ScriptAssetId:
    """Stored candidates for line s1-l2, as the writer stores them for a person to choose from."""
    part = ScriptAssetId(draft.script_id, ScriptPart.DIALOGUE, "s1", rewrite_job=job_id)
    content = DialogueRewrite(dialogue_asset_id="script-job-0-dialogue-s1", goal={"tone": "warmer"}, lines=[
        LineCandidates(line_id="s1-l2", speaker="JONAH", original="Then we leave at five.",
                       candidates=["We go at five.", "Five, then."])])
    await studio.repository.store_level(studio.script_job(job_id), draft, part.name, content.model_dump(mode="json"), [],
                                        parents=[])
    return part


async def test_dialogue_is_not_rewritten_as_a_level(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    with pytest.raises(JobRefused, match="line by line"):
        await rewrite(desk, draft, Level.DIALOGUE, [])


async def test_a_persons_title_is_stored_verbatim_and_what_they_wrote_below_is_kept_and_marked_stale(desk: Studio) -> None:
    draft = by_a_person(await desk.put_script(sample_draft()), *BELOW_TITLE)
    await rewrite(desk, draft, Level.TITLE, {"title": "Mine, All Mine"})
    assert desk.body("script-job-0-title")["content"] == {"title": "Mine, All Mine"}
    assert desk.provenance("script-job-0-title")["authorship"] == "human"
    assert [(m.part, m.job_id) for m in draft.stale] == [(part, "job-2") for part in BELOW_TITLE]
    assert len(desk.versions("script-job-0-characters")) == 1 and len(desk.versions("script-job-0-dialogue-s1")) == 1
    script = desk.body("script-job-0-script")["content"]
    assert script["title"] == "Mine, All Mine" and script["title_author"] == "human"
    assert [m["part"] for m in script["stale"]] == list(BELOW_TITLE)


async def test_a_persons_places_regenerate_only_the_dialogue_a_model_wrote(studio: Studio) -> None:
    draft = by_a_person(await studio.put_script(sample_draft()), "dialogue-s1")
    places = [{"name": "Lamp room", "description": "the lamp, cold"}, {"name": "Harbor", "description": "black water"}]
    await rewrite(studio, draft, Level.PLACES, places)
    stored = studio.body("script-job-0-places")["content"]
    assert [(p["name"], p["description"], p["author"]) for p in stored] == [(p["name"], p["description"], "human")
                                                                             for p in places]
    assert len(studio.versions("script-job-0-dialogue-s1")) == 1, "a person's dialogue is kept"
    assert draft.stale == [StaleMark(part="dialogue-s1", because="a level above", job_id="job-2")]
    assert len(studio.versions("script-job-0-dialogue-s2")) == 2
    assert studio.provenance("script-job-0-dialogue-s2")["authorship"] == "ai"
    assert studio.generator.calls and studio.generator.calls == studio.generator.asked("DialogueDraft")
    assert all("The storm breaks over the harbor." in c.prompt and "black water" in c.prompt for c in studio.generator.calls)


async def test_a_persons_outline_keeps_each_scenes_dialogue_by_its_id(desk: Studio) -> None:
    draft = by_a_person(await desk.put_script(sample_draft()), "places", "dialogue-s1", "dialogue-s2")
    before = {s.scene_id: s.dialogue for s in draft.scenes}
    outline = [{"scene_id": "s2", "place": "Harbor", "plot_element": "climax", "beat": "The harbor floods first."},
               {"scene_id": "s1", "place": "Lamp room", "plot_element": "resolution", "beat": "Mara relights the lamp."}]
    await rewrite(desk, draft, Level.SCENES, outline)
    assert [(s.scene_id, s.beat, s.author) for s in draft.scenes] == [("s2", "The harbor floods first.", "human"),
                                                                      ("s1", "Mara relights the lamp.", "human")]
    assert {s.scene_id: s.dialogue for s in draft.scenes} == before
    stored = desk.body("script-job-0-scenes")["content"]
    assert [s.get("dialogue") for s in stored] == [None, None], "dialogue is stored per scene"


async def test_scene_ids_a_part_name_cannot_carry_are_refused(desk: Studio) -> None:
    draft = by_a_person(await desk.put_script(sample_draft()), "places", "dialogue-s1", "dialogue-s2")
    with pytest.raises(JobRefused, match=r"scene ids \['s-1'\] must match"):
        await rewrite(desk, draft, Level.SCENES, [{"scene_id": "s-1", "place": "Quay", "plot_element": "climax",
                                                   "beat": "Waves."}])
    assert len(desk.versions("script-job-0-scenes")) == 1


async def test_a_persons_dialogue_keeps_the_line_ids_given_and_numbers_new_lines_around_them(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    draft.mark_stale("dialogue-s1", "scenes", "job-1")
    lines = [EditedLine(speaker="JONAH", text="Wait."),
             EditedLine(line_id="s1-l1", speaker="MARA", text="The tide turns at six."),
             EditedLine(speaker="MARA", parenthetical="quietly", text="Go.")]
    await desk.editor.edit_dialogue(desk.script_job("job-2"), draft, "s1", lines)
    stored = desk.body("script-job-0-dialogue-s1")["content"]
    assert [(x["line_id"], x["text"], x["author"]) for x in stored] == [("s1-l2", "Wait.", "human"),
                                                                         ("s1-l1", "The tide turns at six.", "human"),
                                                                         ("s1-l3", "Go.", "human")]
    assert stored[2]["parenthetical"] == "quietly" and desk.provenance("script-job-0-dialogue-s1")["authorship"] == "human"
    assert draft.stale == []
    assert desk.provenance("script-job-0-script")["authorship"] == "mixed"
    assert desk.body("script-job-0-script")["content"]["scenes"][0]["dialogue"] == stored


async def test_dialogue_for_a_scene_the_script_lacks_is_refused(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    with pytest.raises(JobRefused, match="no scene 's9' in script-job-0"):
        await desk.editor.edit_dialogue(desk.script_job("job-2"), draft, "s9", [EditedLine(speaker="MARA", text="Hm.")])


async def test_a_chosen_candidate_becomes_the_scenes_next_dialogue_version(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    part = await candidates(desk, draft)
    await desk.editor.apply_candidate(desk.script_job("job-6"), draft, part, "s1-l2", 1, "dana")
    stored = desk.body("script-job-0-dialogue-s1")
    assert [(x["text"], x["author"], x["selected_by"]) for x in stored["content"]] == [("The tide turns at six.", "ai", None),
                                                                                       ("Five, then.", "ai", "dana")]
    assert stored["selected"] == {"line_id": "s1-l2", "candidate": 1, "by": "dana"}
    provenance = desk.provenance("script-job-0-dialogue-s1")
    assert provenance["authorship"] == "mixed" and provenance["parents"] == [str(part)]
    assert draft.human("dialogue-s1") and desk.provenance("script-job-0-script")["authorship"] == "mixed"


@pytest.mark.parametrize(("line_id", "candidate", "reason"), [
    ("s1-l2", 2, "has no candidate 2 for line s1-l2"),
    ("s1-l1", 0, "has no candidate 0 for line s1-l1"),
])
async def test_a_candidate_that_is_not_there_is_refused(desk: Studio, line_id: str, candidate: int, reason: str) -> None:
    draft = await desk.put_script(sample_draft())
    part = await candidates(desk, draft)
    with pytest.raises(JobRefused, match=reason):
        await desk.editor.apply_candidate(desk.script_job("job-6"), draft, part, line_id, candidate, "dana")
    assert len(desk.versions("script-job-0-dialogue-s1")) == 1


async def test_candidates_that_were_never_written_are_refused(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    part = ScriptAssetId(draft.script_id, ScriptPart.DIALOGUE, "s1", rewrite_job="job-404")
    with pytest.raises(JobRefused, match="no dialogue candidates"):
        await desk.editor.apply_candidate(desk.script_job("job-6"), draft, part, "s1-l2", 0, "dana")


async def test_a_candidate_for_a_line_a_person_has_since_removed_is_refused(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    part = await candidates(desk, draft)
    await desk.editor.edit_dialogue(desk.script_job("job-2"), draft, "s1", [EditedLine(line_id="s1-l1", speaker="MARA",
                                                                                                       text="Alone now.")])
    with pytest.raises(JobRefused, match="line s1-l2 is not in scene s1 any more"):
        await desk.editor.apply_candidate(desk.script_job("job-6"), draft, part, "s1-l2", 0, "dana")


async def test_going_back_brings_the_version_before_back_as_the_newest(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    first = desk.body("script-job-0-characters")["content"]
    await desk.repository.store_human(desk.script_job("job-2"), draft, "characters", [
        {"name": "Ilse", "description": "the harbor master", "voice_notes": "", "author": "human"}])
    restored = await desk.editor.revert(desk.script_job("job-3"), draft, "characters", None)
    assert restored == 1 and len(desk.versions("script-job-0-characters")) == 3
    assert desk.body("script-job-0-characters") == {"level": "characters", "script_id": "script-job-0", "content": first,
                                                    "reverted_from": 1}
    assert desk.provenance("script-job-0-characters")["authorship"] == "ai", "the restored version keeps its authorship"
    assert [c.name for c in draft.characters] == ["Mara", "Jonah"]


async def test_undoing_an_edit_makes_the_script_as_it_was_the_newest_version(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    before = desk.body("script-job-0-script")
    await desk.editor.edit_dialogue(desk.script_job("job-2"), draft, "s1", [EditedLine(line_id="s1-l1", speaker="MARA", text="Changed.")])
    assert desk.body("script-job-0-script") != before
    await desk.editor.revert(desk.script_job("job-3"), draft, "dialogue-s1", None)
    assert len(desk.versions("script-job-0-script")) == 3, "the undo is the newest script, though its bytes equal the first"
    assert desk.body("script-job-0-script")["content"] == before["content"]


async def test_going_back_to_a_named_outline_brings_its_acts_too(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    scenes = desk.body("script-job-0-scenes")["content"]
    for n, beat in ((2, "Calm before."), (3, "Storm after.")):
        await desk.repository.store_level(desk.script_job(f"job-{n}"), draft, "scenes", scenes, [], parents=[],
                                          extra={"acts": [{"number": 1, "beat": beat, "author": "ai"}]})
    assert await desk.editor.revert(desk.script_job("job-4"), draft, "scenes", 2) == 2
    body = desk.body("script-job-0-scenes")
    assert body["acts"] == [{"number": 1, "beat": "Calm before.", "author": "ai"}] and body["reverted_from"] == 2
    assert [a.beat for a in draft.acts] == ["Calm before."]


async def test_going_back_from_a_first_version_is_refused(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    with pytest.raises(JobRefused, match="no earlier version"):
        await desk.editor.revert(desk.script_job("job-2"), draft, "places", None)
