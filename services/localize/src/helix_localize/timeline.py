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

from helix.documents import TimedLine, Timeline
from helix.generation import JobRefused
from helix_localize.source import ScriptLine

LEAD_S, LINE_GAP_S, SCENE_GAP_S = 0.5, 0.4, 1.0
__all__ = ["TimedLine", "Timeline", "from_studio", "laid_out"]


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def from_studio(cues: list[tuple[float, float, str]], lines: list[ScriptLine], asset_id: str) -> Timeline:
    """Match the studio's cues to the script's lines: one to one in order when the counts
    agree, else each line to the most similar of the next cues; `JobRefused` if that fails."""
    if len(cues) == len(lines):
        pairs = list(zip(lines, cues, strict=True))
    else:
        pairs, k = [], 0
        for line in lines:
            window = cues[k: k + 4]
            scores = [difflib.SequenceMatcher(None, _norm(line.text), _norm(text)).ratio() for _, _, text in window]
            if not scores or max(scores) < 0.6:
                raise JobRefused(f"the timed source ({len(cues)} cues) does not match the script's {len(lines)} lines: "
                                 f"no cue for {line.line_id} ({line.text[:60]!r})")
            best = scores.index(max(scores))
            pairs.append((line, window[best]))
            k += best + 1
    timed = [TimedLine(line_id=line.line_id, scene_id=line.scene_id, speaker=line.speaker, text=line.text, start=start, end=end)
             for line, (start, end, _) in pairs]
    return Timeline(source="studio", asset_id=asset_id, lines=sorted(timed, key=lambda t: t.start))


def laid_out(lines: list[ScriptLine], seconds: list[float], asset_id: str) -> Timeline:
    """Lines end to end as Helix's own voice-over speaks them, with pauses (longer between scenes)."""
    timed, t = [], LEAD_S
    for n, (line, duration) in enumerate(zip(lines, seconds, strict=True)):
        if n and line.scene_id != lines[n - 1].scene_id:
            t += SCENE_GAP_S - LINE_GAP_S
        timed.append(TimedLine(line_id=line.line_id, scene_id=line.scene_id, speaker=line.speaker, text=line.text, start=round(t, 4),
                               end=round(t + duration, 4)))
        t += duration + LINE_GAP_S
    return Timeline(source="synthesized", asset_id=asset_id, lines=timed)
