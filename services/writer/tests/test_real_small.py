"""SmolLM2-135M-Instruct, the real small writer model: converted once from the package's GGUF
into a plain checkpoint, it loads like any other, and the writer's engine (free text and
JSON constrained by the grammar) writes English with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from helix.models.loading import LoadedLM, load_causal_lm, weights_hash
from helix.models.packaged import smollm2
from helix_writer.engine import GenerationRequest, JsonGenerator, TextEngine

pytestmark = pytest.mark.real_models
COMMON = {"the", "a", "and", "of", "to", "in", "is", "it", "on", "with", "at", "her", "his", "she", "he", "was", "for"}


@pytest.fixture(scope="module")
def smol(tmp_path_factory: pytest.TempPathFactory) -> LoadedLM:
    folder = smollm2(tmp_path_factory.mktemp("smol") / "smollm2-135m-instruct")
    return load_causal_lm(str(folder), dtype="float32", device="cpu")


def test_the_conversion_is_a_plain_checkpoint_made_once(smol: LoadedLM) -> None:
    folder = Path(smol.ref.id)
    assert (folder / "config.json").is_file() and not (folder.parent / (folder.name + ".partial")).exists()
    assert "quantization_config" not in (folder / "config.json").read_text()
    assert smol.ref.revision == weights_hash(folder) and smollm2(folder) == folder
    assert smol.model.config.model_type == "llama" and smol.model.config.num_hidden_layers == 30


async def test_the_engine_writes_english_and_json_with_it(smol: LoadedLM) -> None:
    class Beat(BaseModel):
        title: str
        summary: str

    async with TextEngine(smol, max_batch=4) as engine:
        result = await engine.generate(GenerationRequest(
            messages=[{"role": "user", "content": "Describe a lighthouse keeper's evening in two sentences."}],
            max_new_tokens=48, temperature=0.0, seed=1))
        made = await JsonGenerator(engine).generate_json(
            [{"role": "user", "content": "A story beat about a storm at sea, as JSON with a title and a summary."}], Beat,
            max_new_tokens=96, seed=1)
    beat = made.value
    words = re.findall(r"[A-Za-z']+", result.text.lower())
    assert len(words) >= 10 and len(COMMON & set(words)) >= 3, result.text
    assert isinstance(beat, Beat) and beat.title.strip() and len(beat.summary.split()) >= 3, beat
