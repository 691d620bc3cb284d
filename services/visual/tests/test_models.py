"""`helix models tiny --kind sd` and `load_image_pipeline`: a tiny random diffusion pipeline
loads like a real one, pinned by the hash of its weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helix.cli import app
from helix.models.diffusion import LoadedPipeline, load_image_pipeline, tree_hash
from helix_dev.models.tiny import TINY_MARKER


def test_cli_builds_a_deterministic_tiny_pipeline(tmp_path: Path, tiny_sd_dir: Path) -> None:
    result = CliRunner().invoke(app, ["models", "tiny", "--kind", "sd", str(tmp_path / "sd")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "sd"
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline" and index["tokenizer"] == ["transformers", "CLIPTokenizer"]
    assert json.loads((folder / TINY_MARKER).read_text())["random_weights"] is True
    assert tree_hash(folder) == tree_hash(tiny_sd_dir), "same seed, same weights"
    assert tree_hash(folder) in result.output.replace("\n", "")
    bad = CliRunner().invoke(app, ["models", "tiny", "--kind", "gan", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "unknown kind 'gan'" in bad.output


def test_loaded_pipeline_names_its_weights_and_limits(tiny_sd: LoadedPipeline, tiny_sd_dir: Path) -> None:
    assert tiny_sd.ref.revision == tree_hash(tiny_sd_dir) and tiny_sd.is_tiny
    assert tiny_sd.vae_scale_factor == 8 and tiny_sd.native_size == 256 and tiny_sd.max_prompt_tokens == 77
    assert load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu") is tiny_sd, "one instance per process"


def test_a_pinned_revision_must_match_the_weights(tiny_sd_dir: Path) -> None:
    with pytest.raises(ValueError, match="not the pinned revision"):
        load_image_pipeline(str(tiny_sd_dir), revision="sha256:" + "0" * 64, dtype="float32", device="cpu")
    with pytest.raises(ValueError, match="unknown scheduler 'fast'"):
        load_image_pipeline(str(tiny_sd_dir), scheduler="fast")


def test_a_few_step_scheduler_is_chosen_by_name(tiny_sd_dir: Path) -> None:
    turbo = load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu", scheduler="turbo")
    assert type(turbo.text2img.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
    assert turbo.text2img.scheduler.config.timestep_spacing == "trailing"
    assert turbo.img2img.unet is turbo.text2img.unet, "image-to-image shares the modules"
