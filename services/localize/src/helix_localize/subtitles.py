"""Subtitle events from a locale's timed lines, made to meet the language's delivery rules.

Each translated line (a `Cue`: its text and the time it is spoken) becomes one or more
events: the text is split where it reads naturally (sentences, then clauses, then words;
any character for scripts without spaces) until each piece fits the line length and line
count, the pieces share the spoken time by length and may run into the silence after it
for reading speed and minimum duration, and then the whole list is retimed: events on
frame boundaries, at least 2 frames apart, gaps of 3 to fps/2−1 frames closed to 2, an
event too short merged with its neighbour from the same line, overlaps removed. Every
change is recorded (`Fix`); what still breaks a rule is for `qc.py` to report.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction

from helix_localize.rules import Audience, SubtitleRules

# Scripts written without spaces between words: any character boundary may break a line.
_NO_SPACES = ("ja", "zh", "th")
_DASH_SPACE = ("fr", "es", "it", "pt")  # dual-speaker events: "- " in these languages, "-" elsewhere
_NO_BREAK_BEFORE = set("、。，．,.!?！？」』）)]}:;：；…ー")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？…])\s*")
_CLAUSE_END = re.compile(r"(?<=[,;:—、，；：])\s*")
# Short words a line should not end on (it reads better to carry them to the next line).
_DANGLING = {
    "en": {"a", "an", "the", "of", "to", "and", "or", "but", "in", "on", "at", "for", "with", "my", "your", "his", "her", "i"},
    "de": {"der", "die", "das", "ein", "eine", "und", "oder", "aber", "zu", "mit", "von", "im", "am", "ich"},
    "es": {"el", "la", "los", "las", "un", "una", "y", "o", "pero", "de", "a", "en", "con", "por", "mi"},
    "fr": {"le", "la", "les", "un", "une", "et", "ou", "mais", "de", "à", "en", "avec", "pour", "je", "mon", "ma"},
}


@dataclass(frozen=True)
class Cue:
    """One line of dialogue in a locale, and when it is spoken (seconds)."""

    line_id: str
    speaker: str
    text: str
    start: float
    end: float


@dataclass
class Event:
    start: float
    end: float
    lines: list[str]
    line_id: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def chars(self) -> int:
        return sum(len(line) for line in self.lines)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Fix:
    """Something the segmenter changed to meet a rule."""

    rule: str
    line_id: str
    detail: str


@dataclass
class Segmented:
    events: list[Event]
    fixes: list[Fix] = field(default_factory=list)


def clean(text: str) -> str:
    """One line of subtitle text: no control characters, single spaces, NFC."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = text.replace("\ufffd", "")
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _breaks(text: str, language: str) -> list[int]:
    """Positions where a line may break (index of the first character of the next line)."""
    if language in _NO_SPACES:
        return [i for i in range(1, len(text)) if text[i] not in _NO_BREAK_BEFORE and not text[i].isspace()]
    return [m.end() for m in re.finditer(r" +", text)]


def break_lines(text: str, rules: SubtitleRules) -> list[str]:
    """The text on at most `max_lines` lines, broken at the most natural point that fits:
    after punctuation if possible, never after a short dangling word, lengths balanced with
    the bottom line slightly longer. Text that cannot fit comes back on as few lines as it can."""
    limit = rules.chars_per_line
    if len(text) <= limit:
        return [text]
    best: tuple[float, list[str]] | None = None
    for at in _breaks(text, rules.language):
        top, bottom = text[:at].rstrip(), text[at:].lstrip()
        if not top or not bottom:
            continue
        over = max(0, len(top) - limit) + max(0, len(bottom) - limit)
        cost = over * 1000 + abs(len(top) - len(bottom))
        cost += -25 if top[-1] in ".!?。！？…" else (-8 if top[-1] in ",;:、，；：—–" else 0)
        cost += 12 if top.split(" ")[-1].lower() in _DANGLING.get(rules.language, set()) else 0
        cost += 2 if len(top) > len(bottom) else 0  # bottom-heavy reads better
        if best is None or cost < best[0]:
            best = (cost, [top, bottom])
    return best[1] if best else [text]


def fits(text: str, rules: SubtitleRules) -> bool:
    lines = break_lines(text, rules)
    return len(lines) <= rules.max_lines and all(len(line) <= rules.chars_per_line for line in lines)


def split_to_fit(text: str, rules: SubtitleRules) -> list[str]:
    """Pieces of `text` that each fit one event (line length × lines), split at sentences,
    then clauses, then words (characters for scripts without spaces), nearest the middle."""
    if fits(text, rules) or len(text) <= 1:
        return [text]
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        cuts = [m.end() for m in pattern.finditer(text) if 0 < m.end() < len(text)]
        if cuts:
            return _split_at(text, min(cuts, key=lambda c: abs(c - len(text) / 2)), rules)
    cuts = _breaks(text, rules.language) or list(range(1, len(text)))
    return _split_at(text, min(cuts, key=lambda c: abs(c - len(text) / 2)), rules)


def _split_at(text: str, at: int, rules: SubtitleRules) -> list[str]:
    return [*split_to_fit(text[:at].strip(), rules), *split_to_fit(text[at:].strip(), rules)]


