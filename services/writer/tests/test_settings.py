"""Writer settings: the model path (configured, or the tiny Llama under Helix's home), the checked
batch, queue and engine settings, and the environment (a studio's prefix sets as JSON) over
`.helix/infra.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from helix_writer.settings import WriterSettings, load_writer_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    for name in ("HELIX_WRITER_MODEL", "HELIX_WRITER_MAX_BATCH", "HELIX_WRITER_MAX_QUEUE", "HELIX_WRITER_ENGINE",
                 "HELIX_WRITER_PREFIX_SETS", "HELIX_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_model_is_the_configured_one_or_the_tiny_llama_under_helix_home(home: Path) -> None:
    assert WriterSettings().model_path() == str(home / "models" / "tiny-llama")
    assert WriterSettings(writer_model="org/screenwriter-7b").model_path() == "org/screenwriter-7b"


@pytest.mark.parametrize("bad", [{"writer_max_batch": 0}, {"writer_max_batch": 257}, {"writer_max_queue": 0},
                                 {"writer_max_queue": 10_001}, {"writer_engine": "paged"}])
def test_batch_queue_and_engine_settings_out_of_range_are_refused(home: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WriterSettings(**bad)


def test_the_environment_names_the_engine_and_the_studios_prefix_sets(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_WRITER_ENGINE", "static")
    monkeypatch.setenv("HELIX_WRITER_PREFIX_SETS", '{"noir": "/scripts/noir", "comedy": "/scripts/comedy"}')
    settings = WriterSettings()
    assert settings.writer_engine == "static" and settings.service_name == "writer"
    assert settings.writer_prefix_sets == {"noir": "/scripts/noir", "comedy": "/scripts/comedy"}


def test_loaded_settings_read_the_infra_file_under_the_environment_and_the_callers_overrides(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "infra.env").write_text("HELIX_KAFKA_BOOTSTRAP=10.0.0.5:9092\nHELIX_WRITER_MAX_BATCH=4\nHELIX_WRITER_MAX_QUEUE=9\n")
    monkeypatch.setenv("HELIX_WRITER_MAX_BATCH", "8")
    settings = load_writer_settings(writer_max_queue=3)
    assert (settings.kafka_bootstrap, settings.writer_max_batch, settings.writer_max_queue) == ("10.0.0.5:9092", 8, 3)


def test_loaded_settings_need_no_infra_file(home: Path) -> None:
    assert not (home / "infra.env").exists()
    assert load_writer_settings().writer_max_batch == 16
