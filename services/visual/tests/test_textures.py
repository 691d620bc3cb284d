"""Textures: rendered tiling on the axes asked for, the seam ratios measured on the image and
recorded with it; a texture that does not tile where it was asked to fails its job, and one
asked not to tile is measured but never failed for its seams."""

from __future__ import annotations

import pytest

from helix.events import JobCompleted, JobFailed, TextureRequested
from helix_visual import textures
from helix_visual.textures import render_texture
from helix_visual.tiling import SEAM_TOLERANCE, seam_check, seam_ratios

from .conftest import Studio, image_request

TEXTURE = {"prompt": "weathered stone wall texture", "width": 256, "height": 256, "steps": 4}


async def test_a_tileable_texture_tiles_both_ways_and_records_its_seams(studio: Studio) -> None:
    done = await studio.run(image_request(TextureRequested, seed=0, **TEXTURE), render_texture)
    assert isinstance(done, JobCompleted) and done.asset_ids == ["texture-job-1"]
    (event,) = studio.generated("texture-job-1")
    assert event.kind == "texture" and event.inputs["tiling"] == "xy" and event.parameters["tiling"] == "xy"
    measured = seam_ratios(studio.image("texture-job-1"))
    assert event.parameters["tiles"] is True and event.parameters["seam_tolerance"] == SEAM_TOLERANCE
    for axis in "xy":
        assert event.parameters[f"seam_ratio_{axis}"] == pytest.approx(measured[axis], abs=1e-4), "measured on the stored image"
        assert event.parameters[f"seam_ratio_{axis}"] <= SEAM_TOLERANCE


async def test_a_texture_tiled_on_one_axis_is_checked_on_that_axis_only(studio: Studio) -> None:
    done = await studio.run(image_request(TextureRequested, seed=3, tile_axes="x", **TEXTURE), render_texture)
    assert isinstance(done, JobCompleted)
    (event,) = studio.generated("texture-job-1")
    assert event.parameters["tiling"] == "x" and event.parameters["tiles"] is True
    assert event.parameters["seam_ratio_x"] <= SEAM_TOLERANCE < event.parameters["seam_ratio_y"], "the y seam is an ordinary edge"


async def test_a_texture_that_does_not_tile_fails_its_job_rather_than_reach_review(studio: Studio,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textures, "seam_check", lambda axes: seam_check(axes, tolerance=0.5))  # stricter than any image meets
    failed = await studio.run(image_request(TextureRequested, seed=0, **TEXTURE), render_texture)
    assert isinstance(failed, JobFailed) and not failed.retriable
    assert failed.error.startswith("texture-job-1 does not tile on xy") and "'tiles': False" in failed.error
    assert studio.generated("texture-job-1") == [] and studio.store.puts == 0


async def test_a_texture_asked_not_to_tile_is_measured_but_never_failed_for_its_seams(studio: Studio) -> None:
    done = await studio.run(image_request(TextureRequested, seed=0, tileable=False, **TEXTURE), render_texture)
    assert isinstance(done, JobCompleted)
    (event,) = studio.generated("texture-job-1")
    assert event.inputs["tiling"] == "none" and event.parameters["tiles"] is None
    assert max(event.parameters["seam_ratio_x"], event.parameters["seam_ratio_y"]) > SEAM_TOLERANCE, "an untiled image shows its seam"
