"""Revisions of an image a reviewer saw: a new version of the same asset, re-rendered image to
image from the version they saw with their notes on its prompt, the same model, size, seed and
tiling; marked regions change and the rest stays as it was; what is not a visual image, or a
version that is not stored, is refused."""

from __future__ import annotations

import numpy as np

from helix.events import ImageRevisionRequested, JobCompleted, JobFailed, Region, SceneRequested
from helix_visual.plates import render_plate
from helix_visual.prompts import revision_prompt
from helix_visual.revisions import revise_image

from .conftest import PRODUCTION, Studio, image_request

PLATE = "scene-job-1"


def revision(job_id: str, *, version: int = 1, notes: str = "darker sky", regions: list[Region] | None = None,
             asset_id: str = PLATE) -> ImageRevisionRequested:
    return image_request(ImageRevisionRequested, job_id=job_id, asset_id=asset_id, asset_version=version, notes=notes,
                         regions=regions or [])


async def plate(studio: Studio) -> None:
    done = await studio.run(image_request(SceneRequested, prompt="a harbour at dawn", width=96, height=64, steps=4, seed=5), render_plate)
    assert isinstance(done, JobCompleted)


async def test_a_revision_is_the_next_version_of_the_same_image_rendered_from_the_one_seen(studio: Studio) -> None:
    await plate(studio)
    done = await studio.run(revision("rev-1"), revise_image)
    assert isinstance(done, JobCompleted) and done.asset_ids == [PLATE]
    first, second = studio.generated(PLATE)
    assert (first.version, second.version) == (1, 2) and second.revises_version == 1 and second.parent_asset_ids == [PLATE]
    assert second.inputs["prompt"] == revision_prompt("a harbour at dawn", "darker sky") == second.parameters["prompt"]
    assert second.inputs["revises"] == {"asset_id": PLATE, "version": 1} and "regions" not in second.inputs
    for kept in ("model", "model_name", "seed", "width", "height", "guidance_scale", "tiling", "steps"):
        assert second.parameters[kept] == first.parameters[kept], kept
    assert second.parameters["strength"] == studio.renderer.settings.visual_revision_strength
    assert second.parameters["steps_run"] == 2, "image to image from the parent, half its steps at strength 0.5"
    assert studio.image(PLATE, 2).size == (96, 64)


async def test_a_revision_builds_on_the_version_the_reviewer_saw_not_the_newest(studio: Studio) -> None:
    await plate(studio)
    await studio.run(revision("rev-1", notes="darker sky"), revise_image)
    await studio.run(revision("rev-2", version=1, notes="a red boat"), revise_image)
    third = studio.generated(PLATE)[-1]
    assert third.version == 3 and third.revises_version == 1
    assert third.inputs["prompt"] == revision_prompt("a harbour at dawn", "a red boat"), "v1's prompt, without v2's notes"


async def test_marked_regions_change_and_the_rest_stays_as_the_reviewer_saw_it(studio: Studio) -> None:
    await plate(studio)
    regions = [Region(x=0.0, y=0.0, width=0.25, height=1.0, note="a red boat"), Region(x=0.75, y=0.0, width=0.25, height=0.5)]
    done = await studio.run(revision("rev-1", regions=regions), revise_image)
    assert isinstance(done, JobCompleted)
    revised = studio.generated(PLATE)[-1]
    assert revised.inputs["prompt"] == revision_prompt("a harbour at dawn", "darker sky; a red boat"), "region notes join the prompt"
    assert revised.inputs["regions"] == [r.model_dump() for r in regions] and revised.parameters["regions"] == 2
    seen, now = (np.asarray(studio.image(PLATE, v), dtype=int) for v in (1, 2))
    assert np.array_equal(seen[:, 32:64], now[:, 32:64]), "between the regions (past the feathered edge) nothing changed"
    assert np.array_equal(seen[40:, 72:], now[40:, 72:]), "below the second region nothing changed"
    assert not np.array_equal(seen[:, :20], now[:, :20]) and not np.array_equal(seen[:28, 76:], now[:28, 76:]), "inside, re-rendered"


async def test_what_is_not_a_stored_visual_image_is_refused(studio: Studio) -> None:
    await plate(studio)
    not_ours = await studio.run(revision("rev-1", asset_id="script-j1-title"), revise_image)
    assert isinstance(not_ours, JobFailed) and not not_ours.retriable
    assert not_ours.error == "script-j1-title is not one of the visual service's images (frame-, scene-, texture-)"
    no_version = await studio.run(revision("rev-2", version=4), revise_image)
    assert isinstance(no_version, JobFailed) and no_version.error == f"no version 4 of image asset {PLATE} in production {PRODUCTION}"
    assert len(studio.generated(PLATE)) == 1
