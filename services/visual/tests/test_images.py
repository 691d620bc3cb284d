from __future__ import annotations

from PIL import Image

from helix_visual.images import decode, encode_png, png_text, preview_png


def test_png_carries_its_parameters_and_encodes_deterministically() -> None:
    image = Image.new("RGB", (64, 48), (10, 20, 30))
    params = {"helix": {"prompt": "ミナ at the lighthouse", "seed": 7}}
    first, second = encode_png(image, params), encode_png(image, params)
    assert first == second, "same pixels and parameters: same bytes"
    assert '"seed": 7' in png_text(first)["helix"] and "ミナ" in png_text(first)["helix"]
    assert decode(first).size == (64, 48)


def test_preview_is_small_and_keeps_the_aspect() -> None:
    preview = decode(preview_png(Image.new("RGB", (1024, 512)), 256))
    assert preview.size == (256, 128)


def test_bytes_that_are_not_an_image_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="not an image"):
        decode(b"EXT. LIGHTHOUSE - NIGHT")
