"""The production's timeline: when each line of dialogue is spoken. Every locale's
subtitles and voice-over are fitted to it.

It comes from a timed dialogue list the studio supplies for the approved script (SRT,
WebVTT or TTML, e.g. from the edit), matched to the script's lines; or, when there is none,
from the source-language voice-over Helix synthesizes for the script: its lines laid end
to end with natural pauses, which then becomes the production's timeline. Which one it is
travels with every output (`source`: studio | synthesized).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from helix_localize.source import ScriptLine

LEAD_S, LINE_GAP_S, SCENE_GAP_S = 0.5, 0.4, 1.0


@dataclass(frozen=True)
class TimedLine:
    line_id: str
    scene_id: str
    speaker: str
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Timeline:
    source: Literal["studio", "synthesized"]
    asset_id: str  # the studio's timed source, or the timeline asset Helix stored
    lines: list[TimedLine]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "asset_id": self.asset_id, "lines": [asdict(line) for line in self.lines]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timeline:
        return cls(data["source"], data["asset_id"], [TimedLine(**line) for line in data["lines"]])


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def from_studio(cues: list[tuple[float, float, str]], lines: list[ScriptLine], asset_id: str) -> Timeline:
    """Match the studio's cues to the script's lines: one to one in order when the counts
    agree, else each line to the most similar of the next cues; ValueError if that fails."""
    if len(cues) == len(lines):
        pairs = list(zip(lines, cues, strict=True))
    else:
        pairs, k = [], 0
        for line in lines:
            window = cues[k: k + 4]
            scores = [difflib.SequenceMatcher(None, _norm(line.text), _norm(text)).ratio() for _, _, text in window]
            if not scores or max(scores) < 0.6:
                raise ValueError(f"the timed source ({len(cues)} cues) does not match the script's {len(lines)} lines: "
                                 f"no cue for {line.line_id} ({line.text[:60]!r})")
            best = scores.index(max(scores))
            pairs.append((line, window[best]))
            k += best + 1
    timed = [TimedLine(line.line_id, line.scene_id, line.speaker, line.text, start, end) for line, (start, end, _) in pairs]
    return Timeline("studio", asset_id, sorted(timed, key=lambda t: t.start))


def laid_out(lines: list[ScriptLine], seconds: list[float], asset_id: str) -> Timeline:
    """Lines end to end as Helix's own voice-over speaks them, with pauses (longer between scenes)."""
    timed, t = [], LEAD_S
    for n, (line, duration) in enumerate(zip(lines, seconds, strict=True)):
        if n and line.scene_id != lines[n - 1].scene_id:
            t += SCENE_GAP_S - LINE_GAP_S
        timed.append(TimedLine(line.line_id, line.scene_id, line.speaker, line.text, round(t, 4), round(t + duration, 4)))
        t += duration + LINE_GAP_S
    return Timeline("synthesized", asset_id, timed)
