"""Translation on the tiny Marian, loaded like a real checkpoint: batched across lines and
callers, the target language told the model's way, unknown pairs refused."""

from __future__ import annotations

import asyncio
import shutil

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


needs_apertium = pytest.mark.skipif(shutil.which("apertium") is None,
                                    reason="the apertium program is not installed (make setup installs apertium-eng-spa)")


@needs_apertium
async def test_apertium_translates_english_to_spanish_line_by_line_in_one_batch() -> None:
    lines = ["The lamp must burn tonight.", "Lane is in the garden.", "⟦0⟧ is my friend."]
    async with Translator(device="cpu") as translator:
        done = await translator.translate("apertium:eng-spa", "en", "es-ES", lines)
        assert translator.loaded("apertium:eng-spa").ref.id == "apertium:eng-spa"
    spanish = [d.text for d in done]
    assert len(spanish) == 3 and "lámpara" in spanish[0] and "noche" in spanish[0] and "jardín" in spanish[1]
    assert spanish[2].startswith("⟦0⟧"), "a locked term's placeholder passes through untouched"


@needs_apertium
def test_an_apertium_pair_that_is_not_installed_is_refused_with_the_pairs_there_are() -> None:
    with pytest.raises(JobRefused, match="Apertium has no pair 'eng-xx'.*eng-spa"):
        Translator(device="cpu").loaded("apertium:eng-xx")
