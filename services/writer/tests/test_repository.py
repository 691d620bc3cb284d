"""The script repository: a script's latest and approved state, typed parts and their versions,
what a job stored before (resume), a person's version stored verbatim with its diff, and a
generated part stored with its prompt, parameters, cost, lineage and summary."""

from __future__ import annotations

import pytest

from helix.documents import TitleDocument
from helix.events import AssetCost, Authorship, ScriptPartSummary
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.generation.reader import NotApproved
from helix.story import Level, TitleDraft
from helix_writer.structured import Generated

from .conftest import PRODUCTION, Studio, sample_draft

SCRIPT = "script-job-0"


async def renamed(desk: Studio, title: str, job_id: str) -> None:
    """A new version of the title and of the assembled script, by another job."""
    draft = await desk.repository.draft(PRODUCTION, SCRIPT)
    draft.title = title
    job = desk.script_job(job_id)
    await desk.repository.store_level(job, draft, "title", {"title": title}, [], parents=[])
    await desk.writer.assemble(job, draft)


async def test_a_script_that_was_never_stored_is_refused(desk: Studio) -> None:
    with pytest.raises(JobRefused, match=f"no script script-nope in production {PRODUCTION}"):
        await desk.repository.draft(PRODUCTION, "script-nope")


async def test_the_draft_is_the_newest_assembled_script(desk: Studio) -> None:
    written = await desk.put_script(sample_draft())
    await renamed(desk, "Low Water", "job-2")
    draft = await desk.repository.draft(PRODUCTION, SCRIPT)
    assert draft.title == "Low Water" and draft.scenes == written.scenes and draft.characters == written.characters
    assert draft.assets["dialogue-s2"] == "script-job-0-dialogue-s2"


async def test_storyboards_are_drawn_from_the_version_a_person_approved_not_the_newest(desk: Studio) -> None:
    await desk.put_script(sample_draft())
    await renamed(desk, "Low Water", "job-2")
    with pytest.raises(NotApproved, match="script script-job-0-script is not approved"):
        await desk.repository.approved_draft(PRODUCTION, SCRIPT)
    await desk.approve("script-job-0-script", version=1)
    assert (await desk.repository.approved_draft(PRODUCTION, SCRIPT)).title == "The Last Light"


async def test_the_latest_part_is_read_as_its_typed_document(desk: Studio) -> None:
    await desk.put_script(sample_draft())
    await renamed(desk, "Low Water", "job-2")
    title = await desk.repository.latest(PRODUCTION, ScriptAssetId(SCRIPT, ScriptPart.TITLE))
    assert isinstance(title, TitleDocument) and title.content.title == "Low Water" and title.script_id == SCRIPT
    assert await desk.repository.latest(PRODUCTION, ScriptAssetId(SCRIPT, ScriptPart.STORYBOARD, "s1")) is None
    with pytest.raises(ValueError, match="not a JSON part"):
        await desk.repository.latest(PRODUCTION, ScriptAssetId(SCRIPT, ScriptPart.FOUNTAIN))


async def test_a_part_goes_back_to_the_version_before_the_newest_or_to_the_one_named(desk: Studio) -> None:
    await desk.put_script(sample_draft())
    await renamed(desk, "Low Water", "job-2")
    await renamed(desk, "High Water", "job-3")
    title = ScriptAssetId(SCRIPT, ScriptPart.TITLE)
    before = await desk.repository.version(PRODUCTION, title, None)
    assert before.version == 2 and before.document.content.title == "Low Water"
    assert (await desk.repository.version(PRODUCTION, title, 1)).document.content.title == "The Last Light"
    with pytest.raises(JobRefused, match="has no version 7"):
        await desk.repository.version(PRODUCTION, title, 7)


@pytest.mark.parametrize("part", [ScriptAssetId(SCRIPT, ScriptPart.CHARACTERS),
                                  ScriptAssetId(SCRIPT, ScriptPart.STORYBOARD, "s1")])
async def test_a_part_with_no_earlier_version_cannot_go_back(desk: Studio, part: ScriptAssetId) -> None:
    await desk.put_script(sample_draft())
    with pytest.raises(JobRefused, match="no earlier version to go back to"):
        await desk.repository.version(PRODUCTION, part, None)


async def test_a_job_run_again_finds_the_part_it_stored_and_another_job_does_not(desk: Studio) -> None:
    await desk.put_script(sample_draft(), job_id="job-0")
    again, other = sample_draft(), sample_draft()
    found = await desk.repository.resumed(desk.script_job("job-0"), again, "title")
    assert isinstance(found, TitleDocument) and found.content.title == "The Last Light"
    assert again.assets == {"title": "script-job-0-title"}
    assert await desk.repository.resumed(desk.script_job("job-9"), other, "title") is None
    assert other.assets == {}


