"""Seamless textures: circular padding in every convolution of the UNet and the VAE, and the
seam check that proves an image tiles.

diffusers has no built-in switch for this (it declined one, huggingface/diffusers#556): the
usual way is `padding_mode="circular"` on each `Conv2d`. Tiling in one direction only needs
different padding per axis, which `padding_mode` cannot say, so `tiled` replaces each
convolution's `_conv_forward` with one that pads each axis itself (circular on a tiled axis,
zeros on the other) and then convolves without padding. The modules are shared by every
request of a process, so `tiled` restores them on exit; the engine never runs tiled and
untiled work at the same time.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

Axes = Literal["none", "x", "y", "xy"]
SEAM_TOLERANCE = 1.2  # a seam may differ at most this much more than neighbouring interior columns/rows


def _padded_conv_forward(tile_x: bool, tile_y: bool) -> Any:
    import torch.nn.functional as F  # noqa: N812

    def forward(self: Any, input: Any, weight: Any, bias: Any) -> Any:
        pad_y, pad_x = self.padding
        x = F.pad(input, (pad_x, pad_x, 0, 0), mode="circular" if tile_x else "constant")
        x = F.pad(x, (0, 0, pad_y, pad_y), mode="circular" if tile_y else "constant")
        return F.conv2d(x, weight, bias, self.stride, 0, self.dilation, self.groups)

    return forward


@contextlib.contextmanager
def tiled(modules: list[Any], axes: Axes) -> Iterator[int]:
    """Within the block, every padded Conv2d in `modules` wraps around on `axes`; yields how many were patched."""
    if axes == "none":
        yield 0
        return
    import torch

    forward = _padded_conv_forward("x" in axes, "y" in axes)
    patched = []
    for module in modules:
        for conv in module.modules():
            if isinstance(conv, torch.nn.Conv2d) and isinstance(conv.padding, tuple) and any(conv.padding):
                setattr(conv, "_conv_forward", types.MethodType(forward, conv))  # noqa: B010  (an instance attribute shadows the method)
                patched.append(conv)
    try:
        yield len(patched)
    finally:
        for conv in patched:
            del conv._conv_forward  # back to the class's own method


def seam_ratios(image: Any, neighbours: int = 2) -> dict[str, float]:
    """How much the wrapped edge differs, relative to the neighbouring interior columns (x) and rows (y).

    x: mean |last column − first column| ÷ the mean of |column i+1 − column i| over the
    `neighbours` interior pairs on each side of the wrap (the columns next to the seam);
    likewise y for rows. About 1 for an image that tiles; more for one that does not.
    Comparing with the seam's own neighbours (not the whole image's average) keeps the
    check fair for images with large features, whose column differences vary across the image.
    """
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    ratios = {}
    for axis, name in ((1, "x"), (0, "y")):
        n = pixels.shape[axis]

        def diff(i: int, j: int, axis: int = axis) -> float:
            return float(np.abs(pixels.take(i, axis=axis) - pixels.take(j, axis=axis)).mean())

        inner = [diff(n - 2 - k, n - 1 - k) for k in range(neighbours)] + [diff(k, k + 1) for k in range(neighbours)]
        typical = float(np.mean(inner))
        ratios[name] = diff(n - 1, 0) / typical if typical else 0.0
    return ratios


def seamless(image: Any, axes: Axes, tolerance: float = SEAM_TOLERANCE) -> bool:
    ratios = seam_ratios(image)
    return all(ratios[axis] <= tolerance for axis in "xy" if axis in axes)


def seam_check(axes: Axes, tolerance: float = SEAM_TOLERANCE) -> Any:
    """A check for `Renderer.image_asset`: the seam ratios of the image, and whether it tiles on `axes`."""

    def check(image: Any) -> dict[str, Any]:
        ratios = seam_ratios(image)
        tiles = all(ratios[a] <= tolerance for a in "xy" if a in axes) if axes != "none" else None
        return {"seam_ratio_x": round(ratios["x"], 4), "seam_ratio_y": round(ratios["y"], 4), "seam_tolerance": tolerance, "tiles": tiles}

    return check
