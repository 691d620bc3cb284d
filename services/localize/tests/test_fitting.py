"""Fitting dubbed lines into their slots: rate first, smoothed; then stretch within the cap;
then a shorter line; then an overshoot report. Lines never overlap; every line starts on its slot."""

from __future__ import annotations

import numpy as np
import pytest

from helix_localize.fitting import FitSettings, Line, fit, room, smooth, stretch

SR = 16_000
CHARS_PER_S = 12.0  # the fake voice speaks 12 characters a second at rate 1.0


async def fake_synth(lines: list[Line], rates: list[float]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(int(len(line.text) / CHARS_PER_S / rate * SR)).astype(np.float32) * 0.1 for line, rate in zip(lines, rates, strict=True)]


def lines(*specs: tuple[str, float, float]) -> list[Line]:
    out = []
    for n, (text, start, end) in enumerate(specs):
        nxt = specs[n + 1][1] if n + 1 < len(specs) else None
        out.append(Line(f"l{n}", "MARA", text, start, end, nxt))
    return out


SETTINGS = FitSettings(sample_rate=SR, rate_cap=1.3, rate_step=0.1, min_gap_s=2 / 24)


async def test_lines_that_fit_are_left_natural_and_start_on_their_slots() -> None:
    fitted = await fit(lines(("x" * 12, 0.0, 1.5), ("y" * 24, 3.0, 5.5)), fake_synth, None, SETTINGS)
    assert [f.method for f in fitted] == ["natural", "natural"]
    assert [f.start for f in fitted] == [0.0, 3.0] and all(f.rate == 1.0 and f.stretch == 1.0 for f in fitted)


async def test_a_long_line_speeds_up_within_the_cap_and_its_neighbours_follow_smoothly() -> None:
    # line 1 needs 24 chars in 1.6 s of room: 1.25x; neighbours fit naturally but must not jump by more than 0.1
    spec = lines(("x" * 12, 0.0, 1.5), ("y" * 24, 2.0, 3.5), ("z" * 12, 4.0, 5.5))
    fitted = await fit(spec, fake_synth, None, SETTINGS)
    rates = [f.rate for f in fitted]
    assert rates[1] == pytest.approx(24 / CHARS_PER_S / room(spec[1], SETTINGS), abs=0.01) and rates[1] <= 1.3
    assert all(abs(a - b) <= 0.1 + 1e-9 for a, b in zip(rates, rates[1:], strict=False)), rates
    assert all(f.overshoot_ms == 0 for f in fitted)
    for f, nxt in zip(fitted, fitted[1:], strict=False):
        assert f.end <= nxt.start - SETTINGS.min_gap_s + 1e-9, "never into the next line"


async def test_past_the_cap_a_shorter_line_is_asked_for_and_used() -> None:
    asked: list[tuple[str, float]] = []

    async def shorten(long: list[tuple[Line, float]]) -> list[str | None]:
        asked.extend((line.line_id, seconds) for line, seconds in long)
        return ["w" * int(seconds * CHARS_PER_S * 0.9) for _, seconds in long]

    spec = lines(("x" * 60, 0.0, 2.0), ("y" * 10, 4.0, 5.0))
    fitted = await fit(spec, fake_synth, shorten, SETTINGS)
    assert [a[0] for a in asked] == ["l0"]
    assert fitted[0].method == "shortened" and fitted[0].overshoot_ms == 0 and fitted[0].text.startswith("w")
    assert fitted[0].original == "x" * 60, "the shortened line remembers the line it replaces"
    assert fitted[0].rate * fitted[0].stretch <= 1.3 + 1e-9


async def test_what_still_does_not_fit_is_reported_and_faded_not_overlapped() -> None:
    async def no_shorter(long: list[tuple[Line, float]]) -> list[str | None]:
        return [None] * len(long)

    spec = lines(("x" * 80, 0.0, 2.0), ("y" * 10, 3.0, 4.0))
    fitted = await fit(spec, fake_synth, no_shorter, SETTINGS)
    first = fitted[0]
    assert first.method == "overshoot" and first.overshoot_ms > 1000
    assert first.rate * first.stretch == pytest.approx(1.3, abs=0.01), "sped up as far as allowed first"
    assert first.end <= spec[1].start - SETTINGS.min_gap_s + 1e-9
    assert len(first.audio) <= int((first.end - first.start) * SR) + 1 and abs(first.audio[-1]) < 1e-3, "faded out at its limit"
    assert first.report().overshoot_ms == round(first.overshoot_ms, 4) and "audio" not in first.report().model_dump()


def test_smoothing_only_raises_and_respects_the_cap() -> None:
    assert smooth([1.0, 1.0, 1.5, 1.0], 0.1, 1.3) == pytest.approx([1.3, 1.3, 1.3, 1.3])
    assert smooth([1.0, 1.2, 1.0, 1.0], 0.1, 1.3) == pytest.approx([1.1, 1.2, 1.1, 1.0])


def test_stretch_shortens_by_the_factor() -> None:
    audio = np.sin(np.linspace(0, 2000, SR * 2)).astype(np.float32)
    assert len(stretch(audio, 1.25, SR)) == int(round(len(audio) / 1.25))
    assert stretch(audio, 1.0, SR) is audio


def test_rates_snap_up_to_the_grid_so_lines_share_synthesis_calls() -> None:
    assert smooth([1.0, 1.12, 1.0], 0.1, 1.3, grid=0.05) == pytest.approx([1.05, 1.15, 1.05]), "never slower than needed"
    assert smooth([1.0, 1.29], 0.5, 1.3, grid=0.05) == pytest.approx([1.0, 1.3]), "the cap still holds"
    assert smooth([1.1, 1.0], 0.1, 1.3, grid=0.05) == pytest.approx([1.1, 1.0]), "a rate on the grid stays"


async def test_every_shortened_line_is_spoken_again_in_one_call() -> None:
    calls: list[int] = []

    async def counting(batch: list[Line], rates: list[float]) -> list[np.ndarray]:
        calls.append(len(batch))
        return await fake_synth(batch, rates)

    async def shorten(long: list[tuple[Line, float]]) -> list[str | None]:
        return ["w" * 10 for _ in long]

    spec = lines(("x" * 60, 0.0, 2.0), ("y" * 10, 4.0, 5.0), ("z" * 60, 6.0, 8.0), ("v" * 10, 10.0, 11.0))
    fitted = await fit(spec, counting, shorten, SETTINGS)
    assert [f.method for f in fitted].count("shortened") == 2
    assert calls[-1] == 2 and len(calls) == 3, "natural, faster, then both shortened lines together"


async def test_stretching_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # WSOLA is a Python loop per frame: a long dub stretched on the loop kept it from
    # accepting work and recording decisions for seconds
    import threading

    from helix_localize import fitting

    where: list[str] = []
    real = fitting.stretch

    def stretch_noting(audio: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
        where.append(threading.current_thread().name)
        return real(audio, factor, sample_rate)

    async def rate_deaf_synth(batch: list[Line], rates: list[float]) -> list[np.ndarray]:  # a voice whose rate control does little
        return await fake_synth(batch, [1.0] * len(batch))

    monkeypatch.setattr(fitting, "stretch", stretch_noting)
    loop_thread = threading.current_thread().name
    fitted = await fit(lines(("x" * 40, 0.0, 2.6), ("y" * 12, 4.0, 5.5)), rate_deaf_synth, None, SETTINGS)
    assert fitted[0].stretch > 1.0 and where  # the long line was stretched ...
    assert loop_thread not in where  # ... in a worker thread
