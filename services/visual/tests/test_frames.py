"""Storyboard frames: one frame per shot of the approved storyboard (or one from a prompt), named
after the job and the shot; shots of the same place and people share their noise; a reference
image anchors every frame; where the model has a layout ControlNet, a frame follows its shot's
blocking; what cannot be drawn is refused with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from helix.events import AssetKind, FrameRequested, JobCompleted, JobFailed, JobProgress, SceneRequested
from helix.generation.ids import ImageAssetId, ImageFamily
from helix.story import Blocking, CameraAngle, Placement, Shot
from helix_visual.frames import render_frames
from helix_visual.plates import render_plate
from helix_visual.prompts import shot_prompt, shot_seed, stable_seed, with_style

from .conftest import PRODUCTION, Studio, image_request, shot, studio_on

BOARD = "script-j1-storyboard-s1"
SHOTS = [shot("s1-shot1"), shot("s1-shot2", action="looks out to sea"), shot("s1-shot3", location="the harbour")]


async def approved_board(studio: Studio) -> None:
    studio.put_storyboard(BOARD, SHOTS)
    await studio.approve(BOARD, AssetKind.STORYBOARD)


async def test_a_frame_from_a_prompt_alone_is_frame_one_of_its_job(studio: Studio) -> None:
    done = await studio.run(image_request(FrameRequested, prompt="a lighthouse in fog", style="ink wash", seed=None), render_frames)
    asset = str(ImageAssetId(ImageFamily.FRAME, "job-1", "1"))
    assert isinstance(done, JobCompleted) and done.asset_ids == [asset]
    (event,) = studio.generated(asset)
    assert event.inputs == {"prompt": with_style("a lighthouse in fog", "ink wash")} and event.parent_asset_ids == []
    assert event.seed == stable_seed(PRODUCTION, "job-1")


async def test_every_shot_of_the_approved_storyboard_gets_its_frame(studio: Studio) -> None:
    await approved_board(studio)
    request = image_request(FrameRequested, prompt="storyboard frame", storyboard_asset_id=BOARD, style="pencil", seed=None,
                            parent_asset_ids=[BOARD, "script-j1-script"])
    done = await studio.run(request, render_frames)
    ids = [f"frame-job-1-{s.shot_id}" for s in SHOTS]
    assert isinstance(done, JobCompleted) and done.asset_ids == ids
    events = [studio.generated(i)[0] for i in ids]
    for event, board_shot in zip(events, SHOTS, strict=True):
        assert event.kind == "frame" and event.parent_asset_ids == [BOARD, "script-j1-script"], "the storyboard once, then the rest"
        assert event.inputs["prompt"] == shot_prompt(board_shot, extra="storyboard frame", style="pencil")
        assert event.inputs["shot"]["shot_id"] == board_shot.shot_id and event.inputs["storyboard_version"] == 1
        assert event.seed == shot_seed(PRODUCTION, board_shot)
    assert events[0].seed == events[1].seed != events[2].seed, "same place and people, same noise; another place, other noise"
    fractions = [p.fraction for p in studio.bus.of_type(JobProgress) if p.job_id == "job-1"]
    assert fractions and max(fractions) <= 1.0 and fractions[-1] > 2 / 3, "progress counts every frame of the job"


async def test_a_frame_request_with_a_shot_draws_that_shot_only(studio: Studio) -> None:
    await approved_board(studio)
    done = await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD, shot_id="s1-shot2", seed=11), render_frames)
    assert isinstance(done, JobCompleted) and done.asset_ids == ["frame-job-1-s1-shot2"]
    assert studio.generated("frame-job-1-s1-shot2")[0].seed == shot_seed(11, SHOTS[1]), "the request's seed is the base of the shot's"


async def test_what_a_storyboard_cannot_give_is_refused(studio: Studio) -> None:
    studio.put_storyboard(BOARD, SHOTS)
    unapproved = await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD), render_frames)
    assert isinstance(unapproved, JobFailed) and "is not approved" in unapproved.error and not unapproved.retriable

    await studio.approve(BOARD, AssetKind.STORYBOARD)
    missing_shot = await studio.run(image_request(FrameRequested, job_id="job-2", storyboard_asset_id=BOARD, shot_id="s1-shot9"),
                                    render_frames)
    assert isinstance(missing_shot, JobFailed) and missing_shot.error == f"no shot s1-shot9 in storyboard {BOARD}"

    studio.put_storyboard("script-j1-storyboard-s2", [])
    await studio.approve("script-j1-storyboard-s2", AssetKind.STORYBOARD)
    empty = await studio.run(image_request(FrameRequested, job_id="job-3", storyboard_asset_id="script-j1-storyboard-s2"), render_frames)
    assert isinstance(empty, JobFailed) and empty.error == "storyboard script-j1-storyboard-s2 has no shots"

    not_a_board = await studio.run(image_request(FrameRequested, job_id="job-4", storyboard_asset_id="script-j1-script"), render_frames)
    assert isinstance(not_a_board, JobFailed) and "script-j1-script is not a storyboard" in not_a_board.error
    assert studio.store.puts == 2, "nothing but the two storyboards was stored"


async def test_a_reference_image_anchors_the_frame_image_to_image(studio: Studio) -> None:
    await studio.run(image_request(SceneRequested, job_id="ref", prompt="a grey sea"), render_plate)
    first = await studio.run(image_request(FrameRequested, job_id="job-a", reference_asset_id="scene-ref", strength=0.5,
                                                    steps=4), render_frames)
    plain = await studio.run(image_request(FrameRequested, job_id="job-b", steps=4), render_frames)
    assert isinstance(first, JobCompleted) and isinstance(plain, JobCompleted)
    (anchored,), (free,) = studio.generated("frame-job-a-1"), studio.generated("frame-job-b-1")
    assert anchored.inputs["reference_asset_id"] == "scene-ref" and anchored.inputs["reference_version"] == 1
    assert anchored.parent_asset_ids == ["scene-ref"] and anchored.parameters["strength"] == 0.5
    assert "strength" not in free.parameters and "reference_asset_id" not in free.inputs
    assert anchored.parameters["steps_run"] == 2 and free.parameters["steps_run"] == 4, "image to image: the last half of the steps"

    missing = await studio.run(image_request(FrameRequested, job_id="job-c", reference_asset_id="scene-nowhere"), render_frames)
    assert isinstance(missing, JobFailed) and missing.error == f"no image asset scene-nowhere in production {PRODUCTION}"


def blocked(shot_id: str, *placements: tuple[str, float, float], angle: CameraAngle = CameraAngle.EYE_LEVEL) -> Shot:
    """A two-person shot with the director's blocking: (character, across, depth) each."""
    return shot(shot_id, subjects=("MARA", "TOM")).model_copy(update={"blocking": Blocking(
        placements=[Placement(character=c, x=x, depth=d) for c, x, d in placements], angle=angle)})


