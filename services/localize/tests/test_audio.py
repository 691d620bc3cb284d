"""The voice-over track: 48 kHz, loudness at the target within ±1 LU (pyloudnorm measures),
WAV and FLAC that soundfile reads back."""

from __future__ import annotations

import io

import numpy as np
import pyloudnorm
import pytest
import soundfile

from helix_localize.audio import TRACK_RATE, assemble, encode, resample


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_track_is_placed_resampled_and_normalised(target: float) -> None:
    rng = np.random.default_rng(1)
    speech = [(0.5, rng.standard_normal(16_000).astype(np.float32) * 0.05, 16_000),
              (2.0, rng.standard_normal(24_000).astype(np.float32) * 0.5, 16_000)]
    track = assemble(speech, target_lufs=target)
    assert track.rate == TRACK_RATE and track.seconds == pytest.approx(2.0 + 1.5 + 0.5, abs=0.01)
    assert np.all(track.samples[: int(0.49 * TRACK_RATE)] == 0), "silence before the first line"
    measured = pyloudnorm.Meter(TRACK_RATE).integrated_loudness(track.samples.astype(np.float64))
    assert abs(measured - target) <= 1.0 and abs(track.loudness_lufs - measured) < 1e-6
    for fmt in ("wav", "flac"):
        data, rate = soundfile.read(io.BytesIO(encode(track, fmt)))
        assert rate == TRACK_RATE and len(data) == len(track.samples)
        assert soundfile.info(io.BytesIO(encode(track, fmt))).subtype == "PCM_24"


def test_resampling_keeps_duration() -> None:
    assert len(resample(np.zeros(16_000, np.float32), 16_000)) == TRACK_RATE


def test_silence_is_refused() -> None:
    with pytest.raises(ValueError, match="silent"):
        assemble([(0.0, np.zeros(16_000, np.float32), 16_000)], target_lufs=-23)
