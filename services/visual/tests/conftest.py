"""Visual test fixtures: one tiny random Stable Diffusion pipeline per session, loaded like a real checkpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helix.models.diffusion import LoadedPipeline, load_image_pipeline
from helix_dev.models.tiny_diffusion import build_tiny_sd
from helix_visual.engine import ImageEngine


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"), seed=0)


@pytest.fixture(scope="session")
def tiny_sd(tiny_sd_dir: Path) -> LoadedPipeline:
    return load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu")


@pytest.fixture
async def engine(tiny_sd: LoadedPipeline) -> AsyncIterator[ImageEngine]:
    async with ImageEngine({"default": tiny_sd}, max_batch=8, max_queue=16) as eng:
        yield eng
