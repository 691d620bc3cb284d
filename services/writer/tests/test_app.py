"""The writer's wiring, built without starting servers: the configured engine over the shared model,
one repository over the service's document reader, the steps answering the writer's requests
topic, a studio's prefix sets; and which model the service loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helix.events import Topic
from helix.models.loading import LoadedLM
from helix_writer.app import WriterApp, ensure_model
from helix_writer.engine import TextEngine
from helix_writer.settings import WriterSettings
from helix_writer.static_engine import StaticTextEngine


@pytest.fixture
def settings(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))

    def make(**fields: Any) -> WriterSettings:
        values: dict[str, Any] = {"writer_model": str(tiny_model_dir), "writer_device": "cpu", "writer_dtype": "float32",
                                  "database_url": f"sqlite:///{tmp_path / 'writer.db'}", "c2pa_enabled": False,
                                  "s3_secret_key": "never-used"}  # clients are made, nothing is connected
        return WriterSettings(**{**values, **fields})

    return make


def test_the_app_wires_the_writers_steps_to_its_requests_topic(settings: Any, tiny_lm: LoadedLM) -> None:
    app = WriterApp(settings(writer_max_batch=3, writer_max_queue=5, writer_prefix_sets={"noir": "/scripts/noir"}))
    assert app.name == "writer" and app.requests_topic is Topic.WRITER_REQUESTS
    assert app.steps == app.requests.steps()
    assert isinstance(app.engine, TextEngine) and app.engine.lm is tiny_lm, "the process's one shared instance of the model"
    assert (app.engine.max_batch, app.engine.max_queue) == (3, 5)
    assert app.repository.documents is app.documents and app.repository.model_ref == tiny_lm.ref
    assert app.writer.repository is app.repository and app.writer.generator.model_ref == tiny_lm.ref
    assert app.editor.writer is app.writer and app.requests.writer is app.writer and app.requests.editor is app.editor
    assert app.requests.prefix_sets == {"noir": "/scripts/noir"}


def test_the_static_engine_is_chosen_by_setting(settings: Any) -> None:
    assert type(WriterApp(settings(writer_engine="static")).engine) is StaticTextEngine


def test_the_model_is_the_configured_one_or_the_tiny_llama_under_helix_home(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    assert ensure_model(WriterSettings(writer_model="org/screenwriter-7b")) == "org/screenwriter-7b"
    tiny = tmp_path / "models" / "tiny-llama"
    tiny.mkdir(parents=True)
    (tiny / "config.json").write_text("{}")  # a tiny Llama built before: not built again
    assert ensure_model(WriterSettings(writer_model="")) == str(tiny)
