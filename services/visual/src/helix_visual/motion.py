"""The video pipeline the visual service moves shots with: loaded once, on first use, and run
off the event loop, one call at a time (a video model fills a device on its own).

HELIX_VISUAL_VIDEO_MODEL names it (a diffusers image-to-video folder or id: LTX-Video, Wan,
Stable Video Diffusion); empty: the tiny random LTX-Video image-to-video pipeline Helix builds
(noise that moves, through the real code path); `none`: no motion (clip requests are refused
with the reason). Memory is bounded by setting: VAE tiling, and model or sequential CPU offload.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helix.events import ModelRef
from helix.generation import JobRefused
from helix.settings import helix_home
from helix_visual.settings import VisualSettings

if TYPE_CHECKING:
    from helix.models.video import LoadedVideoPipeline


@dataclass(frozen=True)
class ClipSpec:
    image: Any  # PIL.Image: the frame the clip starts from
    prompt: str
    seconds: float
    fps: int
    width: int
    height: int
    steps: int
    seed: int


@dataclass
class ClipResult:
    frames: list[Any]  # PIL.Image, in order
    fps: float
    width: int
    height: int
    model: ModelRef
    pipeline: str
    device: str
    seconds: float  # model time
    memory: dict[str, Any] = field(default_factory=dict)


class Motion:
    def __init__(self, settings: VisualSettings) -> None:
        self.settings = settings
        self._loaded: LoadedVideoPipeline | None = None
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return self.settings.visual_video_model != "none"

    def model_path(self) -> str:
        return self.settings.visual_video_model or str(helix_home() / "models" / "tiny-ltx-i2v")

    def _load(self) -> LoadedVideoPipeline:
        from helix.models.loading import tiny_fallback
        from helix.models.video import load_video_pipeline

        path = self.model_path()
        if not self.settings.visual_video_model:
            tiny_fallback(Path(path), kind="ltx-i2v", setting="HELIX_VISUAL_VIDEO_MODEL", marker="model_index.json")
        return load_video_pipeline(path, dtype=self.settings.visual_dtype, device=self.settings.visual_device,
                                   vae_tiling=self.settings.visual_video_vae_tiling, cpu_offload=self.settings.visual_video_offload)

    async def animate(self, spec: ClipSpec) -> ClipResult:
        if not self.enabled:
            raise JobRefused("motion is off here (HELIX_VISUAL_VIDEO_MODEL=none): no clip can be made")
        from helix.models.video import animate

        async with self._lock:
            if self._loaded is None:
                self._loaded = await asyncio.to_thread(self._load)
            loaded = self._loaded
            frames = max(2, round(spec.seconds * spec.fps))
            began = time.perf_counter()
            images = await asyncio.to_thread(animate, loaded, spec.image, prompt=spec.prompt, num_frames=frames, width=spec.width,
                                             height=spec.height, steps=spec.steps, seed=spec.seed, fps=float(spec.fps))
            took = time.perf_counter() - began
        first = images[0]
        return ClipResult(frames=images, fps=float(spec.fps), width=first.width, height=first.height,
                          model=loaded.ref, pipeline=loaded.kind, device=loaded.device,
                          seconds=took, memory={"vae_tiling": self.settings.visual_video_vae_tiling,
                                                "offload": self.settings.visual_video_offload})
