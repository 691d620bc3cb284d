"""Subtitle events from real dialogue meet each language's rules; bad input is split, merged
or retimed, and whatever cannot be fixed is reported, never passed silently."""

from __future__ import annotations

from fractions import Fraction

import pytest

from helix.generation import JobRefused
from helix_localize import qc
from helix_localize.rules import frame_rate, rules_for
from helix_localize.subtitles import Cue, break_lines, segment, split_to_fit

from .conftest import cues_for

FPS = Fraction(24000, 1001)


@pytest.mark.parametrize("locale", ["en-GB", "de-DE", "es-ES", "ja-JP"])
def test_the_hand_checked_script_passes_qc_in_every_locale(locale: str, earnest_lines: list[dict],
                                                          earnest_timing: list[tuple[float, float, str]]) -> None:
    rules = rules_for(locale)
    result = segment(cues_for(earnest_lines, earnest_timing, locale.split("-")[0]), rules, FPS)
    breaches = qc.check(result.events, rules, FPS)
    assert breaches == [], [f"{b.rule} #{b.event}: {b.message}" for b in breaches]
    assert len(result.events) >= len(earnest_lines)
    spoken = {line["line_id"]: line[locale.split("-")[0]] for line in earnest_lines}
    for line_id, text in spoken.items():  # every word is delivered, in order
        shown = " ".join(" ".join(e.lines) for e in result.events if e.line_id == line_id)
        assert shown.replace(" ", "") == text.replace(" ", "")


def test_rules_table() -> None:
    assert (rules_for("ja-JP").cps_adult, rules_for("ja").chars_per_line, rules_for("ja").min_duration_s) == (4, 23, 0.5)
    assert (rules_for("zh-Hans").chars_per_line, rules_for("ko").cps("children"), rules_for("en-US").cps("adult")) == (16, 9, 20)
    assert rules_for("pt-BR").chars_per_line == 42 and rules_for("pt-BR").cps("children") == 13
    assert frame_rate(23.976) == FPS and frame_rate("25") == 25 and frame_rate(None) == FPS
    with pytest.raises(JobRefused):
        frame_rate(0)


def test_lines_break_at_natural_points() -> None:
    rules = rules_for("en")
    assert break_lines("Did you hear what I was playing, Lane? I did not, sir, not a note.", rules) == \
        ["Did you hear what I was playing, Lane?", "I did not, sir, not a note."]
    lines = break_lines("I don't think it was polite of you to listen to the music", rules)
    assert len(lines) == 2 and not lines[0].lower().endswith((" the", " to", " of"))
    assert all(len(line) <= 16 for line in break_lines("我们今天晚上一起去看那部新的电影吧，好不好呀", rules_for("zh")))


def test_deliberately_bad_input_is_fixed_or_flagged_never_passed() -> None:
    rules = rules_for("en")
    long_line = ("The lamp room stairs are slick with salt, the lens is cracked, the keeper is gone, and the storm will not wait "
                 "for any of us tonight. We climb now, we light it by hand, and we hold it until the boats are home, every one of "
                 "them, or we do not come down at all, do you hear me?")
    assert len(long_line) > 250
    cues = [
        Cue("a", "MARA", long_line, 1.0, 16.0),  # 300 characters
        Cue("b", "TOM", "Go.", 17.0, 17.2),  # a 0.2 s event
        Cue("c", "MARA", "Now, before the tide turns.", 17.1, 19.0),  # overlaps b
        Cue("d", "TOM", "Right behind you.", 19.05, 21.0),  # one frame after c
    ]
    result = segment(cues, rules, FPS)
    assert {"split", "overlap", "min_gap", "min_duration"} <= {f.rule for f in result.fixes}
    assert len([e for e in result.events if e.line_id == "a"]) >= 4
    assert ["-Go.", "-Now, before the tide turns."] in [e.lines for e in result.events], "two quick speakers share one event"
    assert qc.check(result.events, rules, FPS) == [], "everything here could be fixed"

    # No time to read it at all: a long line squeezed between two others. Reported, not hidden.
    squeezed = [Cue("x", "A", "Fine.", 1.0, 2.0), Cue("y", "B", "I have never in my whole life heard anything so absurd!", 2.1, 2.5),
                Cue("z", "A", "Well.", 2.6, 4.0)]
    result = segment(squeezed, rules, FPS)
    breaches = qc.check(result.events, rules, FPS)
    assert "reading_speed" in {b.rule for b in breaches}
    report = qc.report(result.events, rules, FPS, "adult", result.fixes)
    assert report["passed"] is False and report["breaches"][0]["rule"] in qc.CHECKS


def test_split_to_fit_keeps_every_character() -> None:
    rules = rules_for("ja")
    text = "正確さより表現力で弾くのさ、誰でも正確には弾けるが、私は素晴らしい表現で弾くのだ。それが芸術というものだよ"
    pieces = split_to_fit(text, rules)
    assert "".join(pieces) == text and all(len(p) <= 46 for p in pieces)
