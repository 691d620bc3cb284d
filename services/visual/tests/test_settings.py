"""Visual settings: the configured models by name (the tiny pipeline under Helix's home when no
default is set), the bounds that keep requests and the engine sane, and the install's env file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from helix_visual.settings import DEFAULT_MODEL, VisualSettings, load_visual_settings


def test_the_default_model_is_the_tiny_pipeline_under_helix_home_until_one_is_set(tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    assert VisualSettings().model_paths() == {DEFAULT_MODEL: str(tmp_path / "models" / "tiny-sd")}
    configured = VisualSettings(visual_model="stabilityai/sd-turbo", visual_models={"sdxl": "stabilityai/sdxl-turbo"})
    assert configured.model_paths() == {"default": "stabilityai/sd-turbo", "sdxl": "stabilityai/sdxl-turbo"}


def test_models_and_sizes_come_from_the_helix_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_VISUAL_MODELS", '{"sketch": "/models/sketch"}')
    monkeypatch.setenv("HELIX_VISUAL_FRAME_WIDTH", "640")
    settings = VisualSettings()
    assert settings.visual_models == {"sketch": "/models/sketch"} and settings.visual_frame_width == 640
    assert settings.model_paths()["sketch"] == "/models/sketch"


@pytest.mark.parametrize(("field", "value"), [("visual_frame_width", 500), ("visual_frame_height", 32), ("visual_max_batch", 0),
                                              ("visual_revision_strength", 0.0), ("visual_revision_strength", 1.5),
                                              ("visual_dtype", "int8"), ("visual_preview_side", 16)])
def test_values_outside_what_the_engine_and_contracts_allow_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        VisualSettings(**{field: value})


def test_the_installs_env_file_is_read_and_overrides_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    assert load_visual_settings().visual_frame_steps == 4, "no env file: the defaults"
    (tmp_path / "infra.env").write_text("HELIX_VISUAL_FRAME_STEPS=8\nHELIX_VISUAL_MODEL=/models/house-style\n")
    loaded = load_visual_settings(visual_max_batch=2)
    assert loaded.visual_frame_steps == 8 and loaded.model_paths()["default"] == "/models/house-style"
    assert loaded.visual_max_batch == 2 and loaded.service_name == "visual"
