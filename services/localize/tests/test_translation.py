"""Translation on the tiny Marian, loaded like a real checkpoint: batched across lines and
callers, the target language told the model's way, unknown pairs refused."""

from __future__ import annotations

import asyncio

import pytest

from helix.generation import JobRefused
from helix_localize.translation import Translator, load_translator, pick_model


async def test_lines_of_concurrent_callers_share_generate_calls(tiny_marian: str) -> None:
    async with Translator(dtype="float32", device="cpu", max_batch=16) as translator:
        lines = [f"Line {n}: the lamp must burn tonight." for n in range(12)]
        de, ja = await asyncio.gather(translator.translate(tiny_marian, "en", "de-DE", lines[:6]),
                                      translator.translate(tiny_marian, "en", "ja-JP", lines[6:]))
        assert len(de) == len(ja) == 6 and all(isinstance(t.text, str) for t in de + ja)
        assert translator.stats.items == 12 and translator.stats.batches == 2, "one batch per target language"
        assert all(t.compute_seconds > 0 for t in de)


def test_the_target_language_token_and_unknown_targets(tiny_marian: str) -> None:
    loaded = load_translator(tiny_marian, dtype="float32", device="cpu")
    assert loaded.family == "marian" and loaded.target_prefix("ja") == ">>ja<<" and loaded.ref.revision.startswith("sha256:")
    with pytest.raises(JobRefused, match="cannot translate into 'sw'"):
        loaded.target_prefix("sw")


def test_models_are_picked_per_pair_most_specific_first() -> None:
    models = {"en-de": "opus-en-de", "en-*": "nllb", "*": "m2m", "en-de@formal": "opus-en-de-formal"}
    assert pick_model(models, "en", "de-DE") == "opus-en-de"
    assert pick_model(models, "en-GB", "de-AT", "formal") == "opus-en-de-formal"
    assert pick_model(models, "en", "ja-JP") == "nllb" and pick_model(models, "fr", "ja") == "m2m"
    with pytest.raises(JobRefused, match="unknown language pair fr→ja"):
        pick_model({"en-*": "nllb"}, "fr", "ja")