async def test_a_persons_version_is_stored_verbatim_as_theirs_with_its_diff(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    cast = [{"name": "Mara", "description": "the keeper", "voice_notes": "", "author": "human"},
            {"name": "Ilse", "description": "the harbor master", "voice_notes": "", "author": "human"}]
    await desk.repository.store_human(desk.script_job("job-2"), draft, "characters", cast)
    assert desk.body("script-job-0-characters")["content"] == cast
    provenance = desk.provenance("script-job-0-characters")
    assert provenance["authorship"] == "human" and provenance["model"] is None
    diff = provenance["diff_from_previous"]
    assert diff.startswith("--- previous\n+++ rewritten\n")
    assert '-    "name": "Jonah",' in diff and '+    "name": "Ilse",' in diff
    assert not [row for row in diff.splitlines() if row[:1] in "+-" and "Mara" in row], "Mara is unchanged: context, not a change"
    (event,) = desk.generated("job-2")
    assert event.authorship is Authorship.HUMAN and event.model is None and event.asset_id == "script-job-0-characters"


async def test_a_persons_scenes_are_diffed_against_the_scenes_as_stored(desk: Studio) -> None:
    draft = await desk.put_script(sample_draft())
    scenes = desk.body("script-job-0-scenes")["content"]
    await desk.repository.store_human(desk.script_job("job-2"), draft, "scenes", [{**scenes[0], "summary": "Rewritten."}, *scenes[1:]])
    diff = desk.provenance("script-job-0-scenes")["diff_from_previous"]
    changed = [row for row in diff.splitlines() if row[:1] in "+-" and not row.startswith(("---", "+++"))]
    assert any("Rewritten." in row for row in changed)
    assert not [row for row in changed if "dialogue" in row], "no field the stored level never held"


async def test_the_first_version_of_a_part_by_a_person_is_diffed_against_nothing(desk: Studio) -> None:
    draft = sample_draft("script-job-5")
    await desk.repository.store_human(desk.script_job("job-5"), draft, "title", {"title": "Mine"})
    diff = desk.provenance("script-job-5-title")["diff_from_previous"]
    assert "-null" in diff and '+  "title": "Mine"' in diff


async def test_a_generated_part_records_its_prompt_generations_cost_and_lineage(desk: Studio) -> None:
    draft = sample_draft()
    draft.assets["title"] = "script-job-0-title"
    messages = [{"role": "user", "content": "List the characters."}]
    first = Generated(TitleDraft(title="Storm"), {"temperature": 0.8, "new_tokens": 12}, AssetCost(model_seconds=0.25))
    second = Generated(TitleDraft(title="Calm"), {"temperature": 0.8, "new_tokens": 30}, AssetCost(model_seconds=0.5))
    job = desk.script_job("job-3", seed=11)
    stored = await desk.repository.store_level(job, draft, "characters", [], messages, first, second,
                                               parents=["title", "script-other-scenes", "places"])
    assert draft.assets["characters"] == stored.key.asset_id == "script-job-0-characters"
    (event,) = desk.generated("job-3")
    assert event.parent_asset_ids == ["script-job-0-title", "script-other-scenes"], "names become asset ids; unknown names go"
    assert event.inputs == {"messages": messages} and event.seed == 11 and event.model == desk.generator.model_ref
    assert event.parameters == {"level": "characters", "temperature": 0.8, "new_tokens": 12, "generations": 2}
    assert event.cost == AssetCost(model_seconds=0.75)
    assert event.summary == ScriptPartSummary(part="characters", level=Level.CHARACTERS)
    assert desk.body("script-job-0-characters") == {"level": "characters", "script_id": "script-job-0", "content": []}


async def test_an_assembled_part_records_what_it_was_assembled_from(desk: Studio) -> None:
    draft = sample_draft()
    draft.assets.update({"title": "script-job-0-title", "dialogue-s1": "script-job-0-dialogue-s1"})
    job = desk.script_job("job-4")
    await desk.repository.store_part(job, draft, "storyboard-s1", b"{}", "application/json", "json", [], ["title", "dialogue-s1"])
    (event,) = desk.generated("job-4")
    assert event.inputs == {"assembled_from": ["script-job-0-title", "script-job-0-dialogue-s1"]}
    assert event.kind.value == "storyboard" and event.summary == ScriptPartSummary(part="storyboard-s1", level=None)
    assert event.parameters == {"level": "storyboard-s1"} and event.cost is None