async def test_a_frame_follows_its_shots_blocking_where_the_model_has_a_layout_controlnet(laid_out_studio: Studio) -> None:
    studio = laid_out_studio
    left, same, right = (blocked("s1-shot1", ("MARA", 0.2, 0.0), ("TOM", 0.8, 0.5)),
                         blocked("s1-shot2", ("MARA", 0.2, 0.0), ("TOM", 0.8, 0.5)),
                         blocked("s1-shot3", ("MARA", 0.8, 0.0), ("TOM", 0.2, 0.5), angle=CameraAngle.HIGH))
    studio.put_storyboard(BOARD, [left, same, right])
    await studio.approve(BOARD, AssetKind.STORYBOARD)
    done = await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD, seed=5, prompt="two keepers"), render_frames)
    assert isinstance(done, JobCompleted)
    events = [studio.generated(f"frame-job-1-{s}")[0] for s in ("s1-shot1", "s1-shot2", "s1-shot3")]
    for event, board_shot in zip(events, (left, same, right), strict=True):
        assert event.inputs["layout"] == {"blocking": board_shot.staged().model_dump(mode="json"), "by": "director"}
        assert event.parameters["layout_model"] and event.parameters["layout_scale"] == studio.renderer.settings.visual_layout_scale
    pixels = [np.asarray(studio.image(e.asset_id), dtype=np.int16) for e in events]
    assert events[0].seed == events[1].seed == events[2].seed, "same place and people: the same noise, so only the layout differs"
    assert np.abs(pixels[0] - pixels[1]).max() <= 2, "the same blocking: the same frame (but for the last bits of a batch's sums)"
    assert np.abs(pixels[0] - pixels[2]).mean() > 1.0, "other blocking: another frame"
    again = await studio.run(image_request(FrameRequested, "job-2", storyboard_asset_id=BOARD, seed=5, prompt="two keepers"), render_frames)
    assert isinstance(again, JobCompleted)
    for shot_id in ("s1-shot1", "s1-shot2", "s1-shot3"):
        first, second = (studio.latest_bytes(f"frame-{job}-{shot_id}") for job in ("job-1", "job-2"))
        assert first == second, "the same request and blocking: a byte-identical frame"


