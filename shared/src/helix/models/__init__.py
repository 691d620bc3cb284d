"""Models for Helix services: loading (`load_causal_lm`, diffusion pipelines), batching; the
tiny random models tests and local runs use are built by the development package
(`helix_dev.models`), not here.

Needs the `models` extra (`helix[models]`: torch, transformers, tokenizers); the rest of
Helix imports without it, and this package imports torch/transformers only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helix.models.loading import TINY_MARKER, LoadedLM, is_tiny, load_causal_lm

__all__ = ["TINY_MARKER", "EngineStopped", "LoadedLM", "is_tiny", "load_causal_lm", "require_models_extra"]


class EngineStopped(RuntimeError):
    """A model engine was stopped (or not started) before a request ran: retry on another replica."""


def require_models_extra() -> None:
    """Raise an ImportError naming `helix[models]` when torch/transformers/tokenizers are missing."""
    missing = []
    for module in ("torch", "transformers", "tokenizers"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"helix.models needs {', '.join(missing)}: install the models extra, e.g. `pip install 'helix[models]'` "
            "(services that run models depend on it already)"
        )


def __getattr__(name: str) -> Any:
    if name in ("LoadedLM", "load_causal_lm", "TINY_MARKER", "is_tiny"):
        from helix.models import loading

        return getattr(loading, name)
    raise AttributeError(name)
