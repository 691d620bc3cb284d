"""The subtitle quality check: each rule caught on a made-up event that breaks it (and only it),
the limits themselves allowed, the gap rules per language, and the report a reviewer reads."""

from __future__ import annotations

from fractions import Fraction

import pytest

from helix.documents import SubtitleQcReport
from helix_localize.qc import CHECKS, check, report
from helix_localize.rules import rules_for
from helix_localize.subtitles import Event, Fix

PAL = Fraction(25)  # 25 fps: a frame is exactly 40 ms
EN = rules_for("en")


def event(start: float, end: float, *lines: str, line_id: str = "s1-l1") -> Event:
    return Event(start, end, list(lines) or ["Tea, Lane."], line_id)


def rules_broken(*events: Event, locale: str = "en", fps: Fraction = PAL, audience: str = "adult") -> list[tuple[str, int]]:
    return [(b.rule, b.event) for b in check(list(events), rules_for(locale), fps, audience)]  # type: ignore[arg-type]


@pytest.mark.parametrize(("broken", "rule"), [
    (event(1.0, 3.0, ""), "text"),
    (event(1.0, 4.0, "x" * 43), "line_length"),
    (event(1.0, 3.0, "Tea,", "Lane,", "now."), "line_count"),
    (event(1.0, 3.0, " Tea, Lane."), "white_space"),
    (event(1.0, 3.0, "Tea,  Lane."), "white_space"),
    (event(1.0, 3.0, "y" * 41 + ".", "A moment, sir."), "reading_speed"),
    (event(1.0, 1.6), "min_duration"),
    (event(1.0, 8.2), "max_duration"),
    (event(1.01, 3.0), "frame_alignment"),
])
def test_each_rule_is_caught_on_an_event_that_breaks_it(broken: Event, rule: str) -> None:
    assert rules_broken(broken) == [(rule, 1)]


def test_the_limits_themselves_pass() -> None:
    assert rules_broken(event(1.0, 4.0, "x" * 42, "y" * 18)) == [], "42 characters a line, 60 in 3 s: 20 a second"
    assert rules_broken(event(1.0, 1.84)) == [], "a frame's rounding below 5/6 s is allowed"
    assert rules_broken(event(0.0, 7.0)) == []
    film = Fraction(24000, 1001)
    assert rules_broken(event(0.042, 2.044), fps=film) == [], "files carry milliseconds: frame 1 is 0.042 s, frame 49 2.044 s"


def test_reading_speed_is_the_audiences() -> None:
    spoken = event(1.0, 3.0, "x" * 36)  # 18 characters a second
    assert rules_broken(spoken) == [] and rules_broken(spoken, audience="children") == [("reading_speed", 1)]


@pytest.mark.parametrize(("gap_frames", "rule"), [(-2, "overlap"), (0, "min_gap"), (1, "min_gap"), (2, None), (3, "bridge_gap"),
                                                 (12, "bridge_gap"), (13, None)])
def test_the_gap_to_the_next_event(gap_frames: int, rule: str | None) -> None:
    first, second = event(1.0, 3.0), event(3.0 + gap_frames / 25, 5.0 + gap_frames / 25, line_id="s1-l2")
    assert rules_broken(first, second) == ([(rule, 1)] if rule else [])


def test_japanese_skips_the_gap_rules_and_languages_without_italics_flag_them() -> None:
    close = [event(1.0, 2.0, "お茶"), event(2.04, 3.0, "はい")]
    assert rules_broken(*close) == [("min_gap", 1)] and rules_broken(*close, locale="ja") == []
    assert rules_broken(event(1.0, 3.0, "<i>Tea, Lane.</i>"), locale="ar") == [("italics", 1)]
    assert rules_broken(event(1.0, 3.0, "<i>Tea, Lane.</i>")) == []


def test_the_report_names_every_check_its_rules_and_what_was_fixed() -> None:
    events = [event(1.0, 3.0), event(3.04, 5.0, "x" * 50, line_id="s1-l2")]
    fixes = [Fix("min_gap", "s1-l1", "closed a 3-frame gap")]
    body = report(events, EN, Fraction(24000, 1001), "children", fixes)
    parsed = SubtitleQcReport.model_validate(body)
    assert parsed.language == "en" and parsed.audience == "children" and parsed.frame_rate == "24000/1001"
    assert parsed.checks == list(CHECKS) and parsed.events == 2
    assert parsed.rules["reading_speed_cps"] == 17 and parsed.rules["chars_per_line"] == 42
    assert not parsed.passed and {b.rule for b in parsed.breaches} >= {"line_length", "reading_speed"}
    assert all(b.event == 2 for b in parsed.breaches if b.rule == "line_length")
    assert [(f.rule, f.line_id, f.detail) for f in parsed.fixes] == [("min_gap", "s1-l1", "closed a 3-frame gap")]
    assert report([event(1.0, 3.0)], EN, PAL, "adult", [])["passed"] is True
