"""`Draft`: who wrote each part of a script, the stale marks a person should look at, a stored
version put back (`restore`), a draft from an assembled script (`draft_of`), dialogue kept
across a new outline (`keep_dialogue`) and the script's authorship."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helix.documents import CharactersDocument, DialogueDocument, PlacesDocument, ScenesDocument, TitleContent, TitleDocument
from helix.events import Authorship
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.story import Act, Character, Place, PlotElement, SceneScript, StaleMark
from helix_writer.draft import Draft, authorship, draft_of, keep_dialogue

from .conftest import by_a_person, line, sample_draft

PARTS = ("title", "characters", "scenes", "places", "dialogue-s1", "dialogue-s2")


def scene(scene_id: str, beat: str = "The keeper waits.") -> SceneScript:
    return SceneScript(scene_id=scene_id, place="Lamp room", plot_element=PlotElement.RISING_ACTION, beat=beat)


def test_a_draft_the_model_wrote_has_no_part_by_a_person() -> None:
    draft = sample_draft()
    assert not any(draft.human(part) for part in PARTS)
    assert authorship(draft.script()) is Authorship.AI


def _act_by_a_person(draft: Draft) -> None:
    draft.acts = [Act(number=1, beat="A person's outline.", author="human")]


def _one_line_chosen_by_a_person(draft: Draft) -> None:
    draft.scenes[0].dialogue[1] = draft.scenes[0].dialogue[1].model_copy(update={"selected_by": "dana"})


@pytest.mark.parametrize(("change", "part"), [
    (lambda d: by_a_person(d, "title"), "title"),
    (lambda d: by_a_person(d, "characters"), "characters"),
    (lambda d: by_a_person(d, "scenes"), "scenes"),
    (lambda d: by_a_person(d, "places"), "places"),
    (lambda d: by_a_person(d, "dialogue-s2"), "dialogue-s2"),
    (_one_line_chosen_by_a_person, "dialogue-s1"),
])
def test_a_part_is_a_persons_when_they_wrote_or_chose_any_of_it_and_no_other_part_is(change: Callable[[Draft], object],
                                                                                      part: str) -> None:
    draft = sample_draft()
    change(draft)
    assert [p for p in PARTS if draft.human(p)] == [part]
    assert authorship(draft.script()) is Authorship.MIXED


def test_an_outline_act_by_a_person_makes_the_scenes_level_theirs() -> None:
    draft = sample_draft()
    _act_by_a_person(draft)
    assert [p for p in PARTS if draft.human(p)] == ["scenes"]


def test_dialogue_of_a_scene_the_draft_does_not_have_is_nobodys() -> None:
    assert not by_a_person(sample_draft(), "dialogue-s1").human("dialogue-s9")


def test_a_script_written_wholly_by_a_person_is_human() -> None:
    draft = by_a_person(sample_draft(), *PARTS)
    assert authorship(draft.script()) is Authorship.HUMAN


def test_a_part_is_marked_stale_once_with_its_latest_reason_and_fresh_clears_only_it() -> None:
    draft = sample_draft()
    draft.mark_stale("places", "scenes", "job-1")
    draft.mark_stale("dialogue-s1", "scenes", "job-1")
    draft.mark_stale("places", "title", "job-2")
    assert draft.stale == [StaleMark(part="dialogue-s1", because="scenes", job_id="job-1"),
                           StaleMark(part="places", because="title", job_id="job-2")]
    draft.fresh("places")
    assert [m.part for m in draft.stale] == ["dialogue-s1"]
    assert draft.script().stale == draft.stale


def test_restoring_title_characters_and_places_puts_them_back_and_clears_their_marks() -> None:
    draft = sample_draft()
    for part in ("title", "characters", "places"):
        draft.mark_stale(part, "scenes", "job-1")
    cast = [Character(name="Ilse", description="the harbor master", author="human")]
    draft.restore("title", TitleDocument(level="title", script_id=draft.script_id, content=TitleContent(title="Low Water")))
    draft.restore("characters", CharactersDocument(level="characters", script_id=draft.script_id, content=cast))
    draft.restore("places", PlacesDocument(level="places", script_id=draft.script_id,
                                           content=[Place(name="Quay", description="wet stone")]))
    assert draft.title == "Low Water" and draft.characters == cast and list(draft.places) == ["Quay"]
    assert draft.stale == []


def test_restoring_a_title_restores_who_wrote_it() -> None:
    draft = sample_draft()
    draft.title, draft.title_author = "A person's title", "human"
    body = TitleDocument(level="title", script_id=draft.script_id, content=TitleContent(title="The model's title"))
    draft.restore("title", body, Authorship.AI)
    assert (draft.title, draft.title_author) == ("The model's title", "ai"), "a reverted title credits the model again"
    draft.restore("title", body, Authorship.HUMAN)
    assert draft.title_author == "human"


def test_restoring_the_scenes_keeps_each_scenes_dialogue_by_its_id() -> None:
    draft = sample_draft()
    before = {s.scene_id: s.dialogue for s in draft.scenes}
    acts = [Act(number=1, beat="Calm."), Act(number=2, beat="Storm.")]
    draft.restore("scenes", ScenesDocument(level="scenes", script_id=draft.script_id, acts=acts,
                                           content=[scene("s2", "The harbor floods."), scene("s3")]))
    assert [(s.scene_id, s.beat) for s in draft.scenes] == [("s2", "The harbor floods."), ("s3", "The keeper waits.")]
    assert draft.scenes[0].dialogue == before["s2"] and draft.scenes[1].dialogue == []
    assert draft.acts == acts


def test_restoring_scenes_stored_without_acts_keeps_the_outline() -> None:
    draft = sample_draft()
    outline = list(draft.acts)
    draft.restore("scenes", ScenesDocument(level="scenes", script_id=draft.script_id, content=[scene("s1")]))
    assert draft.acts == outline and draft.scenes[0].dialogue[0].text == "The tide turns at six."


def test_restoring_a_scenes_dialogue_changes_only_that_scene() -> None:
    draft = sample_draft()
    lines = [line("s2", 1, "JONAH", "Not yet.", author="human")]
    draft.restore("dialogue-s2", DialogueDocument(level="dialogue-s2", script_id=draft.script_id, content=lines))
    assert draft.scenes[1].dialogue == lines and len(draft.scenes[0].dialogue) == 2


def test_restoring_dialogue_of_a_scene_the_draft_does_not_have_is_refused() -> None:
    draft = sample_draft()
    with pytest.raises(JobRefused, match="dialogue-s9 belongs to no scene"):
        draft.restore("dialogue-s9", DialogueDocument(level="dialogue-s9", script_id=draft.script_id, content=[]))


def test_a_draft_from_an_assembled_script_names_every_part_and_holds_the_same_script() -> None:
    script = by_a_person(sample_draft(), "title", "dialogue-s1").script()
    draft = draft_of(script, "script-job-9")
    assert draft.script() == script
    assert draft.assets == {name: f"script-job-9-{name}" for name in
                            ("title", "characters", "scenes", "places", "script", "fountain", "dialogue-s1", "dialogue-s2")}
    assert draft.human("title") and draft.human("dialogue-s1") and not draft.human("dialogue-s2")


def test_parts_are_named_as_the_scripts_asset_ids() -> None:
    draft = sample_draft("script-job-3")
    assert draft.part("dialogue-s2") == ScriptAssetId("script-job-3", ScriptPart.DIALOGUE, "s2")
    assert str(draft.part("places")) == "script-job-3-places"
    with pytest.raises(ValueError, match="not a part of a script"):
        draft.part("acts")


def test_a_new_outline_keeps_the_dialogue_of_the_scenes_it_keeps() -> None:
    old = sample_draft().scenes
    new = [scene("s2", "Rewritten."), scene("s7")]
    kept = keep_dialogue(old, new)
    assert kept[0].beat == "Rewritten." and kept[0].dialogue == old[1].dialogue
    assert kept[1].dialogue == []
    assert new[0].dialogue == [], "the new scenes themselves are not changed"
