"""Localize settings: with nothing configured, the tiny Marian and VITS under Helix's home serve
every pair and language; configured models replace them; bounds keep dubbing sane; the
install's env file is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from helix_localize.settings import LocalizeSettings, load_localize_settings


def test_nothing_configured_means_the_tiny_models_for_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    settings = LocalizeSettings()
    assert settings.translation_models() == {"*": str(tmp_path / "models" / "tiny-marian")}
    assert settings.voices() == {"*": str(tmp_path / "models" / "tiny-vits")}


def test_configured_models_replace_the_tiny_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_LOCALIZE_TRANSLATION_MODELS", '{"en-de": "Helsinki-NLP/opus-mt-en-de"}')
    monkeypatch.setenv("HELIX_LOCALIZE_VOICES", '{"de": "facebook/mms-tts-deu"}')
    settings = LocalizeSettings()
    assert settings.translation_models() == {"en-de": "Helsinki-NLP/opus-mt-en-de"}, "no tiny fallback beside real models"
    assert settings.voices() == {"de": "facebook/mms-tts-deu"}


def test_values_dubbing_cannot_work_with_are_each_rejected_by_name() -> None:
    bad = {"localize_rate_cap": 2.5, "localize_min_rate": 0.3, "localize_loudness_lufs": 0, "localize_num_beams": 9,
           "localize_device": "tpu", "localize_shorten_timeout_s": 0.5, "localize_rate_step": 0}
    with pytest.raises(ValidationError) as caught:
        LocalizeSettings(**bad)
    assert {error["loc"][0] for error in caught.value.errors()} == set(bad)
    with pytest.raises(ValidationError, match="localize_rate_cap"):
        LocalizeSettings(localize_rate_cap=0.9)  # a cap below 1 would slow every line down


def test_the_installs_env_file_is_read_and_overrides_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    env = tmp_path / "infra.env"
    env.write_text('HELIX_LOCALIZE_RATE_CAP=1.5\nHELIX_LOCALIZE_VOICES={"*": "/voices/house"}\n')
    overridden, plain = load_localize_settings(localize_allow_slowdown=True), load_localize_settings()
    assert overridden.localize_rate_cap == plain.localize_rate_cap == 1.5 and plain.voices() == {"*": "/voices/house"}
    assert overridden.localize_allow_slowdown and not plain.localize_allow_slowdown and plain.service_name == "localize"
    env.unlink()
    assert load_localize_settings().localize_rate_cap == 1.3, "no env file: the defaults"
