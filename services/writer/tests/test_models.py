"""`helix models tiny` and `load_causal_lm`: a tiny random checkpoint loads like a real one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helix.cli import app
from helix.models.loading import LoadedLM, load_causal_lm, weights_hash
from helix_dev.models.tiny import TINY_MARKER, build_tiny_llama


def test_cli_builds_a_deterministic_tiny_checkpoint(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = CliRunner().invoke(app, ["models", "tiny", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "m"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", TINY_MARKER):
        assert (folder / name).is_file(), name
    marker = json.loads((folder / TINY_MARKER).read_text())
    assert marker["helix_tiny"] is True and marker["random_weights"] is True
    # same seed, same bytes: the revision (content hash) is reproducible
    assert weights_hash(folder) == weights_hash(tiny_model_dir)
    assert weights_hash(folder) in result.output.replace("\n", "")

    other = CliRunner().invoke(app, ["models", "tiny", str(tmp_path / "s1"), "--seed", "1"])
    assert other.exit_code == 0, other.output
    assert weights_hash(tmp_path / "s1") != weights_hash(folder)


def test_auto_classes_load_the_tiny_checkpoint(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert isinstance(model, LlamaForCausalLM)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert model.config.max_position_embeddings >= 2048
    assert model.get_output_embeddings().weight.shape[0] == len(tokenizer)
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "MARA: Where were you?"}],
        add_generation_prompt=True, tokenize=False,
    )
    assert text.startswith(tokenizer.bos_token) and text.endswith("<|assistant|>\n")
    assert "Be brief." + tokenizer.eos_token in text
    # byte-level BPE: any text round-trips, including what the corpus never had
    sample = 'INT. LIGHTHOUSE - NIGHT {"name": "Zoë", "emoji": "🎬"}'
    assert tokenizer.decode(tokenizer(sample, add_special_tokens=False)["input_ids"]) == sample
    # trained merges, not just bytes: screenplay text takes fewer tokens than bytes
    line = "The tide turns at six. We leave at five."
    assert len(tokenizer(line, add_special_tokens=False)["input_ids"]) < len(line.encode()) / 2


def test_load_causal_lm_shares_one_instance_and_pins_the_revision(tiny_model_dir: Path, tiny_lm: LoadedLM) -> None:
    assert tiny_lm.ref.id == str(tiny_model_dir.resolve())
    assert tiny_lm.ref.revision == weights_hash(tiny_model_dir)
    assert tiny_lm.is_tiny
    assert not tiny_lm.model.training
    assert tiny_lm.tokenizer.padding_side == "left" and tiny_lm.tokenizer.pad_token is not None
    assert tiny_lm.tokenizer.eos_token_id in tiny_lm.eos_token_ids
    assert tiny_lm.device == "cpu" and tiny_lm.dtype == "float32"
    # the same arguments give the same object; the pinned revision is accepted
    assert load_causal_lm(str(tiny_model_dir), dtype="float32", device="cpu") is tiny_lm
    assert load_causal_lm(str(tiny_model_dir), revision=tiny_lm.ref.revision, dtype="float32", device="cpu").model is not None
    with pytest.raises(ValueError, match="not the pinned revision"):
        load_causal_lm(str(tiny_model_dir), revision="sha256:" + "0" * 64, dtype="float32", device="cpu")


@pytest.mark.parametrize("quirk", ["no chat template", "no system role", "no pad token"])
async def test_real_checkpoint_quirks_still_generate_valid_json(tmp_path: Path, quirk: str) -> None:
    from pydantic import BaseModel, Field

    from helix_dev.models.tiny import NO_SYSTEM_TEMPLATE
    from helix_writer.engine import GenerationRequest, TextEngine, chat_text

    kwargs = {"no chat template": {"chat_template": None}, "no system role": {"chat_template": NO_SYSTEM_TEMPLATE},
              "no pad token": {"pad_token": False}}[quirk]
    folder = build_tiny_llama(tmp_path / "quirk", **kwargs)  # type: ignore[arg-type]
    lm = load_causal_lm(str(folder), dtype="float32", device="cpu")
    assert lm.tokenizer.pad_token_id is not None, "a pad token is always there to pad batches"
    messages = [{"role": "system", "content": "You are a screenwriter."}, {"role": "user", "content": "A title, please."}]
    text = chat_text(lm.tokenizer, messages)
    assert "You are a screenwriter." in text and "A title, please." in text, "the system text is kept, folded in if needed"

    class Title(BaseModel):
        title: str = Field(min_length=1, max_length=40)

    async with TextEngine(lm) as engine:
        results = [await engine.generate(GenerationRequest(messages, max_new_tokens=200, json_schema=Title.model_json_schema(), seed=s))
                   for s in range(3)]
    assert all(Title.model_validate_json(r.text).title for r in results)
