"""The subtitle quality check: every rule an output breaks, like a subtitle editor's Netflix
check, as a report a reviewer (and the review service's pre-screening) reads.

Checks: text present, line length, line count, reading speed, minimum and maximum
duration, overlaps, minimum gap (2 frames), bridging gaps (3 to fps/2−1 frames), frame
alignment, white space, italics where the language has none.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from helix_localize.rules import Audience, SubtitleRules
from helix_localize.subtitles import Event, Fix

CHECKS = ("text", "line_length", "line_count", "reading_speed", "min_duration", "max_duration", "overlap", "min_gap",
          "bridge_gap", "frame_alignment", "white_space", "italics")


@dataclass(frozen=True)
class Breach:
    rule: str
    event: int  # 1-based, as subtitle files number them
    message: str


def check(events: list[Event], rules: SubtitleRules, fps: Fraction, audience: Audience = "adult") -> list[Breach]:
    f = float(fps)
    cps = rules.cps(audience)
    bridge_max = math.ceil(f / 2) - 1
    found: list[Breach] = []

    def breach(rule: str, n: int, message: str) -> None:
        found.append(Breach(rule, n, message))

    for n, event in enumerate(events, start=1):
        if not event.text.strip():
            breach("text", n, "empty event")
        for line in event.lines:
            if len(line) > rules.chars_per_line:
                breach("line_length", n, f"{len(line)} characters on a line (at most {rules.chars_per_line})")
            if line != line.strip() or "  " in line:
                breach("white_space", n, "leading, trailing or double spaces")
        if len(event.lines) > rules.max_lines:
            breach("line_count", n, f"{len(event.lines)} lines (at most {rules.max_lines})")
        duration = event.duration
        if duration > 0 and event.chars / duration > cps + 1e-6:
            breach("reading_speed", n, f"{event.chars / duration:.1f} characters/s (at most {cps:g})")
        if duration < rules.min_duration_s - 0.5 / f:
            breach("min_duration", n, f"{duration:.3f}s on screen (at least {rules.min_duration_s:.3f}s)")
        if duration > rules.max_duration_s + 0.5 / f:
            breach("max_duration", n, f"{duration:.3f}s on screen (at most {rules.max_duration_s:g}s)")
        for edge in (event.start, event.end):
            if abs(edge * f - round(edge * f)) > 0.0005 * f:  # files carry milliseconds: within half of one
                breach("frame_alignment", n, f"{edge:.4f}s is not on a frame boundary at {float(fps):.3f} fps")
                break
        if not rules.italics and "<i>" in event.text:
            breach("italics", n, f"italics are not used for {rules.language}")
        if n < len(events):
            space = round((events[n].start - event.end) * f)
            if space < 0:
                breach("overlap", n, f"overlaps the next event by {-space} frames")
            elif rules.gap_checks and space < rules.min_gap_frames:
                breach("min_gap", n, f"{space} frames before the next event (at least {rules.min_gap_frames})")
            elif rules.gap_checks and rules.min_gap_frames < space <= bridge_max:
                breach("bridge_gap", n, f"a {space}-frame gap (close gaps of {rules.min_gap_frames + 1}-{bridge_max} frames to "
                                        f"{rules.min_gap_frames})")
    return found


def report(events: list[Event], rules: SubtitleRules, fps: Fraction, audience: Audience, fixes: list[Fix]) -> dict[str, Any]:
    """The QC report stored beside the subtitle files."""
    breaches = check(events, rules, fps, audience)
    return {
        "language": rules.language,
        "audience": audience,
        "frame_rate": f"{fps.numerator}/{fps.denominator}",
        "rules": asdict(rules) | {"reading_speed_cps": rules.cps(audience)},
        "checks": list(CHECKS),
        "events": len(events),
        "passed": not breaches,
        "breaches": [asdict(b) for b in breaches],
        "fixes": [asdict(f) for f in fixes],
    }
