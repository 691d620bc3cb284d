"""`helix.ffmpeg`: numbered pictures into an H.264 clip and back, every picture kept in order;
a failed run says why (ffmpeg's own words)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helix import ffmpeg

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg program (apt-get install ffmpeg)")
COLOURS = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0), (0, 200, 200)]


def test_pictures_go_into_a_clip_and_come_back_in_order(tmp_path: Path) -> None:
    for n, colour in enumerate(COLOURS, start=1):
        Image.new("RGB", (63, 47), colour).save(tmp_path / f"f{n:04d}.png")  # odd sides: H.264 4:2:0 needs even ones
    ffmpeg.encode_frames(tmp_path, "f%04d.png", 5, tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    pictures = ffmpeg.decode_frames(tmp_path / "clip.mp4", out, "p")
    assert [p.name for p in pictures] == [f"p{n:04d}.png" for n in range(1, 6)]
    for picture, colour in zip(pictures, COLOURS, strict=True):
        image = Image.open(picture).convert("RGB")
        assert image.size == (62, 46)
        assert np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0) == pytest.approx(colour, abs=12)


def test_a_failed_run_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"ffmpeg failed \(\d+\): .*missing.mp4"):
        ffmpeg.decode_frames(tmp_path / "missing.mp4", tmp_path, "p")
    assert ffmpeg.version() not in ("", "unknown")
