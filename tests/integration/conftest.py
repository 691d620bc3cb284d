"""Fixtures shared by the integration modules that run services as processes."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny random Llama (writer) and Stable Diffusion (visual) pipelines, built once per module."""
    from helix_dev.models.tiny import build_tiny_llama
    from helix_dev.models.tiny_diffusion import build_tiny_sd

    return {"writer": build_tiny_llama(tmp_path_factory.mktemp("llama")), "visual": build_tiny_sd(tmp_path_factory.mktemp("sd"))}
