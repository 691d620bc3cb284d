"""Likeness beyond names: embeddings for comparing generated images and voices with the
reference images and recordings performers' consents carry.

- Faces and looks: a CLIP vision model with a projection (`CLIPVisionModelWithProjection`), by
  id or folder (`HELIX_REVIEW_LIKENESS_MODEL`): the kind of image encoder the visual service's
  IP-Adapter conditions on (a folder holding `image_encoder/` is read from there).
- Voices: a speaker-verification model with an x-vector head (`AutoModelForAudioXVector`, e.g.
  WavLM's), by id or folder (`HELIX_REVIEW_VOICE_LIKENESS_MODEL`), on the whole recording.

Embeddings are L2-normalised, so their dot product is the cosine similarity. Empty settings:
no likeness screening. Needs the `likeness` extra (`helix-review[likeness]`: torch,
transformers, Pillow, soundfile, SciPy).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class Encoder(Protocol):
    """Images or recordings (the bytes of a file) to unit embeddings; `model` names the encoder,
    so only embeddings of one encoder are ever compared."""

    @property
    def model(self) -> str: ...

    def embed(self, data: bytes) -> list[float]: ...


@dataclass(frozen=True)
class Likeness:
    """The encoders likeness screening compares with, and the similarity from which each flags."""

    image: Encoder | None = None
    image_threshold: float = 0.9
    voice: Encoder | None = None
    voice_threshold: float = 0.9

    def encoder_for(self, media_type: str) -> tuple[Encoder, float] | None:
        if media_type.startswith("image/") and self.image is not None:
            return self.image, self.image_threshold
        if media_type.startswith("audio/") and self.voice is not None:
            return self.voice, self.voice_threshold
        return None

    def models(self) -> list[str]:
        return [e.model for e in (self.image, self.voice) if e is not None]


def cosine(a: list[float], b: list[float]) -> float:
    """Of two L2-normalised embeddings."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


class _Lazy:
    """A model by id or folder, loaded on first use (once, whichever thread asks first)."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    @property
    def model(self) -> str:
        return self._source

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._build()
            return self._loaded

    def _build(self) -> tuple[Any, Any]:  # the model and its pre-processor
        raise NotImplementedError


class ClipImageEncoder(_Lazy):
    """A CLIP image encoder (with its projection); an IP-Adapter folder's `image_encoder/`."""

    def __init__(self, model_id_or_path: str) -> None:
        folder = Path(model_id_or_path)
        super().__init__(str(folder / "image_encoder") if (folder / "image_encoder" / "config.json").is_file() else model_id_or_path)

    def _build(self) -> tuple[Any, Any]:
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        model = CLIPVisionModelWithProjection.from_pretrained(self._source).eval()
        try:
            processor = CLIPImageProcessor.from_pretrained(self._source)
        except OSError:  # IP-Adapter image encoders ship without a preprocessor config: CLIP's own, at the model's size
            size = int(model.config.image_size)
            processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        return model, processor

    def embed(self, data: bytes) -> list[float]:
        import torch
        from PIL import Image

        model, processor = self._load()
        image = Image.open(io.BytesIO(data)).convert("RGB")
        with torch.inference_mode():
            embeds = model(**processor(images=image, return_tensors="pt")).image_embeds[0].float()
        return list((embeds / embeds.norm().clamp_min(1e-12)).tolist())


class SpeakerEncoder(_Lazy):
    """A speaker-verification model (x-vectors); a recording is read with soundfile (WAV,
    FLAC), mixed to mono and resampled to the model's rate."""

    def _build(self) -> tuple[Any, Any]:
        from transformers import AutoFeatureExtractor, AutoModelForAudioXVector

        return AutoModelForAudioXVector.from_pretrained(self._source).eval(), AutoFeatureExtractor.from_pretrained(self._source)

    def embed(self, data: bytes) -> list[float]:
        from math import gcd

        import numpy as np
        import soundfile
        import torch
        from scipy.signal import resample_poly

        model, extractor = self._load()
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
        wave = audio.mean(axis=1)
        target = int(extractor.sampling_rate)
        if rate != target:
            g = gcd(rate, target)
            wave = resample_poly(wave, target // g, rate // g).astype(np.float32)
        with torch.inference_mode():
            embeds = model(**extractor(wave, sampling_rate=target, return_tensors="pt")).embeddings[0].float()
        return list((embeds / embeds.norm().clamp_min(1e-12)).tolist())
