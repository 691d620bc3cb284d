"""The configured pipelines: the tiny one only where no default is configured, and every
configured name loaded with the speed settings applied to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helix.models import loading
from helix_visual.pipelines import ensure_models, load_pipelines
from helix_visual.settings import VisualSettings


def test_the_tiny_pipeline_is_made_only_when_no_default_model_is_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    built: list[tuple[Path, dict[str, Any]]] = []
    monkeypatch.setattr(loading, "tiny_fallback", lambda folder, **how: built.append((folder, how)) or folder)
    assert ensure_models(VisualSettings(visual_models={"sketch": "/models/sketch"})) == {
        "default": str(tmp_path / "models" / "tiny-sd"), "sketch": "/models/sketch"}
    assert built == [(tmp_path / "models" / "tiny-sd", {"kind": "sd", "setting": "HELIX_VISUAL_MODEL", "marker": "model_index.json"}),
                     (tmp_path / "models" / "tiny-controlnet", {"kind": "controlnet", "setting": "HELIX_VISUAL_LAYOUT_MODEL"}),
                     (tmp_path / "models" / "tiny-ip-adapter", {"kind": "ip-adapter", "setting": "HELIX_VISUAL_REFERENCE_MODEL",
                                                                "marker": "ip-adapter.safetensors"})]
    built.clear()
    assert ensure_models(VisualSettings(visual_model="/models/house")) == {"default": "/models/house"}
    assert built == [], "a configured default is never replaced by the tiny one, nor given the tiny ControlNet"
    ensure_models(VisualSettings(visual_layout_model="none", visual_reference_model="none"))
    assert [how["kind"] for _folder, how in built] == ["sd"], "layout and reference conditioning switched off: neither model"


def test_the_layout_controlnet_by_setting() -> None:
    assert VisualSettings(visual_model="/models/house").layout_path() == "", "a real model gets no tiny ControlNet"
    assert VisualSettings(visual_model="/models/house", visual_layout_model="/models/cn").layout_path() == "/models/cn"
    assert VisualSettings(visual_layout_model="none").layout_path() == ""
    assert VisualSettings().layout_path().endswith("tiny-controlnet")
    assert VisualSettings(visual_model="/models/house").reference_path() == ""
    assert VisualSettings(visual_reference_model="/models/ipa::ip-adapter_sd15.safetensors").reference_path().endswith("::ip-adapter_sd15.safetensors")
    assert VisualSettings().reference_path().endswith("tiny-ip-adapter")


def test_every_configured_name_is_loaded_with_its_speed_settings(tiny_sd_dir: Path) -> None:
    settings = VisualSettings(visual_model=str(tiny_sd_dir), visual_models={"alt": str(tiny_sd_dir)}, visual_dtype="float32",
                              visual_device="cpu")
    pipelines, speedups = load_pipelines(settings)
    assert set(pipelines) == set(speedups) == {"default", "alt"}
    assert speedups["default"] == ["sdpa"], "nothing but what diffusers does anyway, until a switch is on"
    assert pipelines["default"].facts.native_size == pipelines["default"].native_size
