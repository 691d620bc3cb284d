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


def test_paste_regions_changes_only_the_marked_boxes() -> None:
    from PIL import Image

    from helix_visual.images import paste_regions

    base, rendered = Image.new("RGB", (64, 48), (10, 20, 30)), Image.new("RGB", (64, 48), (200, 100, 50))
    out = paste_regions(base, rendered, [(32, 0, 64, 24)], feather=2)
    assert out.getpixel((5, 40)) == (10, 20, 30) and out.getpixel((24, 10)) == (10, 20, 30)  # outside, clear of the soft edge
    assert out.getpixel((48, 10)) == (200, 100, 50)  # well inside
    edge = out.getpixel((32, 10))
    assert (10, 20, 30) != edge != (200, 100, 50)  # softened at the edge
    assert paste_regions(base, rendered.resize((32, 24)), [(0, 0, 64, 48)], feather=0).getpixel((0, 0)) == (200, 100, 50)
