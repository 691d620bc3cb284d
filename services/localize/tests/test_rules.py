"""Subtitle rules per language and frame rates as exact fractions: the language of any locale
finds its row (or the default one), NTSC rates snap to their 1000/1001 fractions, other rates
stay as given, and rates no picture has are refused."""

from __future__ import annotations

from fractions import Fraction

import pytest

from helix.generation import JobRefused
from helix_localize.rules import SubtitleRules, frame_rate, rules_for


def test_a_locale_reads_its_languages_row_whatever_its_region_or_case() -> None:
    assert rules_for("JA-jp") == rules_for("ja") == SubtitleRules(language="ja", chars_per_line=23, cps_adult=4, cps_children=4,
                                                                    min_duration_s=0.5, gap_checks=False)
    assert (rules_for("ko-KR").italics, rules_for("ar-EG").italics, rules_for("th-TH").italics) == (False, False, True)
    assert (rules_for("hi-IN").cps("adult"), rules_for("hi-IN").cps("children")) == (22, 18)


def test_a_language_without_a_row_gets_the_default_rules_under_its_own_name() -> None:
    rules = rules_for("sv-SE")
    assert rules == SubtitleRules(language="sv") and rules.chars_per_line == 42 and rules.max_lines == 2
    assert rules.cps("adult") == 17 and rules.cps("children") == 13 and rules.min_duration_s == pytest.approx(5 / 6)
    assert rules.gap_checks and rules.italics


@pytest.mark.parametrize(("given", "exact"), [(23.976, Fraction(24000, 1001)), ("29.97", Fraction(30000, 1001)),
                                              (59.94, Fraction(60000, 1001)), (119.88, Fraction(120000, 1001)),
                                              (24, Fraction(24)), (25.0, Fraction(25)), ("12.5", Fraction(25, 2)),
                                              (5, Fraction(5)), (1, Fraction(1)), (2, Fraction(2))])
def test_frame_rates_are_exact_fractions(given: float | str, exact: Fraction) -> None:
    assert frame_rate(given) == exact


@pytest.mark.parametrize("given", [0, 0.5, 120.5, "240"])
def test_frame_rates_outside_one_to_120_are_refused(given: float | str) -> None:
    with pytest.raises(JobRefused, match=f"frame rate {given} is outside 1-120 frames per second"):
        frame_rate(given)
