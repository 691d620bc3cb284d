"""Speech on the tiny VITS: the rate control shortens a line, the same line gives the same
audio, characters get distinct voices, a locale with no voice is refused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helix.generation import JobRefused
from helix.testing.processes import alive
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


async def test_in_worker_processes_two_batches_speak_at_once_and_sound_as_in_the_service(tiny_vits: str) -> None:
    lines = [SpeechSpec(tiny_vits, f"line {n}: the lamp must burn tonight", n % 2, 1.0, seed=n) for n in range(4)]
    async with Speaker(device="cpu", max_batch=1) as here:
        expected = [await here.say(spec) for spec in lines]
    async with Speaker(device="cpu", max_batch=1, workers=2, processes=True, threads=1) as speaker:
        assert speaker._processes is not None
        spoken = await asyncio.gather(*(speaker.say(spec) for spec in lines))
        pids = set(speaker._processes._processes)  # the pool's worker processes
    assert pids and os.getpid() not in pids
    for got, want in zip(spoken, expected, strict=True):  # each process seeds its own noise: no batch disturbs another's
        assert got.sampling_rate == want.sampling_rate and got.audio.shape == want.audio.shape
        assert np.allclose(got.audio, want.audio, atol=1e-4)  # one torch thread there, two here: sums in another order


PARENT = """
import asyncio, sys
from helix_localize.voice import Speaker, SpeechSpec

async def main():
    speaker = Speaker(device="cpu", workers=1, processes=True, threads=1)
    await speaker.start()
    await speaker.say(SpeechSpec(sys.argv[1], "the lamp", 0, 1.0, seed=1))  # the worker is up
    print("workers", *speaker._processes._processes, flush=True)
    await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_speech_process_ends_when_the_service_is_killed(tiny_vits: str, tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), tiny_vits], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = next(line for line in parent.stdout if line.startswith("workers"))  # past the service's log lines
        workers = [int(pid) for pid in line.split()[1:]]
        assert workers
        parent.kill()  # kill -9: no cleanup runs in the service
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "a speech process outlived the service"
    finally:
        parent.kill()