async def test_without_a_layout_model_frames_are_not_conditioned_and_say_nothing_of_a_layout(studio: Studio) -> None:
    studio.put_storyboard(BOARD, [blocked("s1-shot1", ("MARA", 0.2, 0.0))])
    await studio.approve(BOARD, AssetKind.STORYBOARD)
    assert isinstance(await studio.run(image_request(FrameRequested, storyboard_asset_id=BOARD), render_frames), JobCompleted)
    (event,) = studio.generated("frame-job-1-s1-shot1")
    assert "layout" not in event.inputs and "layout_model" not in event.parameters
    assert event.inputs["shot"]["blocking"]["placements"][0]["character"] == "MARA", "the blocking is still the shot's, on record"


MARA_REF, TOM_REF = "frame-refmara-1", "frame-reftom-1"


def flat_png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    from helix_visual.images import encode_png

    return encode_png(Image.new("RGB", (64, 64), colour), {})


async def cast_board(studio: Studio) -> list[Shot]:
    """A two-shot of MARA and TOM, and a single of MARA; both references approved (v1)."""
    shots = [blocked("s1-shot1", ("MARA", 0.25, 0.0), ("TOM", 0.75, 0.0)), shot("s1-shot2", subjects=("MARA",))]
    studio.put_storyboard(BOARD, shots)
    await studio.approve(BOARD, AssetKind.STORYBOARD)
    for asset_id, colour in ((MARA_REF, (200, 30, 30)), (TOM_REF, (20, 40, 220))):
        studio.put_image(asset_id, flat_png(colour))
        await studio.approve(asset_id, AssetKind.FRAME)
    return shots


def cast_request(job_id: str, **fields: object) -> FrameRequested:
    values: dict[str, object] = {"storyboard_asset_id": BOARD, "seed": 3, "prompt": "keepers",
                                 "character_references": {"MARA": MARA_REF, "TOM": TOM_REF}, **fields}
    return image_request(FrameRequested, job_id, **values)


async def test_frames_keep_the_cast_and_cite_the_reference_versions_they_used(cast_studio: Studio) -> None:
    studio = cast_studio
    await cast_board(studio)
    assert isinstance(await studio.run(cast_request("job-1"), render_frames), JobCompleted)
    two, one = studio.generated("frame-job-1-s1-shot1")[0], studio.generated("frame-job-1-s1-shot2")[0]
    assert two.inputs["references"] == {"MARA": {"asset_id": MARA_REF, "version": 1}, "TOM": {"asset_id": TOM_REF, "version": 1}}
    assert two.parameters["reference_masks"] == 2, "two characters share the frame: each reference masked to where they stand"
    assert one.inputs["references"] == {"MARA": {"asset_id": MARA_REF, "version": 1}} and one.parameters["reference_masks"] == 0
    assert {MARA_REF, TOM_REF} <= set(two.parent_asset_ids), "the references are in the frame's lineage"
    # MARA's reference is revised and approved: frames drawn again cite v2, and look different.
    assert studio.put_image(MARA_REF, flat_png((230, 200, 40))) == 2
    await studio.approve(MARA_REF, AssetKind.FRAME, 2)
    assert isinstance(await studio.run(cast_request("job-2"), render_frames), JobCompleted)
    redrawn = studio.generated("frame-job-2-s1-shot2")[0]
    assert redrawn.inputs["references"]["MARA"] == {"asset_id": MARA_REF, "version": 2}
    assert studio.latest_bytes("frame-job-1-s1-shot2") != studio.latest_bytes("frame-job-2-s1-shot2"), "another reference, another frame"
    assert isinstance(await studio.run(cast_request("job-3"), render_frames), JobCompleted)
    for shot_id in ("s1-shot1", "s1-shot2"):
        assert studio.latest_bytes(f"frame-job-2-{shot_id}") == studio.latest_bytes(f"frame-job-3-{shot_id}"), "same request and references"


