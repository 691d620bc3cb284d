"""A locale's voice-over track: lines placed on the timeline at 48 kHz, loudness-normalised
to a target (EBU R128: −23 LUFS, ITU-R BS.1770-4 as pyloudnorm measures it), written as
WAV and FLAC (24-bit)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from math import gcd

import numpy as np

TRACK_RATE = 48_000


def resample(audio: np.ndarray, rate: int, target: int = TRACK_RATE) -> np.ndarray:
    if rate == target or len(audio) == 0:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(audio, target // g, rate // g).astype(np.float32)


@dataclass(frozen=True)
class Track:
    samples: np.ndarray  # float32 mono at `rate`
    rate: int
    loudness_lufs: float  # as measured after normalisation
    gain_db: float
    peak_dbfs: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def assemble(placed: list[tuple[float, np.ndarray, int]], *, target_lufs: float, tail_s: float = 0.5) -> Track:
    """Lines `(start seconds, audio, its sample rate)` on one track, then normalised to `target_lufs`."""
    import pyloudnorm

    parts = [(int(round(start * TRACK_RATE)), resample(audio, rate)) for start, audio, rate in placed]
    length = max((at + len(a) for at, a in parts), default=0) + int(tail_s * TRACK_RATE)
    track = np.zeros(max(length, TRACK_RATE), dtype=np.float32)
    for at, audio in parts:
        end = min(at + len(audio), len(track))
        track[at:end] += audio[: end - at]
    meter = pyloudnorm.Meter(TRACK_RATE)  # BS.1770-4, gated
    measured = meter.integrated_loudness(track.astype(np.float64))
    if not np.isfinite(measured):
        raise ValueError("the voice-over is silent: nothing to normalise")
    gain_db = target_lufs - measured
    track = (track * 10 ** (gain_db / 20)).astype(np.float32)
    peak = float(np.max(np.abs(track))) if len(track) else 0.0
    if peak > 0.999:  # keep it from clipping; the report shows the loudness it has
        track *= 0.999 / peak
    final = meter.integrated_loudness(track.astype(np.float64))
    return Track(track, TRACK_RATE, float(final), float(gain_db), float(20 * np.log10(max(np.max(np.abs(track)), 1e-9))))


def encode(track: Track, fmt: str) -> bytes:
    """WAV or FLAC, 24-bit PCM."""
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, track.samples, track.rate, format=fmt.upper(), subtype="PCM_24")
    return out.getvalue()
