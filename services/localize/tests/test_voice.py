"""Speech on the tiny VITS: the rate control shortens a line, the same line gives the same
audio, characters get distinct voices, a locale with no voice is refused."""

from __future__ import annotations

import numpy as np
import pytest

from helix.generation import JobRefused
from helix_localize.voice import Speaker, SpeechSpec, cast_voices, pick_voice


async def test_a_faster_rate_is_shorter_and_the_same_line_the_same_audio(tiny_vits: str) -> None:
    async with Speaker(device="cpu") as speaker:
        natural = await speaker.say(SpeechSpec(tiny_vits, "the lamp must burn tonight", 1, 1.0, seed=7))
        faster = await speaker.say(SpeechSpec(tiny_vits, "the lamp must burn tonight", 1, 1.3, seed=7))
        again = await speaker.say(SpeechSpec(tiny_vits, "the lamp must burn tonight", 1, 1.0, seed=7))
    assert natural.sampling_rate == 16_000 and natural.seconds > 0.2
    assert faster.seconds == pytest.approx(natural.seconds / 1.3, rel=0.1)
    assert np.array_equal(natural.audio, again.audio)


def test_a_cast_gets_distinct_voices_and_configured_ones_win() -> None:
    voices = cast_voices(["ALGERNON", "LANE", "JACK", "LANE"], 4, {})
    assert len(set(voices.values())) == 3 and voices == cast_voices(["JACK", "ALGERNON", "LANE"], 4, {})
    assert cast_voices(["MARA", "TOM"], 4, {"mara": 3})["MARA"] == 3
    with pytest.raises(JobRefused, match="not one of the model's 4 speakers"):
        cast_voices(["MARA"], 4, {"MARA": 9})


def test_a_locale_with_no_voice() -> None:
    voices = {"de": "mms-tts-deu", "ja-JP": "mms-tts-jpn"}
    assert pick_voice(voices, "de-AT") == "mms-tts-deu" and pick_voice(voices, "ja-JP") == "mms-tts-jpn"
    with pytest.raises(JobRefused, match="no voice for locale ko-KR"):
        pick_voice(voices, "ko-KR")