async def test_what_references_cannot_give_is_refused_with_the_reason(cast_studio: Studio, laid_out_studio: Studio) -> None:
    studio = cast_studio
    await cast_board(studio)
    studio.put_image("frame-refana-1", flat_png((1, 2, 3)))  # stored, never approved
    cases = [(cast_request("job-1", character_references={"ANA": "frame-refana-1"}), "ANA is in no shot of"),
             (cast_request("job-2", character_references={"MARA": "frame-refnone-1"}), "is not an approved image"),
             (cast_request("job-3", character_references={"MARA": "frame-refana-1"}), "the reference of MARA (frame-refana-1) is not an approved")]
    for request, reason in cases:
        failed = await studio.run(request, render_frames)
        assert isinstance(failed, JobFailed) and not failed.retriable and reason in failed.error, failed
    await cast_board(laid_out_studio)
    failed = await laid_out_studio.run(cast_request("job-4"), render_frames)
    assert isinstance(failed, JobFailed) and "takes no reference images" in failed.error
    with pytest.raises(ValueError, match="character_references, character_loras and cast need a storyboard_asset_id"):
        image_request(FrameRequested, character_references={"MARA": MARA_REF})


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helix_dev.models.tiny_diffusion import build_tiny_lora

    return build_tiny_lora(tmp_path_factory.mktemp("lora"))


@pytest.fixture
async def lora_studio(tiny_sd_dir: Path, lora_dir: Path, tmp_path: Path) -> AsyncIterator[Studio]:
    """A studio with a pipeline of its own (a LoRA changes the UNet it is loaded into) and one character LoRA configured."""
    from helix.models.diffusion import load_image_pipeline
    from helix_visual.engine import ImageEngine
    from helix_visual.settings import VisualSettings

    settings = VisualSettings(c2pa_enabled=False, retry_attempts=1, visual_progress_every_s=0, visual_loras={"mara_v1": str(lora_dir)},
                              visual_lora_scale=0.9)
    async with ImageEngine({"default": load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu")}, max_batch=4) as engine:
        yield studio_on(engine, settings, tmp_path)


async def test_a_characters_lora_draws_every_frame_they_are_in(lora_studio: Studio) -> None:
    studio = lora_studio
    await approved_board(studio)  # MARA in every shot
    plain = await studio.run(image_request(FrameRequested, "job-1", storyboard_asset_id=BOARD, shot_id="s1-shot1"), render_frames)
    assert isinstance(plain, JobCompleted)
    request = image_request(FrameRequested, "job-2", storyboard_asset_id=BOARD, shot_id="s1-shot1", character_loras={"MARA": "mara_v1"})
    assert isinstance(await studio.run(request, render_frames), JobCompleted)
    (event,) = studio.generated("frame-job-2-s1-shot1")
    assert event.inputs["loras"] == {"MARA": "mara_v1"} and event.parameters["loras"] == [["mara_v1", 0.9]]
    assert studio.latest_bytes("frame-job-1-s1-shot1") != studio.latest_bytes("frame-job-2-s1-shot1"), "the LoRA changes the frame"
    assert isinstance(await studio.run(request.model_copy(update={"job_id": "job-3"}), render_frames), JobCompleted)
    assert studio.latest_bytes("frame-job-2-s1-shot1") == studio.latest_bytes("frame-job-3-s1-shot1"), "same request, same LoRA, same bytes"
    again = await studio.run(image_request(FrameRequested, "job-4", storyboard_asset_id=BOARD, shot_id="s1-shot1"), render_frames)
    assert isinstance(again, JobCompleted)
    assert np.array_equal(studio.image("frame-job-1-s1-shot1"), studio.image("frame-job-4-s1-shot1")), "without it the LoRA is off again"


async def test_a_lora_the_service_lacks_or_for_no_one_in_the_shots_is_refused(lora_studio: Studio) -> None:
    studio = lora_studio
    await approved_board(studio)
    for n, (loras, reason) in enumerate(((({"MARA": "tom_v1"}), "no LoRA named 'tom_v1' for MARA: HELIX_VISUAL_LORAS has mara_v1"),
                                         (({"ANA": "mara_v1"}), "ANA is in no shot of")), start=1):
        failed = await studio.run(image_request(FrameRequested, f"job-{n}", storyboard_asset_id=BOARD, character_loras=loras), render_frames)
        assert isinstance(failed, JobFailed) and reason in failed.error and not failed.retriable, failed
    with pytest.raises(ValueError, match="character_references, character_loras and cast need a storyboard_asset_id"):
        image_request(FrameRequested, character_loras={"MARA": "mara_v1"})
