"""Causal language models for Helix services: loading (`load_causal_lm`) and tiny random models.

Needs the `models` extra (`helix[models]`: torch, transformers, tokenizers); the rest of
Helix imports without it, and this package imports torch/transformers only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helix.models.loading import LoadedLM, load_causal_lm
    from helix.models.tiny import TINY_MARKER, build_tiny_llama, is_tiny

__all__ = ["TINY_MARKER", "EngineStopped", "LoadedLM", "build_tiny_llama", "is_tiny", "load_causal_lm", "require_models_extra"]


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
    if name in ("LoadedLM", "load_causal_lm"):
        from helix.models import loading

        return getattr(loading, name)
    if name in ("TINY_MARKER", "build_tiny_llama", "is_tiny"):
        from helix.models import tiny

        return getattr(tiny, name)
    raise AttributeError(name)
