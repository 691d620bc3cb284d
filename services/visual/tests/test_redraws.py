"""Stale frames drawn again: the same shot, prompt, seed, size and layout with the references
approved now, as new versions of the same frames whose parents are the versions they replace."""

from __future__ import annotations

import numpy as np

from helix.events import AssetKind, FrameRequested, FramesRedrawRequested, FrameSummary, JobCompleted, JobFailed
from helix_visual.frames import render_frames
from helix_visual.redraws import redraw_frames

from .conftest import Studio, image_request
from .test_frames import MARA_REF, TOM_REF, cast_board, cast_request, flat_png

FRAMES = ["frame-job-1-s1-shot1", "frame-job-1-s1-shot2"]


async def test_a_redraw_keeps_everything_but_the_newly_approved_reference(cast_studio: Studio) -> None:
    studio = cast_studio
    await cast_board(studio)
    assert isinstance(await studio.run(cast_request("job-1"), render_frames), JobCompleted)
    before = {f: studio.generated(f)[0] for f in FRAMES}
    assert studio.put_image(MARA_REF, flat_png((230, 200, 40))) == 2
    await studio.approve(MARA_REF, AssetKind.FRAME, 2)
    done = await studio.run(image_request(FramesRedrawRequested, "redraw-1", frame_asset_ids=FRAMES), redraw_frames)
    assert isinstance(done, JobCompleted) and done.asset_ids == FRAMES
    for asset_id, old in before.items():
        (_, new) = studio.generated(asset_id)
        assert (new.version, new.revises_version, new.parent_asset_ids[0]) == (2, 1, asset_id), "a new version of the same frame"
        assert (new.seed, new.inputs["prompt"], new.inputs["shot"]) == (old.seed, old.inputs["prompt"], old.inputs["shot"])
        summary = new.typed_summary()
        assert isinstance(summary, FrameSummary) and summary.references["MARA"].version == 2 and MARA_REF in new.parent_asset_ids
        assert np.abs(np.asarray(studio.image(asset_id, 1), dtype=np.int16) - np.asarray(studio.image(asset_id, 2), dtype=np.int16)).mean() > 0.5
    two_shot = studio.generated(FRAMES[0])[1].typed_summary()
    assert isinstance(two_shot, FrameSummary) and two_shot.references["TOM"].version == 1 and two_shot.layout == "director"
    # What a fresh job with the same request draws now, the redraw drew.
    assert isinstance(await studio.run(cast_request("job-2"), render_frames), JobCompleted)
    fresh = np.asarray(studio.image("frame-job-2-s1-shot2"), dtype=np.int16)
    assert np.abs(fresh - np.asarray(studio.image(FRAMES[1], 2), dtype=np.int16)).max() <= 2
    assert TOM_REF in studio.generated(FRAMES[0])[1].parent_asset_ids


async def test_a_frame_with_no_shot_to_draw_again_is_refused_with_the_reason(cast_studio: Studio) -> None:
    studio = cast_studio
    assert isinstance(await studio.run(image_request(FrameRequested, "job-1", prompt="a lighthouse"), render_frames), JobCompleted)
    for asset_id, reason in (("frame-job-1-1", "was not drawn from a storyboard shot"), ("scene-job-1", "is not a storyboard frame"),
                             ("frame-job-9-1", "no image asset frame-job-9-1")):
        failed = await studio.run(image_request(FramesRedrawRequested, f"redraw-{asset_id}", frame_asset_ids=[asset_id]), redraw_frames)
        assert isinstance(failed, JobFailed) and reason in failed.error, failed
