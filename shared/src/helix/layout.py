"""A shot's layout: where its characters stand and how big they are in the frame, from the
shot's size (`ShotType`) and its blocking (`Blocking`: placements, camera angle and height).

    sketch = layout(shot)          # geometry, as fractions of the frame
    svg(sketch, 640, 360)          # a storyboard panel: the console shows it beside the frame

The geometry is computed once, here; each drawing of it is a few lines: `svg` for people
(dark strokes on paper, names under the figures) and the visual service's raster for a
layout-conditioned model (white strokes on black, the scribble convention). No model is
involved: the same shot always gives the same sketch.

Perspective, kept simple: a figure's feet sit between the bottom of the frame and the
horizon by its depth, and it shrinks as it goes back (to 40 % at the back of the set); the
horizon rises as the camera looks down (angle) or climbs (height); an overhead shot has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from helix.story import Blocking, CameraAngle, Facing, Shot, ShotType

__all__ = ["Figure", "Layout", "layout", "svg"]

# How tall a standing person is, in frame heights, at the front of the set, by shot size.
_PERSON_HEIGHT = {ShotType.WIDE: 0.55, ShotType.MEDIUM: 1.5, ShotType.OVER_THE_SHOULDER: 1.5, ShotType.CLOSE_UP: 3.4,
                  ShotType.EXTREME_CLOSE_UP: 7.0, ShotType.INSERT: 0.0}
_HORIZON = {CameraAngle.EYE_LEVEL: 0.42, CameraAngle.HIGH: 0.18, CameraAngle.LOW: 0.78, CameraAngle.OVERHEAD: None}
_HEAD_TOP = 0.1  # where the head of a figure at the front begins, when the shot is closer than wide
_BACK_SCALE = 0.4  # a figure at the back of the set, against one at the front


@dataclass(frozen=True)
class Figure:
    """One character drawn as a head and a body, in fractions of the frame's height (y, sizes)
    and width (x); y grows downwards."""

    character: str
    x: float  # the figure's centre line
    head_y: float
    head_r: float
    shoulders_y: float
    feet_y: float
    shoulders_w: float
    facing: Facing
    depth: float

    def box(self, width: int, height: int, *, margin: float = 0.15) -> tuple[int, int, int, int]:
        """Where the figure stands in a `width` × `height` image, in pixels (left, top, right,
        bottom), a margin around it: the region its reference applies to, and the one compared
        with its reference afterwards."""
        half = max(self.shoulders_w / 2, self.head_r) * height / width * (1 + margin)
        top, bottom = self.head_y - self.head_r * (1 + margin), self.feet_y
        return (max(0, round((self.x - half) * width)), max(0, round(top * height)), min(width, round((self.x + half) * width)),
                min(height, round(bottom * height)))


@dataclass(frozen=True)
class Layout:
    shot_id: str
    shot_type: ShotType
    angle: CameraAngle
    horizon: float | None  # None: overhead, no horizon
    figures: tuple[Figure, ...]  # back to front: a nearer figure is drawn over a farther one


def layout(shot: Shot) -> Layout:
    """The layout of a shot: its blocking (or its subjects spread across the frame) at its size."""
    blocking: Blocking = shot.staged()
    horizon = _HORIZON[blocking.angle]
    if horizon is not None:
        horizon = min(0.95, max(0.05, horizon - 0.04 * (blocking.height_m - 1.6)))
    height = _PERSON_HEIGHT[shot.shot_type]
    figures: list[Figure] = []
    if height > 0:
        front_feet = 0.92 if shot.shot_type is ShotType.WIDE else _HEAD_TOP + height
        for p in sorted(blocking.placements, key=lambda p: (-p.depth, p.x, p.character)):
            scale = 1.0 - (1.0 - _BACK_SCALE) * p.depth
            ground = horizon if horizon is not None else 0.5
            feet = ground + (front_feet - ground) * scale if shot.shot_type is ShotType.WIDE else front_feet * scale + _HEAD_TOP * (1 - scale)
            tall = height * scale
            head_r = tall / 15
            top = feet - tall
            figures.append(Figure(character=p.character, x=p.x, head_y=top + head_r, head_r=head_r, shoulders_y=top + 2.2 * head_r,
                                  feet_y=feet, shoulders_w=tall * 0.26, facing=p.facing, depth=p.depth))
    return Layout(shot_id=shot.shot_id, shot_type=shot.shot_type, angle=blocking.angle, horizon=horizon, figures=tuple(figures))


def svg(sketch: Layout, width: int, height: int, *, ink: str = "#1f2328", paper: str = "#fbfaf7", labels: bool = True) -> str:
    """The layout as an SVG storyboard panel (`width` × `height` pixels)."""
    w, h = width, height
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
             f"<title>{escape(sketch.shot_id)}: {sketch.shot_type.value.replace('_', ' ')}, {sketch.angle.value.replace('_', ' ')}</title>",
             f'<rect width="{w}" height="{h}" fill="{paper}" stroke="{ink}" stroke-width="2"/>']
    if sketch.horizon is not None:
        y = sketch.horizon * h
        parts.append(f'<line x1="0" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="{ink}" stroke-width="1" stroke-dasharray="6 4"/>')
    for f in sketch.figures:
        x, r = f.x * w, f.head_r * h
        half = f.shoulders_w * h / 2
        parts.append(f'<g stroke="{ink}" stroke-width="2" fill="{paper}">'
                     f'<path d="M{x - half:.1f},{f.feet_y * h:.1f} L{x - half:.1f},{f.shoulders_y * h:.1f} '
                     f'Q{x:.1f},{(f.shoulders_y - 0.3 * f.head_r) * h:.1f} {x + half:.1f},{f.shoulders_y * h:.1f} '
                     f'L{x + half:.1f},{f.feet_y * h:.1f}"/>'
                     f'<circle cx="{x:.1f}" cy="{f.head_y * h:.1f}" r="{r:.1f}"'
                     f'{f" fill={chr(34)}{ink}{chr(34)}" if f.facing is Facing.AWAY else ""}/>')
        if f.facing in (Facing.LEFT, Facing.RIGHT):
            side = -1 if f.facing is Facing.LEFT else 1
            parts.append(f'<line x1="{x + side * r:.1f}" y1="{f.head_y * h:.1f}" x2="{x + side * 1.4 * r:.1f}" y2="{f.head_y * h:.1f}"/>')
        parts.append("</g>")
        if labels:
            label_y = min(f.feet_y * h + 14, h - 4) if f.feet_y < 1 else h - 6
            parts.append(f'<text x="{x:.1f}" y="{label_y:.1f}" font-family="sans-serif" font-size="12" text-anchor="middle" '
                         f'fill="{ink}">{escape(f.character)}</text>')
    parts.append("</svg>")
    return "".join(parts)
