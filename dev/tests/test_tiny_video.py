"""The tiny LTX-Video image-to-video pipeline: it loads like a real checkpoint, offline; the same
seed writes the same weights; its T5 tokenizer, trained here, reads the project's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helix.models.loading import TINY_MARKER, is_tiny
from helix_dev.models import KINDS, build
from helix_dev.models.tiny_video import build_tiny_ltx_i2v

WEIGHTS = ("transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
           "text_encoder/model.safetensors")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ltx_i2v(tmp_path_factory.mktemp("tiny-ltx"), seed=0)


def test_the_folder_loads_offline_as_an_ltx_image_to_video_pipeline(tiny: Path) -> None:
    from diffusers import DiffusionPipeline, LTXImageToVideoPipeline

    pipe = DiffusionPipeline.from_pretrained(str(tiny), local_files_only=True)
    assert isinstance(pipe, LTXImageToVideoPipeline)
    assert (pipe.vae_temporal_compression_ratio, pipe.vae_spatial_compression_ratio) == (8, 32)  # LTX-Video's own
    assert pipe.transformer.config.caption_channels == pipe.text_encoder.config.d_model
    assert is_tiny(tiny) and json.loads((tiny / TINY_MARKER).read_text())["architecture"] == "LTXImageToVideoPipeline"


def test_the_same_seed_writes_the_same_weights_and_another_seed_others(tiny: Path, tmp_path: Path) -> None:
    again = build_tiny_ltx_i2v(tmp_path / "again", seed=0)
    other = build_tiny_ltx_i2v(tmp_path / "other", seed=1)
    for name in WEIGHTS:
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
        assert (other / name).read_bytes() != (tiny / name).read_bytes(), name


def test_the_t5_tokenizer_reads_a_sentence_into_known_pieces_and_ends_it(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny / "tokenizer"))
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)  # T5's
    ids = tokenizer("She crosses to the desk and opens a drawer at the café.").input_ids
    assert ids[-1] == tokenizer.eos_token_id and tokenizer.unk_token_id not in ids and len(ids) > 3
    assert tokenizer.decode(ids, skip_special_tokens=True) == "She crosses to the desk and opens a drawer at the café."
    assert tokenizer.model_max_length == 128


def test_the_kind_is_registered_for_the_tiny_fallback(tmp_path: Path) -> None:
    from helix.models.loading import tiny_fallback

    assert "ltx-i2v" in KINDS
    folder = tiny_fallback(tmp_path / "ltx", kind="ltx-i2v", setting="HELIX_VIDEO_MODEL", marker="model_index.json")
    assert (folder / "model_index.json").is_file() and is_tiny(folder)
    assert build("ltx-i2v", tmp_path / "direct") == tmp_path / "direct"
