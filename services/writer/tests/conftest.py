"""Writer test fixtures: one tiny random Llama per session, loaded like a real checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.models.loading import LoadedLM, load_causal_lm
from helix_dev.models.tiny import build_tiny_llama


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), seed=0)


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir: Path) -> LoadedLM:
    return load_causal_lm(str(tiny_model_dir), dtype="float32", device="cpu")
