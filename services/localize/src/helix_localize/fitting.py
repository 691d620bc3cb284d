"""Fitting dubbed lines into their slots on the timeline, in the order that sounds best:

1. synthesize every line at its natural rate;
2. a line longer than its room is synthesized again faster, with VITS's own rate control,
   and the rates are smoothed over neighbouring lines so the speed never jumps by more than
   `rate_step` from one line to the next (a neighbour speeds up a little rather than one
   line a lot);
3. if still long, the audio is time-stretched (WSOLA, no pitch change) — the total speed-up
   never beyond `rate_cap` (1.3× by default);
4. if still long, a shorter adaptation of the line is asked for (the writer's
   length-targeted rewrite) and fitted the same way;
5. only then the overshoot is reported, in ms, for a person; the line is faded out at its
   limit, so lines never overlap.
A line's room is its slot plus up to half of the silence after it (never closer than
`min_gap_s` to the next line). Lines are never slowed down unless `allow_slowdown`; every
line starts exactly at its slot. Each line's report: slot, start, end, rate, stretch,
overshoot and what was done.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from pydantic import ConfigDict, Field

from helix.documents import FittedLine

Synthesize = Callable[[list["Line"], list[float]], Awaitable[list[np.ndarray]]]
# Shorter adaptations of the lines that do not fit (each with its room in seconds), all at once.
Shorten = Callable[[list[tuple["Line", float]]], Awaitable[list[str | None]]]


@dataclass(frozen=True)
class Line:
    line_id: str
    speaker: str
    text: str
    start: float  # the slot on the timeline (seconds)
    end: float
    next_start: float | None  # when the next line starts (None: the last line)


class Fitted(FittedLine):
    """A line as it is placed (`helix.documents.FittedLine`: what the timing report records),
    with its audio and, for a shortened line, the text it replaces."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    audio: np.ndarray = Field(default_factory=lambda: np.zeros(0, np.float32), exclude=True, repr=False)
    original: str | None = Field(None, exclude=True)  # a shortened line: the text it replaces

    def report(self) -> FittedLine:
        row = self.model_dump()
        for key in ("slot_start", "slot_end", "start", "end", "rate", "stretch", "overshoot_ms"):
            row[key] = round(float(row[key]), 4)
        return FittedLine.model_validate(row)


@dataclass(frozen=True)
class FitSettings:
    sample_rate: int
    rate_cap: float = 1.3
    rate_step: float = 0.1
    allow_slowdown: bool = False
    min_rate: float = 0.8
    borrow: float = 0.5  # share of the silence after a line it may use
    min_gap_s: float = 2 / 24
    fade_s: float = 0.03
    rate_grid: float = 0.05  # rates snap up to this grid: lines at one rate share a synthesis call


def room(line: Line, settings: FitSettings) -> float:
    """Seconds the line may take: its slot, plus some of the silence after it."""
    if line.next_start is None:
        return (line.end - line.start) + 1.0
    silence = max(0.0, line.next_start - line.end)
    limit = min(line.next_start - settings.min_gap_s, line.end + settings.borrow * silence)
    return max(limit - line.start, 0.05)


def smooth(rates: list[float], step: float, cap: float, grid: float = 0.0) -> list[float]:
    """Each rate raised so that neighbours differ by at most `step` (never lowered), then up
    to the next multiple of `grid` (none: 0), capped."""
    out = list(rates)
    for i in range(len(out)):
        for j in range(len(out)):
            out[i] = max(out[i], rates[j] - step * abs(i - j))
    if grid > 0:
        out = [math.ceil(round(r / grid, 6)) * grid for r in out]
    return [min(round(r, 6), cap) for r in out]


