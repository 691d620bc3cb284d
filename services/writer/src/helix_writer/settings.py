"""Writer settings: the HELIX_* environment, like every Helix process, plus its model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from helix.models.loading import Device, Dtype
from helix.settings import HelixSettings, helix_home, infra_env_file
from helix.story import MAX_LINES_PER_SCENE


class WriterSettings(HelixSettings):
    service_name: str = "writer"
    # A Hugging Face model id or a local folder; empty: the tiny random Llama Helix builds
    # itself under .helix/models (noise, but the real code path, shapes and timings).
    writer_model: str = ""
    writer_revision: str = "main"
    writer_dtype: Dtype = "auto"
    writer_device: Device = "auto"
    writer_max_batch: int = Field(16, ge=1, le=256)
    writer_max_queue: int = Field(64, ge=1, le=10_000)
    writer_grpc_address: str = "127.0.0.1:50071"
    # continuous: rows join and leave between decoding steps (default); static: one padded
    # `generate` per batch (the previous engine; needed for sliding-window attention models).
    writer_engine: Literal["continuous", "static"] = "continuous"
    # A studio's example scripts by name (a folder of .fountain/.txt files), chosen per
    # production with `prefix_set` in the script request.
    writer_prefix_sets: dict[str, str] = Field(default_factory=dict)
    # Sampling for the script's levels. A small real model (SmolLM2-135M) loops and rambles at
    # the defaults; the demo's real profile sets its own (see helix_dev.profiles). The penalty
    # looks at the last `writer_repetition_window` tokens a generation wrote (0: all of them).
    writer_temperature: float = Field(0.8, ge=0, le=2)
    writer_top_p: float = Field(1.0, gt=0, le=1)
    writer_repetition_penalty: float = Field(1.0, ge=1, le=2)
    writer_repetition_window: int = Field(64, ge=0, le=4096)
    writer_no_repeat_ngram: int = Field(0, ge=0, le=64)  # > 0: no run of this many words written twice in one answer
    # The most lines a scene's dialogue is first written with (a person can ask for more): a
    # small model writes a short scene well and a long one badly (the real profile: 8).
    writer_lines_per_scene: int = Field(MAX_LINES_PER_SCENE, ge=1, le=MAX_LINES_PER_SCENE)

    def model_path(self) -> str:
        return self.writer_model or str(helix_home() / "models" / "tiny-llama")


def load_writer_settings(**overrides: Any) -> WriterSettings:
    env_file = infra_env_file()
    return WriterSettings(_env_file=env_file if env_file.is_file() else None, **overrides)
