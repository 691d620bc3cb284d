"""The listening QC: error rates after normalisation, and Whisper base (the packaged one)
hearing a real voice say its line, noise from the tiny random voice, and a line whose audio
was swapped for another's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from helix.models.packaged import whisper_base
from helix_localize.listening import Listener, error_rates, normalise
from helix_localize.voice import Speaker, SpeechSpec


def test_normalising_drops_case_punctuation_and_spacing() -> None:
    assert normalise("  Well, Lane — the CUCUMBER sandwiches?! ") == "well lane the cucumber sandwiches"
    assert normalise("¿Dónde está?") == "dónde está"


def test_error_rates_count_words_and_characters() -> None:
    assert error_rates("The lamp must burn tonight.", "the lamp must burn tonight") == (0.0, 0.0)
    wer, cer = error_rates("the lamp must burn tonight", "the lamp must learn tonight")
    assert wer == pytest.approx(0.2) and 0 < cer < wer
    assert error_rates("the lamp", "") == (1.0, 1.0) and error_rates("", "") == (0.0, 0.0) and error_rates("", "hm") == (1.0, 1.0)


@pytest.fixture(scope="module")
def listener() -> Listener:
    return Listener(whisper_base())


LINES = {"a": "The lamp must burn tonight.", "b": "I have never been to the seaside in winter."}


@pytest.mark.real_models
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the Piper voice needs the espeak-ng program (make setup installs it)")
async def test_a_real_voice_passes_and_noise_or_a_swapped_line_is_flagged(listener: Listener, tiny_vits: str) -> None:
    async with Speaker(device="cpu") as speaker:
        piper = {k: await speaker.say(SpeechSpec("piper:joe", text, 0, 1.0, seed=1)) for k, text in LINES.items()}
        noise = await speaker.say(SpeechSpec(tiny_vits, LINES["a"], 0, 1.0, seed=1))
    heard = listener.hear("a", LINES["a"], piper["a"].audio, piper["a"].sampling_rate, "en")
    assert heard.wer <= 0.3 and not heard.over(0.3), heard
    random_voice = listener.hear("a", LINES["a"], noise.audio, noise.sampling_rate, "en")
    assert random_voice.over(0.3), random_voice
    swapped = listener.hear("a", LINES["a"], piper["b"].audio, piper["b"].sampling_rate, "en")
    assert swapped.over(0.3) and swapped.wer > 0.6, swapped


def test_a_missing_model_folder_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="helix models real"):
        Listener(tmp_path).transcribe(np.zeros(16_000, dtype=np.float32), 16_000, "en")
