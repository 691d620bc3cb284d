"""The layout sketch a layout ControlNet reads: white strokes on black at the frame's size, each
figure where the core's geometry puts it, the same bytes for the same shot."""

from __future__ import annotations

import numpy as np

from helix.layout import layout
from helix.story import Blocking, Camera, Placement, Shot, ShotType
from helix_visual.images import decode
from helix_visual.layout import raster, sketch_png


def two_shot(mara_x: float) -> Shot:
    return Shot(shot_id="s1-shot1", shot_type=ShotType.WIDE, camera=Camera.STATIC, subjects=["MARA", "TOM"], action="waits",
                location="quay", duration_s=2, blocking=Blocking(placements=[Placement(character="MARA", x=mara_x),
                                                                             Placement(character="TOM", x=0.8, depth=0.5)]))


def test_the_sketch_is_white_strokes_on_black_with_each_head_where_the_geometry_says() -> None:
    sketch = layout(two_shot(0.2))
    image = np.asarray(raster(sketch, 320, 180))
    assert image.shape == (180, 320, 3) and set(np.unique(image)) <= set(range(256))
    assert (image == 0).all(axis=2).mean() > 0.8, "mostly black"
    for figure in sketch.figures:
        x, y, r = round(figure.x * 320), round(figure.head_y * 180), figure.head_r * 180
        outline = image[max(0, round(y - r) - 1): round(y - r) + 2, x].max()
        assert outline == 255, f"{figure.character}'s head outline at the top of the circle"
    horizon = round((sketch.horizon or 0) * 180)
    assert image[horizon, 5].min() == 255, "the horizon runs across the frame"


def test_the_same_shot_gives_the_same_bytes_and_another_blocking_other_pixels() -> None:
    first, again, moved = (sketch_png(layout(two_shot(x)), 128, 72) for x in (0.2, 0.2, 0.6))
    assert first == again
    assert not np.array_equal(np.asarray(decode(first)), np.asarray(decode(moved)))
