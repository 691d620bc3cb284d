"""`helix.layout`: a shot's layout from its size and blocking (who stands where, the camera's
angle and height), and the SVG storyboard panel drawn from it, read back by an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from helix.layout import layout, svg
from helix.story import Blocking, Camera, CameraAngle, Facing, Placement, Shot, ShotType

SVG = "{http://www.w3.org/2000/svg}"


def shot(shot_type: ShotType = ShotType.WIDE, *placements: Placement, subjects: tuple[str, ...] = ("MARA", "TOM"),
         angle: CameraAngle = CameraAngle.EYE_LEVEL, height_m: float = 1.6, blocking: bool = True) -> Shot:
    return Shot(shot_id="s1-shot1", shot_type=shot_type, camera=Camera.STATIC, subjects=list(subjects), action="waits", location="quay",
                duration_s=2, blocking=Blocking(placements=list(placements), angle=angle, height_m=height_m) if blocking else None)


def test_figures_stand_where_the_blocking_puts_them_and_shrink_with_depth() -> None:
    sketch = layout(shot(ShotType.WIDE, Placement(character="MARA", x=0.25), Placement(character="TOM", x=0.7, depth=0.8)))
    back, front = sketch.figures
    assert (back.character, front.character) == ("TOM", "MARA"), "drawn back to front: the nearer figure over the farther"
    assert (front.x, back.x) == (0.25, 0.7)
    assert back.feet_y - back.head_y < front.feet_y - front.head_y, "farther back is smaller"
    assert sketch.horizon is not None and sketch.horizon < back.feet_y < front.feet_y <= 1.0, "feet between horizon and frame bottom"


def test_the_shot_size_sets_how_big_people_are_and_an_insert_has_none() -> None:
    mara = Placement(character="MARA", x=0.5)
    sizes = [layout(shot(t, mara)).figures[0].head_r for t in (ShotType.WIDE, ShotType.MEDIUM, ShotType.CLOSE_UP, ShotType.EXTREME_CLOSE_UP)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4, "wider shots, smaller heads"
    assert layout(shot(ShotType.INSERT, mara)).figures == ()


def test_the_camera_angle_and_height_move_the_horizon() -> None:
    def horizon(angle: CameraAngle, height_m: float = 1.6) -> float | None:
        return layout(shot(ShotType.WIDE, angle=angle, height_m=height_m)).horizon

    high, level, low = horizon(CameraAngle.HIGH), horizon(CameraAngle.EYE_LEVEL), horizon(CameraAngle.LOW)
    assert high is not None and level is not None and low is not None and high < level < low, "looking down raises the horizon"
    crane = horizon(CameraAngle.EYE_LEVEL, height_m=6.0)
    assert crane is not None and crane < level, "a higher camera sees more ground"
    assert horizon(CameraAngle.OVERHEAD) is None


def test_without_blocking_the_subjects_spread_across_the_frame() -> None:
    sketch = layout(shot(ShotType.MEDIUM, subjects=("MARA", "TOM", "ANA"), blocking=False))
    assert [(f.character, round(f.x, 3)) for f in sketch.figures] == [("MARA", 0.25), ("TOM", 0.5), ("ANA", 0.75)]


def test_the_panel_is_svg_with_a_figure_and_a_name_per_character() -> None:
    sketch = layout(shot(ShotType.WIDE, Placement(character="MARA", x=0.25, facing=Facing.LEFT), Placement(character="TOM", x=0.7)))
    root = ET.fromstring(svg(sketch, 640, 360))
    assert root.tag == f"{SVG}svg" and (root.get("width"), root.get("height")) == ("640", "360")
    assert [t.text for t in root.iter(f"{SVG}text")] == ["MARA", "TOM"]
    heads = [(float(c.get("cx") or 0), float(c.get("cy") or 0)) for c in root.iter(f"{SVG}circle")]
    assert [round(x) for x, _ in heads] == [160, 448], "each head where its placement is across the frame"
    assert "wide" in (root.findtext(f"{SVG}title") or "")
    assert svg(sketch, 640, 360) == svg(layout(shot(ShotType.WIDE, *[Placement(character="MARA", x=0.25, facing=Facing.LEFT),
                                                                     Placement(character="TOM", x=0.7)])), 640, 360), "same shot, same panel"
    assert "&lt;" in svg(layout(shot(ShotType.WIDE, Placement(character="<B>", x=0.5), subjects=("<B>",))), 64, 64), "names are escaped"


@pytest.mark.parametrize(("placements", "error"), [
    ([Placement(character="ZED", x=0.5)], "places ZED, not among its subjects"),
    ([Placement(character="MARA", x=0.1), Placement(character="MARA", x=0.9)], "places a character twice"),
])
def test_blocking_must_place_the_shots_own_subjects_once(placements: list[Placement], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        shot(ShotType.WIDE, *placements)


def test_a_placement_outside_the_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="less than or equal to 1"):
        Placement(character="MARA", x=1.5)
