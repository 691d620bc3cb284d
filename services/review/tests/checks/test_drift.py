"""Cast drift: each character's region of a frame (where the shot's layout puts them) compared
with the reference version the frame cites; below the threshold, a medium finding that does not
block; frames without references, characters out of the layout, and references gone are skipped."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from helix.events import AssetKind, FrameSummary, UsedVersion
from helix.layout import layout
from helix.story import Blocking, Camera, Placement, Shot, ShotType
from helix.testing import MemoryStore
from helix_review.checks import Severity
from helix_review.checks.drift import CastDriftCheck, references_in

from ..conftest import screening

SHOT = Shot(shot_id="s1-shot1", shot_type=ShotType.MEDIUM, camera=Camera.STATIC, subjects=["MARA", "TOM"], action="they talk",
            location="the pier", duration_s=2, blocking=Blocking(placements=[Placement(character="MARA", x=0.25),
                                                                               Placement(character="TOM", x=0.75)]))
RED, BLUE = (220, 20, 20), (20, 20, 220)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def frame(mara: tuple[int, int, int], tom: tuple[int, int, int]) -> bytes:
    """A 256×144 frame with each character's region filled with a colour."""
    image = Image.new("RGB", (256, 144), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for figure in layout(SHOT).figures:
        draw.rectangle(figure.box(256, 144), fill=mara if figure.character == "MARA" else tom)
    return png(image)


class MeanColour:
    """An 'encoder' whose embedding is an image's mean colour, normalised."""

    model = "mean-colour"

    def embed(self, data: bytes) -> list[float]:
        mean = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)
        return list(mean / np.linalg.norm(mean))


def run(content: bytes, references: dict[str, tuple[int, int, int] | None], **fields: Any) -> list:
    images = {f"reference-j1-c{n}-front": png(Image.new("RGB", (32, 32), colour)) for n, colour in enumerate(references.values(), 1) if colour}
    summary = FrameSummary(shot_id="s1-shot1", references={c: UsedVersion(asset_id=f"reference-j1-c{n}-front", version=1)
                                                           for n, c in enumerate(references, 1)})
    ctx = screening(content=content, kind=AssetKind.FRAME, media_type="image/png", production_id="prod-a",
                    inputs={"shot": SHOT.model_dump(mode="json")}, summary=summary.model_dump(mode="json"), **fields)
    check = CastDriftCheck(MeanColour(), 0.9, lambda production, asset_id, version: images.get(asset_id))
    return check.run(ctx)


def test_a_character_that_kept_their_look_passes_and_one_that_drifted_is_flagged() -> None:
    assert run(frame(RED, BLUE), {"MARA": RED, "TOM": BLUE}) == []
    [drift] = run(frame(RED, RED), {"MARA": RED, "TOM": BLUE})
    assert drift.subject == "TOM" and drift.severity is Severity.MEDIUM and not drift.blocks_approval
    assert "TOM may have drifted from their reference reference-j1-c2-front v1" in drift.message and "threshold 0.90" in drift.message


def test_what_cannot_be_compared_is_skipped() -> None:
    assert run(frame(RED, RED), {"MARA": RED, "TOM": None}) == [], "TOM's reference is gone from the store"
    assert run(frame(RED, RED), {"ANA": BLUE}) == [], "ANA is not in the shot's layout"
    assert run(b"not an image", {"MARA": BLUE}) == []
    assert run(frame(RED, RED), {}) == [], "a frame drawn with no references"


def test_references_are_read_from_the_store_by_version() -> None:
    store = MemoryStore()
    for colour in (RED, BLUE):
        store.put(production_id="prod-a", kind=AssetKind.REFERENCE, asset_id="reference-j1-c1-front", data=png(Image.new("RGB", (8, 8), colour)),
                  media_type="image/png", ext="png")
    read = references_in(store)
    second = read("prod-a", "reference-j1-c1-front", 2)
    assert second is not None and Image.open(io.BytesIO(second)).getpixel((0, 0)) == BLUE
    assert read("prod-a", "reference-j1-c1-front", 3) is None and read("prod-b", "reference-j1-c1-front", 1) is None