def segment(cues: list[Cue], rules: SubtitleRules, fps: Fraction, audience: Audience = "adult") -> Segmented:
    """Events for `cues` that meet `rules` wherever the timing allows (see the module)."""
    frame = 1 / float(fps)
    gap = rules.min_gap_frames * frame
    cps = rules.cps(audience)
    fixes: list[Fix] = []
    events: list[Event] = []
    ordered = sorted((c for c in cues if clean(c.text)), key=lambda c: (c.start, c.end))
    for i, cue in enumerate(ordered):
        text = clean(cue.text)
        start, end = cue.start, max(cue.end, cue.start + frame)
        limit = ordered[i + 1].start - gap if i + 1 < len(ordered) else end + rules.max_duration_s
        if end > limit:
            fixes.append(Fix("overlap", cue.line_id, f"spoken until {end:.3f}s but the next line starts at {limit + gap:.3f}s: ended before it"))
            end = max(start + frame, limit)
        pieces = split_to_fit(text, rules)
        if len(pieces) > 1:
            fixes.append(Fix("split", cue.line_id, f"{len(text)} characters split into {len(pieces)} events"))
        events += _timed(pieces, cue, start, end, max(end, limit), rules, cps, gap, fixes)
    for event in events:
        event.lines = break_lines(" ".join(event.lines), rules)
    events = _retime(events, rules, fps, fixes)
    return Segmented(events, fixes)


def _timed(pieces: list[str], cue: Cue, start: float, end: float, limit: float, rules: SubtitleRules, cps: float, gap: float,
           fixes: list[Fix]) -> list[Event]:
    """Share [start, end] among the pieces by length; let them run on to `limit` for reading speed."""
    sizes = [max(1, len(p)) for p in pieces]
    needs = [max(size / cps, rules.min_duration_s) for size in sizes]
    gaps = gap * (len(pieces) - 1)
    spoken, room = end - start, limit - start
    if sum(needs) + gaps <= spoken:  # the speech is long enough: spread it by length
        durations = [spoken * size / sum(sizes) - gaps / len(pieces) for size in sizes]
    elif sum(needs) + gaps <= room:  # run on into the silence after the line
        durations = needs
        fixes.append(Fix("reading_speed", cue.line_id, f"held {sum(needs) + gaps - spoken:.2f}s past the end of the speech to be readable"))
    else:  # not enough time: share what there is (QC reports the reading speed)
        scale = max(room - gaps, 0.0) / sum(needs)
        durations = [n * scale for n in needs]
    events, t = [], start
    for piece, duration in zip(pieces, durations, strict=True):
        duration = min(duration, rules.max_duration_s)
        events.append(Event(t, t + duration, [piece], cue.line_id))
        t += duration + gap
    return events


def _retime(events: list[Event], rules: SubtitleRules, fps: Fraction, fixes: list[Fix]) -> list[Event]:
    """Frames, gaps, bridging, minimum durations (see the module)."""
    f = float(fps)
    spans = [[round(e.start * f), max(round(e.end * f), round(e.start * f) + 1)] for e in events]
    bridge_max = math.ceil(f / 2) - 1
    for k in range(len(spans) - 1):
        current, nxt = spans[k], spans[k + 1]
        space = nxt[0] - current[1]
        if space < rules.min_gap_frames:
            current[1] = nxt[0] - rules.min_gap_frames
            fixes.append(Fix("min_gap", events[k].line_id, f"ended {rules.min_gap_frames - space} frames earlier to leave {rules.min_gap_frames}"))
        elif rules.gap_checks and rules.min_gap_frames < space <= bridge_max:
            current[1] = nxt[0] - rules.min_gap_frames
            fixes.append(Fix("bridge_gap", events[k].line_id, f"a {space}-frame gap closed to {rules.min_gap_frames}"))
    min_frames = math.ceil(rules.min_duration_s * f - 1e-9)
    dash = "- " if rules.language in _DASH_SPACE else "-"
    out: list[tuple[list[int], Event]] = []
    k = 0
    while k < len(events):
        event, span = events[k], spans[k]
        short = span[1] - span[0] < min_frames
        if short and out and out[-1][1].line_id == event.line_id and fits(" ".join([*out[-1][1].lines, *event.lines]), rules):
            previous_span, previous = out[-1]
            previous.lines = [" ".join([*previous.lines, *event.lines])]
            previous_span[1] = span[1]
            fixes.append(Fix("min_duration", event.line_id, "an event too short to read was merged into the one before"))
            k += 1
            continue
        if short and k + 1 < len(events) and events[k + 1].line_id != event.line_id and rules.max_lines >= 2:
            two = [f"{dash}{' '.join(event.lines)}", f"{dash}{' '.join(events[k + 1].lines)}"]
            if all(len(line) <= rules.chars_per_line for line in two):
                out.append(([span[0], spans[k + 1][1]], Event(0, 0, two, event.line_id)))
                fixes.append(Fix("min_duration", event.line_id, f"too short alone: shown with the next speaker's line ({events[k + 1].line_id})"))
                k += 2
                continue
        out.append((span, Event(0, 0, list(event.lines), event.line_id)))
        k += 1
    return [Event(s / f, max(e, s + 1) / f, event.lines, event.line_id) for (s, e), event in out]
