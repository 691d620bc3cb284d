"""The subtitle delivery rules per language: one data table (after the Netflix Timed Text
Style Guide, as Subtitle Edit's Netflix quality check applies it).

Reading speed is characters per second, line breaks not counted; adult / children.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from helix.generation.jobs import JobRefused

Audience = Literal["adult", "children"]


@dataclass(frozen=True)
class SubtitleRules:
    language: str
    chars_per_line: int = 42
    max_lines: int = 2
    cps_adult: float = 17.0
    cps_children: float = 13.0
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    min_gap_frames: int = 2
    gap_checks: bool = True  # Japanese skips the gap rules
    italics: bool = True  # no italics for Arabic, Korean, Chinese

    def cps(self, audience: Audience) -> float:
        return self.cps_children if audience == "children" else self.cps_adult


#            language: (chars/line, adult cps, children cps, extra)
_TABLE: dict[str, tuple[int, float, float, dict]] = {
    "en": (42, 20, 17, {}),
    "ar": (42, 20, 17, {"italics": False}),
    "hi": (42, 22, 18, {}),
    "ja": (23, 4, 4, {"min_duration_s": 0.5, "gap_checks": False}),
    "ko": (16, 12, 9, {"italics": False}),
    "zh": (16, 9, 7, {"italics": False}),
    "th": (35, 17, 13, {}),
}


def rules_for(locale: str) -> SubtitleRules:
    """The rules of a BCP 47 locale's language (`ja-JP` → ja); every other language: the default row."""
    language = locale.split("-")[0].lower()
    if language not in _TABLE:
        return SubtitleRules(language=language)
    chars, adult, children, extra = _TABLE[language]
    return SubtitleRules(language=language, chars_per_line=chars, cps_adult=adult, cps_children=children, **extra)


def frame_rate(value: float | str | None) -> Fraction:
    """A frame rate as an exact fraction: 23.976 → 24000/1001, 29.97 → 30000/1001, 25 → 25."""
    if value is None:
        return Fraction(24000, 1001)
    exact = Fraction(str(value))
    nominal = round(exact)
    near_ntsc = exact != nominal and abs(exact - Fraction(nominal * 1000, 1001)) < Fraction(1, 500)  # 23.976, 29.97, 59.94
    rate = Fraction(nominal * 1000, 1001) if near_ntsc else exact
    if not 1 <= rate <= 120:
        raise JobRefused(f"frame rate {value} is outside 1-120 frames per second")
    return rate
