"""Scene plates: one image per request, named after its job, in the production's style, its
seed stable for the job when none is asked for, and what it was made from in its provenance."""

from __future__ import annotations

from helix.events import JobCompleted, JobFailed, SceneRequested
from helix.generation.ids import ImageAssetId, ImageFamily
from helix_visual.plates import render_plate
from helix_visual.prompts import stable_seed

from .conftest import PRODUCTION, Studio, image_request


async def test_a_plate_is_one_scene_image_with_the_style_on_its_prompt(studio: Studio) -> None:
    request = image_request(SceneRequested, prompt="a harbour at dawn", style="charcoal sketch", negative_prompt="people",
                            parent_asset_ids=["script-j1-places"], width=96, height=64)
    done = await studio.run(request, render_plate)
    asset = str(ImageAssetId(ImageFamily.SCENE, "job-1"))
    assert isinstance(done, JobCompleted) and done.asset_ids == [asset] == ["scene-job-1"]
    (event,) = studio.generated(asset)
    assert event.kind == "scene" and event.media_type == "image/png" and event.parent_asset_ids == ["script-j1-places"]
    assert event.inputs == {"prompt": "a harbour at dawn, charcoal sketch", "negative_prompt": "people"}
    assert event.parameters["prompt"] == "a harbour at dawn, charcoal sketch" and event.parameters["negative_prompt"] == "people"
    assert event.seed == 7 and event.parameters["width"] == 96 and event.parameters["height"] == 64
    assert studio.image(asset).size == (96, 64)


async def test_without_a_seed_the_plate_seeds_from_production_and_job(studio: Studio) -> None:
    await studio.run(image_request(SceneRequested, job_id="job-a", seed=None), render_plate)
    await studio.run(image_request(SceneRequested, job_id="job-b", seed=None), render_plate)
    (first,), (second,) = studio.generated("scene-job-a"), studio.generated("scene-job-b")
    assert first.seed == stable_seed(PRODUCTION, "job-a") and second.seed == stable_seed(PRODUCTION, "job-b")
    assert first.seed != second.seed
    assert "negative_prompt" not in first.inputs, "no negative prompt asked for, none recorded"


async def test_a_plate_for_a_model_the_service_does_not_have_is_refused(studio: Studio) -> None:
    failed = await studio.run(image_request(SceneRequested, model="sdxl"), render_plate)
    assert isinstance(failed, JobFailed) and not failed.retriable
    assert "unknown model 'sdxl'" in failed.error
    assert studio.store.puts == 0


async def test_a_plate_of_a_place_keeps_its_approved_establishing_view(cast_studio: Studio, studio: Studio) -> None:
    from helix.events import AssetKind
    from helix_visual.sheets import render_sheets

    from .test_sheets import approved_script, sheet

    await approved_script(cast_studio)
    assert isinstance(await cast_studio.run(sheet("sheet-1", places=["the lamp room"]), render_sheets), JobCompleted)
    unapproved = await cast_studio.run(image_request(SceneRequested, job_id="job-0", place="the lamp room"), render_plate)
    assert isinstance(unapproved, JobFailed) and "the lamp room has no approved establishing view" in unapproved.error
    view = "reference-sheet-1-p1-establishing"
    await cast_studio.approve(view, AssetKind.REFERENCE)
    done = await cast_studio.run(image_request(SceneRequested, job_id="job-1", place="The Lamp  Room"), render_plate)
    assert isinstance(done, JobCompleted)
    (event,) = cast_studio.generated("scene-job-1")
    assert event.inputs["place_reference"] == {"place": "The Lamp  Room", "asset_id": view, "version": 1} and view in event.parent_asset_ids
    assert event.parameters["reference_masks"] == 0 and "reference_model" in event.parameters
    plain = await cast_studio.run(image_request(SceneRequested, job_id="job-2"), render_plate)
    assert isinstance(plain, JobCompleted) and cast_studio.latest_bytes("scene-job-1") != cast_studio.latest_bytes("scene-job-2")
    no_adapter = await studio.run(image_request(SceneRequested, job_id="job-3", place="the lamp room"), render_plate)
    assert isinstance(no_adapter, JobFailed) and "takes no reference images" in no_adapter.error
