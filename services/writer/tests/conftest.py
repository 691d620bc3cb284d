"""Writer test fixtures: one tiny random Llama per session, loaded like a real checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.models.loading import LoadedLM, load_causal_lm
from helix_dev.models.tiny import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> LoadedLM:
    """The tiny Llama, built once a session and loaded like a real checkpoint."""
    folder = build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), seed=0)
    return load_causal_lm(str(folder), dtype="float32", device="cpu")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_lm: LoadedLM) -> Path:
    return Path(tiny_lm.ref.id)  # a local folder is its own id
