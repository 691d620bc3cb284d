"""Seamless textures: circular padding makes the wrapped edge look like any interior column;
without it, the same prompt and seed leaves a seam the check catches."""

from __future__ import annotations

import pytest

from helix.models.diffusion import LoadedPipeline
from helix_visual.engine import ImageEngine, ImageSpec
from helix_visual.tiling import SEAM_TOLERANCE, seam_ratios, seamless, tiled


def spec(tiling: str, seed: int) -> ImageSpec:
    return ImageSpec(model="default", prompt="weathered stone wall texture", width=256, height=256, steps=4, guidance_scale=0.0,
                     seed=seed, tiling=tiling)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_a_tiled_texture_passes_the_seam_check_and_the_untiled_one_fails(engine: ImageEngine, seed: int) -> None:
    tiled_image = (await engine.render(spec("xy", seed))).image
    plain_image = (await engine.render(spec("none", seed))).image
    assert seamless(tiled_image, "xy"), seam_ratios(tiled_image)
    assert not seamless(plain_image, "xy"), seam_ratios(plain_image)
    assert max(seam_ratios(plain_image).values()) > SEAM_TOLERANCE


async def test_one_axis_tiles_only_that_way(engine: ImageEngine) -> None:
    image = (await engine.render(spec("x", 3))).image
    ratios = seam_ratios(image)
    assert ratios["x"] <= SEAM_TOLERANCE < ratios["y"], ratios


def test_tiling_patches_every_padded_conv_of_unet_and_vae_and_restores_them(tiny_sd: LoadedPipeline) -> None:
    import torch

    convs = [m for module in tiny_sd.modules() for m in module.modules() if isinstance(m, torch.nn.Conv2d) and any(m.padding)]
    with tiled(tiny_sd.modules(), "xy") as patched:
        assert patched == len(convs) > 0
        assert all("_conv_forward" in vars(conv) for conv in convs)
    assert not any("_conv_forward" in vars(conv) for conv in convs), "back to the class's own convolution"


def test_seam_ratio_of_a_known_image() -> None:
    import numpy as np

    ramp = np.tile(np.linspace(0, 255, 64), (64, 1)).astype(np.uint8)  # smooth left to right, jumps at the wrap
    ratios = seam_ratios(ramp)
    assert ratios["x"] > 50 and ratios["y"] == 0.0
