"""A shot's layout sketch as the image a layout-conditioned model reads: the core's geometry
(`helix.layout`) drawn in white strokes on black (the scribble convention ControlNets are
trained on), at the frame's size. The same shot always gives the same bytes."""

from __future__ import annotations

from typing import Any

from helix.layout import Layout
from helix.story import Facing
from helix_visual.images import encode_png


def raster(sketch: Layout, width: int, height: int, *, line: int = 0) -> Any:
    """The sketch as a PIL image (RGB, white on black)."""
    from PIL import Image, ImageDraw

    w, h = width, height
    stroke = line or max(1, round(min(w, h) / 96))
    image = Image.new("RGB", (w, h), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    if sketch.horizon is not None:
        y = round(sketch.horizon * h)
        draw.line([(0, y), (w, y)], fill=(255, 255, 255), width=max(1, stroke // 2))
    for f in sketch.figures:
        x, r, half = f.x * w, f.head_r * h, f.shoulders_w * h / 2
        body = [(x - half, f.feet_y * h), (x - half, f.shoulders_y * h), (x, (f.shoulders_y - 0.3 * f.head_r) * h),
                (x + half, f.shoulders_y * h), (x + half, f.feet_y * h)]
        draw.polygon(body, fill=(0, 0, 0), outline=(255, 255, 255), width=stroke)  # a nearer figure hides the one behind
        head = [(x - r, f.head_y * h - r), (x + r, f.head_y * h + r)]
        draw.ellipse(head, fill=(255, 255, 255) if f.facing is Facing.AWAY else (0, 0, 0), outline=(255, 255, 255), width=stroke)
        if f.facing in (Facing.LEFT, Facing.RIGHT):
            side = -1 if f.facing is Facing.LEFT else 1
            draw.line([(x + side * r, f.head_y * h), (x + side * 1.4 * r, f.head_y * h)], fill=(255, 255, 255), width=stroke)
    return image


def sketch_png(sketch: Layout, width: int, height: int) -> bytes:
    """The sketch as PNG bytes (deterministic: no metadata that changes)."""
    return encode_png(raster(sketch, width, height), {"helix_layout": sketch.shot_id})


def region_png(sketch: Layout, character: str, width: int, height: int, *, margin: float = 0.15) -> bytes:
    """Where a character stands in the sketch (its figure's box, a margin around it) as a
    greyscale mask: white inside, black outside; what a reference of that character applies to."""
    from PIL import Image, ImageDraw

    figure = next((f for f in sketch.figures if f.character == character), None)
    if figure is None:
        raise ValueError(f"{character} is not in the layout of shot {sketch.shot_id}")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle(figure.box(width, height, margin=margin), fill=255)
    return encode_png(mask, {"helix_region": character})
