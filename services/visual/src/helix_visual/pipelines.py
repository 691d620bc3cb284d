"""The service's configured pipelines, loaded and tuned: in the service's own process, or in
the image engine's worker process (`worker.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from helix_visual.settings import DEFAULT_MODEL, VisualSettings

if TYPE_CHECKING:
    from helix.models.diffusion import LoadedPipeline


def ensure_models(settings: VisualSettings) -> dict[str, str]:
    """The configured models; with no default, the tiny pipeline, its tiny layout ControlNet and
    its tiny IP-Adapter (`helix.models.loading.tiny_fallback`)."""
    from helix.models.loading import tiny_fallback

    paths = settings.model_paths()
    if not settings.visual_model:
        tiny_fallback(Path(paths[DEFAULT_MODEL]), kind="sd", setting="HELIX_VISUAL_MODEL", marker="model_index.json")
        if settings.layout_path() and not settings.visual_layout_model:
            tiny_fallback(Path(settings.layout_path()), kind="controlnet", setting="HELIX_VISUAL_LAYOUT_MODEL")
        if settings.reference_path() and not settings.visual_reference_model:
            tiny_fallback(Path(settings.reference_path()), kind="ip-adapter", setting="HELIX_VISUAL_REFERENCE_MODEL",
                          marker="ip-adapter.safetensors")
    return paths


def load_pipelines(settings: VisualSettings) -> tuple[dict[str, LoadedPipeline], dict[str, list[str]]]:
    """Every configured pipeline by name, and the speed settings applied to each (`tuning.py`)."""
    from helix.models.diffusion import load_image_pipeline
    from helix_visual.tuning import apply_speedups

    pipelines = {name: load_image_pipeline(path, revision=settings.visual_revision if name == DEFAULT_MODEL else "main",
                                           dtype=settings.visual_dtype, device=settings.visual_device, scheduler=settings.visual_scheduler,
                                           layout_model=settings.layout_path() if name == DEFAULT_MODEL else "",
                                           reference_model=settings.reference_path() if name == DEFAULT_MODEL else "")
                 for name, path in ensure_models(settings).items()}
    return pipelines, {name: apply_speedups(loaded, settings) for name, loaded in pipelines.items()}


__all__ = ["ensure_models", "load_pipelines"]