def stretch(audio: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """`audio` played `factor` times faster without changing its pitch (WSOLA, audiotsm: MIT)."""
    if factor <= 1.0001 or len(audio) < sample_rate // 20:
        return audio
    from audiotsm import wsola
    from audiotsm.io.array import ArrayReader, ArrayWriter

    reader, writer = ArrayReader(audio[np.newaxis, :].astype(np.float32)), ArrayWriter(1)
    wsola(1, speed=factor).run(reader, writer)
    out = writer.data[0].astype(np.float32)
    target = int(round(len(audio) / factor))
    return out[:target] if len(out) >= target else np.pad(out, (0, target - len(out)))


async def fit(lines: list[Line], synthesize: Synthesize, shorten: Shorten | None, settings: FitSettings) -> list[Fitted]:
    sr = settings.sample_rate
    rooms = [room(line, settings) for line in lines]
    natural = await synthesize(lines, [1.0] * len(lines))
    needed = [max(len(a) / sr / r, 0.0) for a, r in zip(natural, rooms, strict=True)]
    floor = settings.min_rate if settings.allow_slowdown else 1.0  # slower than natural only when asked
    wanted = [max(floor, n) for n in needed]
    rates = smooth(wanted, settings.rate_step, settings.rate_cap, settings.rate_grid)
    audio = list(natural)
    faster = [i for i, r in enumerate(rates) if abs(r - 1.0) > 1e-3]
    if faster:
        again = await synthesize([lines[i] for i in faster], [rates[i] for i in faster])
        for i, a in zip(faster, again, strict=True):
            audio[i] = a
    # Placing stretches audio (WSOLA, a Python loop per frame): seconds for a long dub, so in a
    # thread, never on the event loop that accepts work and records decisions.
    fitted = await asyncio.to_thread(_place_all, lines, audio, rates, rooms, settings)
    long = [i for i, item in enumerate(fitted) if item.overshoot_ms > 0]
    if long and shorten is not None:  # every line that does not fit asks at once
        shorter_lines = await shorten([(lines[i], rooms[i]) for i in long])
        retry = [(i, Line(lines[i].line_id, lines[i].speaker, shorter, lines[i].start, lines[i].end, lines[i].next_start))
                 for i, shorter in zip(long, shorter_lines, strict=True) if shorter and shorter.strip() and shorter != lines[i].text]
        redone = await synthesize([line for _, line in retry], [rates[i] for i, _ in retry]) if retry else []  # in one go
        candidates = await asyncio.to_thread(_place_all, [line for _, line in retry], redone, [rates[i] for i, _ in retry],
                                             [rooms[i] for i, _ in retry], settings)
        for (i, _line), candidate in zip(retry, candidates, strict=True):
            item = fitted[i]
            if candidate.overshoot_ms < item.overshoot_ms:
                candidate.method = "shortened" if candidate.overshoot_ms == 0 else "shortened+overshoot"
                candidate.original = lines[i].text
                fitted[i] = candidate
    for item in fitted:  # never into the next line: fade out at the limit
        if item.overshoot_ms > 0:
            keep = int((item.end - item.start) * sr)
            fade = min(int(settings.fade_s * sr), keep)
            item.audio = item.audio[:keep].copy()
            if fade:
                item.audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return fitted


def _place_all(lines: list[Line], audio: list[np.ndarray], rates: list[float], rooms: list[float], settings: FitSettings) -> list[Fitted]:
    return [_place(line, a, rate, space, settings) for line, a, rate, space in zip(lines, audio, rates, rooms, strict=True)]


def _place(line: Line, audio: np.ndarray, rate: float, space: float, settings: FitSettings) -> Fitted:
    sr = settings.sample_rate
    seconds = len(audio) / sr
    factor = 1.0
    method = "natural" if abs(rate - 1.0) < 1e-3 else "rate"
    if seconds > space:
        factor = min(seconds / space, settings.rate_cap / rate)  # the whole speed-up stays within the cap
        if factor > 1.0001:
            audio = stretch(audio, factor, sr)
            method = "rate+stretch" if rate > 1.0 else "stretch"
            seconds = len(audio) / sr
    overshoot = max(0.0, seconds - space)
    end = line.start + min(seconds, space)
    return Fitted(line_id=line.line_id, speaker=line.speaker, text=line.text, slot_start=line.start, slot_end=line.end, start=line.start,
                  end=end, rate=rate, stretch=factor, overshoot_ms=overshoot * 1000, method="overshoot" if overshoot > 0 else method,
                  audio=audio)
