"""`helix.assets.media.bytes_are`: a claimed type is believed only when the bytes begin as it says."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from helix.assets.media import SNIFFED_TYPES, bytes_are


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(("media_type", "fmt"), [("image/png", "PNG"), ("image/jpeg", "JPEG"), ("image/webp", "WEBP")])
def test_real_files_are_what_they_are_and_nothing_else(media_type: str, fmt: str) -> None:
    data = image(fmt)
    assert bytes_are(data, media_type)
    assert [t for t in SNIFFED_TYPES if bytes_are(data, t)] == [media_type]


def test_containers_are_told_apart_by_what_they_hold() -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt "
    assert bytes_are(wav, "audio/wav") and not bytes_are(wav, "image/webp")
    assert bytes_are(b"fLaC\x00\x00\x00\x22", "audio/flac")
    assert not bytes_are(image("PNG"), "image/gif"), "a type it does not know is never believed"
    assert not bytes_are(b"", "image/png")
