"""Piper and eSpeak NG voices: Piper's id sequence from its own phoneme table, the packaged
Piper voice speaking (intelligibly: see test_listening), the rate control, eSpeak NG in
Spanish, and bad voice names refused with the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from helix.events import ModelRef
from helix.generation import JobRefused
from helix_localize import programs
from helix_localize.voice import Speaker, SpeechSpec

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="the espeak-ng program is not installed (make setup installs it: apt-get install espeak-ng)")


def test_piper_ids_put_the_pad_after_each_known_phoneme_between_start_and_end() -> None:
    voice = programs.PiperVoice(session=None, phoneme_ids={"_": [0], "^": [1], "$": [2], "a": [5], "b": [6], " ": [3]},
                                espeak_voice="en-us", length_scale=1.0, ref=ModelRef(id="piper:x", revision="r"), sampling_rate=22_050,
                                speakers=1)
    assert voice.ids("ab a") == [1, 5, 0, 6, 0, 3, 0, 5, 0, 2]
    assert voice.ids("a?z") == [1, 5, 0, 2], "phonemes the voice was not trained on are dropped"


@needs_espeak
def test_phonemes_keep_clause_punctuation() -> None:
    phonemes = programs.phonemize("Hello there, my friend. Quickly!", "en-us")
    assert phonemes.count(",") == 1 and phonemes.endswith("!") and "." in phonemes
    assert any(ch in phonemes for ch in "ɛəɪˈ"), "IPA, not the letters"


@pytest.mark.real_models
@needs_espeak
async def test_the_packaged_piper_voice_speaks_the_same_line_the_same_way_and_faster_when_asked() -> None:
    async with Speaker(device="cpu") as speaker:
        loaded = speaker.loaded("piper:joe")
        natural = await speaker.say(SpeechSpec("piper:joe", "The lamp must burn tonight.", 0, 1.0, seed=1))
        again = await speaker.say(SpeechSpec("piper:joe", "The lamp must burn tonight.", 0, 1.0, seed=2))
        faster = await speaker.say(SpeechSpec("piper:joe", "The lamp must burn tonight.", 0, 1.3, seed=1))
    assert loaded.sampling_rate == natural.sampling_rate == 22_050 and loaded.ref.revision.startswith("sha256:")
    assert 0.8 < natural.seconds < 4.0 and np.abs(natural.audio).max() > 0.05
    assert np.array_equal(natural.audio, again.audio), "noise off: the same line is the same audio"
    assert faster.seconds == pytest.approx(natural.seconds / 1.3, rel=0.15)


@needs_espeak
async def test_espeak_speaks_spanish_and_refuses_a_voice_it_does_not_have() -> None:
    async with Speaker(device="cpu") as speaker:
        speech = await speaker.say(SpeechSpec("espeak:es", "La lámpara debe arder esta noche.", 0, 1.0, seed=1))
        faster = await speaker.say(SpeechSpec("espeak:es", "La lámpara debe arder esta noche.", 0, 1.5, seed=1))
    assert speech.sampling_rate == 22_050 and speech.seconds > 1.0 and faster.seconds < speech.seconds * 0.8
    with pytest.raises(JobRefused, match="espeak-ng has no voice 'klingon'"):
        programs.load_program_voice("espeak:klingon")


def test_a_piper_voice_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Piper voice at"):
        programs.load_program_voice(f"piper:{tmp_path / 'nobody.onnx'}")
