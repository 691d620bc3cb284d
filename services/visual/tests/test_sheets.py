"""Reference sheets from the approved script: each character's views and each place's
establishing view, named `reference-<job>-<c1|p1>-<view>`, each with its typed summary; all
views of one subject share their noise; what cannot be drawn is refused with the reason."""

from __future__ import annotations

from helix.documents import ScriptDocument
from helix.events import AssetKind, JobCompleted, JobFailed, ReferenceSheetRequested, ReferenceSummary, ReferenceView
from helix.generation.ids import ImageAssetId
from helix.story import Character, Place, SceneScript, Script
from helix_visual.prompts import character_view_prompt, place_view_prompt, stable_seed
from helix_visual.sheets import render_sheets

from .conftest import PRODUCTION, Studio, image_request

SCRIPT = "script-j1-script"


async def approved_script(studio: Studio) -> None:
    script = Script(production_id=PRODUCTION, logline="A keeper keeps the light.", title="The Lamp",
                    characters=[Character(name="MARA", description="a lighthouse keeper in a yellow oilskin"),
                                Character(name="TOM", description="a young fisherman with a red cap")],
                    places=[Place(name="the lamp room", description="a round glass room at the top of the tower")],
                    scenes=[SceneScript(scene_id="s1", place="the lamp room", plot_element="exposition", beat="The lamp is lit.")])
    body = ScriptDocument(level="script", script_id="script-j1", content=script)
    studio.store.put(production_id=PRODUCTION, kind=AssetKind.SCRIPT, asset_id=SCRIPT, data=body.model_dump_json().encode(),
                     media_type="application/json", ext="json")
    await studio.approve(SCRIPT, AssetKind.SCRIPT)


def sheet(job_id: str = "job-1", **fields: object) -> ReferenceSheetRequested:
    return image_request(ReferenceSheetRequested, job_id, **{"script_asset_id": SCRIPT, "characters": [], "places": [], "prompt": "",
                                                             "style": "pencil", "seed": None, **fields})


async def test_every_character_and_place_gets_its_views(studio: Studio) -> None:
    await approved_script(studio)
    done = await studio.run(sheet(views=["front", "profile"]), render_sheets)
    ids = ["reference-job-1-c1-front", "reference-job-1-c1-profile", "reference-job-1-c2-front", "reference-job-1-c2-profile",
           "reference-job-1-p1-establishing"]
    assert isinstance(done, JobCompleted) and done.asset_ids == ids
    events = {i: studio.generated(i)[0] for i in ids}
    summaries = {i: e.typed_summary() for i, e in events.items()}
    assert summaries[ids[1]] == ReferenceSummary(subject="MARA", subject_kind="character", view=ReferenceView.PROFILE)
    assert summaries[ids[4]] == ReferenceSummary(subject="the lamp room", subject_kind="place", view=ReferenceView.ESTABLISHING)
    assert all(e.kind == "reference" and e.parent_asset_ids == [SCRIPT] for e in events.values())
    assert events[ids[0]].inputs["prompt"] == character_view_prompt("MARA", "a lighthouse keeper in a yellow oilskin", "front", extra=None,
                                                                     style="pencil")
    assert events[ids[4]].inputs["prompt"] == place_view_prompt("the lamp room", "a round glass room at the top of the tower", extra=None,
                                                                style="pencil")
    assert events[ids[0]].seed == events[ids[1]].seed == stable_seed(PRODUCTION, "character", "MARA"), "one subject, one noise"
    assert events[ids[0]].seed != events[ids[2]].seed
    assert ImageAssetId.from_id(ids[1]).view == "profile" and ImageAssetId.from_id(ids[1]).kind is AssetKind.REFERENCE


async def test_a_sheet_of_some_characters_only(studio: Studio) -> None:
    await approved_script(studio)
    done = await studio.run(sheet(characters=["TOM"], views=["three_quarter"]), render_sheets)
    assert isinstance(done, JobCompleted) and done.asset_ids == ["reference-job-1-c2-three_quarter"], "TOM keeps his number on the sheet"


async def test_what_a_sheet_cannot_draw_is_refused(studio: Studio) -> None:
    unapproved = await studio.run(sheet(), render_sheets)
    assert isinstance(unapproved, JobFailed) and "is not approved" in unapproved.error
    await approved_script(studio)
    cases = [(sheet("job-2", characters=["ANA"]), "ANA not in the approved script script-j1-script (characters: MARA, TOM"),
             (sheet("job-3", script_asset_id="script-j1-storyboard-s1"), "is not an assembled script"),
             (sheet("job-4", characters=["MARA"], views=["establishing"]), "a character's sheet needs a character view")]
    for request, reason in cases:
        failed = await studio.run(request, render_sheets)
        assert isinstance(failed, JobFailed) and reason in failed.error and not failed.retriable, failed
