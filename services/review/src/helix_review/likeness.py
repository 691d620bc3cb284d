"""Likeness beyond names: image embeddings for comparing generated images with the reference
images performers' consents carry.

The encoder is a CLIP vision model with a projection (`CLIPVisionModelWithProjection`), by
id or folder (`HELIX_REVIEW_LIKENESS_MODEL`): the same kind of image encoder the visual
service's IP-Adapter conditions on (a folder holding `image_encoder/` is read from there).
Embeddings are L2-normalised, so their dot product is the cosine similarity. Empty setting:
no likeness screening. Needs the `likeness` extra (`helix-review[likeness]`: torch,
transformers, Pillow).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, Protocol


class ImageEncoder(Protocol):
    @property
    def model(self) -> str: ...

    def embed(self, data: bytes) -> list[float]: ...


def cosine(a: list[float], b: list[float]) -> float:
    """Of two L2-normalised embeddings."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


class ClipImageEncoder:
    """A CLIP image encoder, loaded on first use (once, whichever thread asks first)."""

    def __init__(self, model_id_or_path: str) -> None:
        folder = Path(model_id_or_path)
        self._source = str(folder / "image_encoder") if (folder / "image_encoder" / "config.json").is_file() else model_id_or_path
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    @property
    def model(self) -> str:
        return self._source

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                try:
                    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection
                except ImportError as exc:  # pragma: no cover - the extra is part of the workspace
                    raise RuntimeError("likeness screening needs the `likeness` extra (helix-review[likeness])") from exc
                model = CLIPVisionModelWithProjection.from_pretrained(self._source).eval()
                try:
                    processor = CLIPImageProcessor.from_pretrained(self._source)
                except OSError:  # IP-Adapter image encoders ship without a preprocessor config: CLIP's own, at the model's size
                    size = int(model.config.image_size)
                    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
                self._loaded = (model, processor)
            return self._loaded

    def embed(self, data: bytes) -> list[float]:
        import torch
        from PIL import Image

        model, processor = self._load()
        image = Image.open(io.BytesIO(data)).convert("RGB")
        with torch.inference_mode():
            embeds = model(**processor(images=image, return_tensors="pt")).image_embeds[0].float()
        return list((embeds / embeds.norm().clamp_min(1e-12)).tolist())
