"""`helix.models.video`: an image-to-video pipeline loaded once per process, animating a still into
a clip of the shape the model makes (8k+1 frames, sides multiples of 32 for LTX-Video), the same
clip for the same seed. On the tiny random LTX-Video pipeline: its frames are noise, their number,
size and seeding are real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helix.models.video import LoadedVideoPipeline, animate, load_video_pipeline
from helix_dev.models.tiny_video import build_tiny_ltx_i2v


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LoadedVideoPipeline:
    return load_video_pipeline(str(build_tiny_ltx_i2v(tmp_path_factory.mktemp("tiny-ltx"), seed=0)))


@pytest.fixture(scope="module")
def still() -> Image.Image:
    ys, xs = np.mgrid[0:64, 0:64]
    return Image.fromarray(np.stack([xs * 4, ys * 4, (xs + ys) * 2], axis=-1).astype(np.uint8))


def clip(loaded: LoadedVideoPipeline, still: Image.Image, seed: int, **kwargs: int) -> list[np.ndarray]:
    shape = {"num_frames": 9, "width": 64, "height": 64, **kwargs}
    frames = animate(loaded, still, prompt="She crosses to the desk and opens a drawer.", steps=2, seed=seed, fps=24, **shape)
    return [np.asarray(frame.convert("RGB")) for frame in frames]


def test_the_pipeline_is_loaded_once_with_its_provenance_and_clip_rules(tiny: LoadedVideoPipeline) -> None:
    assert tiny.kind == "ltx-i2v" and tiny.is_tiny and (tiny.device, tiny.dtype) == ("cpu", "float32")
    assert tiny.revision == tiny.ref.revision and tiny.revision.startswith("sha256:") and Path(tiny.model_id).is_dir()
    assert load_video_pipeline(tiny.model_id) is tiny
    assert (tiny.frame_step, tiny.size_multiple) == (8, 32)


@pytest.mark.parametrize(("asked", "made"), [((9, 64, 64), (9, 64, 64)), ((12, 80, 47), (9, 96, 32)), ((13, 48, 112), (17, 64, 128)),
                                              ((1, 10, 0), (9, 32, 32)), ((24, 720, 480), (25, 736, 480))])
def test_a_clip_is_rounded_to_the_nearest_shape_the_model_makes(tiny: LoadedVideoPipeline, asked: tuple[int, int, int],
                                                                 made: tuple[int, int, int]) -> None:
    assert tiny.clip_shape(*asked) == made


def test_a_still_becomes_a_clip_of_the_asked_length_and_size_whose_picture_changes(tiny: LoadedVideoPipeline,
                                                                                    still: Image.Image) -> None:
    frames = clip(tiny, still, seed=7)
    assert len(frames) == 9 and all(frame.shape == (64, 64, 3) for frame in frames)
    assert len({frame.tobytes() for frame in frames}) == 9
    assert all(np.abs(frame.astype(int) - frames[0]).mean() > 1 for frame in frames[1:])


def test_the_same_seed_makes_the_same_clip_and_another_seed_another(tiny: LoadedVideoPipeline, still: Image.Image) -> None:
    first, again, other = clip(tiny, still, seed=7), clip(tiny, still, seed=7), clip(tiny, still, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_an_odd_request_is_rounded_not_refused(tiny: LoadedVideoPipeline, still: Image.Image) -> None:
    frames = clip(tiny, still, seed=1, num_frames=12, width=80, height=40)
    assert len(frames) == 9 and frames[0].shape == (32, 96, 3)


def test_offloading_on_the_cpu_is_ignored_and_a_non_ltx_folder_is_refused_before_its_weights_load(tiny: LoadedVideoPipeline,
                                                                                                    tmp_path: Path) -> None:
    assert load_video_pipeline(tiny.model_id, cpu_offload="sequential") is tiny and tiny.offload == "none"
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    (tmp_path / "unet.safetensors").write_bytes(b"not weights")
    with pytest.raises(ValueError, match="holds a StableDiffusionPipeline pipeline; image-to-video loads LTXImageToVideoPipeline"):
        load_video_pipeline(str(tmp_path))
