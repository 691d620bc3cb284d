"""Images as Helix stores them: PNG with the generation parameters in its text chunks (as
other tools read them), and a small preview PNG for the review console.

Encoding is deterministic: the same pixels and parameters give the same bytes, so the same
seed, model and settings give byte-identical files (and the store keeps one version).
"""

from __future__ import annotations

import io
import json
from typing import Any

PNG = "image/png"


def encode_png(image: Any, text: dict[str, Any]) -> bytes:
    """PNG bytes with one `tEXt`/`iTXt` chunk per parameter (JSON for non-strings); no timestamps."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in sorted(text.items()):
        info.add_itxt(key, value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=False)
    return out.getvalue()


def preview_png(image: Any, max_side: int) -> bytes:
    """A small copy (longest side at most `max_side`) for lists and contact sheets."""
    from PIL import Image

    small = image.copy()
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")
    return out.getvalue()


def decode(data: bytes) -> Any:
    """A stored image as an RGB PIL image (raises ValueError for bytes that are not an image)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not an image: {exc}") from None
    return image.convert("RGB")


def png_text(data: bytes) -> dict[str, str]:
    """The text chunks of a PNG (what `encode_png` wrote)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    return {k: v for k, v in getattr(image, "text", {}).items()}


def paste_regions(base: Any, rendered: Any, boxes: list[tuple[int, int, int, int]], *, feather: int = 2) -> Any:
    """`base` with the marked boxes taken from `rendered` (a revision that changes only what the
    reviewer marked); the mask's edge is softened by `feather` pixels so no hard seam shows."""
    from PIL import Image, ImageDraw, ImageFilter

    if rendered.size != base.size:
        rendered = rendered.resize(base.size, Image.Resampling.LANCZOS)
    mask = Image.new("L", base.size, 0)
    draw = ImageDraw.Draw(mask)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=255)
    if feather:
        mask = mask.filter(ImageFilter.GaussianBlur(feather))
    return Image.composite(rendered, base, mask)
