"""The cast frames keep: with `cast`, each character in a shot conditions on the newest approved
front view of their reference sheet, the shot's place on its establishing view (over the whole
frame); a character without one is drawn from the prompt alone; a reference the request names
wins; unapproved views are never used."""

from __future__ import annotations

from helix.events import AssetKind, FrameRequested, FrameSummary, JobCompleted, JobFailed, UsedVersion
from helix_visual.cast import approved_cast
from helix_visual.frames import render_frames
from helix_visual.sheets import render_sheets

from .conftest import Studio, image_request
from .test_frames import BOARD, MARA_REF, cast_board
from .test_sheets import approved_script, sheet

MARA_FRONT, TOM_FRONT = "reference-sheet-1-c1-front", "reference-sheet-1-c2-front"


def cast_frames(job_id: str, **fields: object) -> FrameRequested:
    return image_request(FrameRequested, job_id, **{"storyboard_asset_id": BOARD, "seed": 3, "prompt": "keepers", "cast": True,
                                                    "character_references": {}, **fields})


async def test_frames_keep_the_approved_cast(cast_studio: Studio) -> None:
    studio = cast_studio
    await approved_script(studio)
    await cast_board(studio)
    assert isinstance(await studio.run(sheet("sheet-1", views=["front", "profile"]), render_sheets), JobCompleted)
    kept = await approved_cast(studio.renderer, "lighthouse", {"MARA", "TOM"})
    assert kept.characters == {} and kept.places == {}, "nothing approved yet"
    await studio.approve(MARA_FRONT, AssetKind.REFERENCE)
    await studio.approve("reference-sheet-1-c2-profile", AssetKind.REFERENCE)  # a profile is not what frames keep
    assert isinstance(await studio.run(cast_frames("job-1"), render_frames), JobCompleted)
    two = studio.generated("frame-job-1-s1-shot1")[0]
    assert two.inputs["references"] == {"MARA": {"asset_id": MARA_FRONT, "version": 1}}, "TOM has no approved front view yet"
    assert MARA_FRONT in two.parent_asset_ids

    await studio.approve(TOM_FRONT, AssetKind.REFERENCE)
    assert isinstance(await studio.run(cast_frames("job-2"), render_frames), JobCompleted)
    both = studio.generated("frame-job-2-s1-shot1")[0]
    assert both.inputs["references"] == {"MARA": {"asset_id": MARA_FRONT, "version": 1}, "TOM": {"asset_id": TOM_FRONT, "version": 1}}
    assert both.parameters["reference_masks"] == 2
    assert studio.latest_bytes("frame-job-1-s1-shot1") != studio.latest_bytes("frame-job-2-s1-shot1"), "TOM's look, another frame"

    named = await studio.run(cast_frames("job-3", character_references={"MARA": MARA_REF}), render_frames)
    assert isinstance(named, JobCompleted)
    assert studio.generated("frame-job-3-s1-shot1")[0].inputs["references"]["MARA"] == {"asset_id": MARA_REF, "version": 1}, \
        "a reference the request names wins"


async def test_the_cast_needs_a_model_that_takes_references(laid_out_studio: Studio) -> None:
    await cast_board(laid_out_studio)
    failed = await laid_out_studio.run(cast_frames("job-1"), render_frames)
    assert isinstance(failed, JobFailed) and "takes no reference images" in failed.error


async def test_frames_keep_the_shots_place_over_the_whole_frame(cast_studio: Studio) -> None:
    studio = cast_studio
    await approved_script(studio)
    await cast_board(studio)  # its shots are in "the lamp room", the script's place
    assert isinstance(await studio.run(sheet("sheet-1", views=["front"]), render_sheets), JobCompleted)
    place = "reference-sheet-1-p1-establishing"
    await studio.approve(place, AssetKind.REFERENCE)
    assert isinstance(await studio.run(cast_frames("job-1", shot_id="s1-shot2"), render_frames), JobCompleted)
    alone = studio.generated("frame-job-1-s1-shot2")[0]
    assert alone.inputs["place_reference"] == {"place": "the lamp room", "asset_id": place, "version": 1}
    summary = alone.typed_summary()
    assert isinstance(summary, FrameSummary) and summary.place == UsedVersion(asset_id=place, version=1) and summary.references == {}
    assert alone.parameters["reference_masks"] == 0 and place in alone.parent_asset_ids, "one reference: no mask"

    await studio.approve(MARA_FRONT, AssetKind.REFERENCE)
    assert isinstance(await studio.run(cast_frames("job-2", shot_id="s1-shot2"), render_frames), JobCompleted)
    both = studio.generated("frame-job-2-s1-shot2")[0]
    assert both.parameters["reference_masks"] == 2, "MARA where she stands, the place over the whole frame"
    assert set(both.inputs["references"]) == {"MARA"} and both.inputs["place_reference"]["asset_id"] == place
    assert studio.latest_bytes("frame-job-1-s1-shot2") != studio.latest_bytes("frame-job-2-s1-shot2")
    assert summary.stale({place: 2}) == [f"the place's reference {place} has v2 approved; this frame used v1"]
