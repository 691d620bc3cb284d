"""Locked terms: character names, places, a production's glossary and market-formatted
values never get mangled by translation.

For each line, the locked terms it contains are protected in two ways, the second one
guaranteed:
1. placeholders: each term becomes `⟦n⟧` before translation and is put back after, if the
   model kept every placeholder exactly once (good models usually do);
2. otherwise segments: the text between the terms is translated piece by piece and the
   terms are set back in place, untouched.
Then every locked term of the source line is looked for in the target line; a miss is a
finding for the reviewer, never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Translate = Callable[[list[str]], Awaitable[list[str]]]
_PLACEHOLDER = "⟦{}⟧"
_PLACEHOLDER_RE = re.compile(r"⟦(\d+)⟧")


@dataclass(frozen=True)
class LockedTerm:
    text: str
    kind: str  # character | place | glossary | market
    rendering: str | None = None  # how it must appear in the target (a market format); default: as is

    @property
    def target(self) -> str:
        return self.rendering or self.text


@dataclass
class ProtectedLine:
    """A line's translation with its locked-term bookkeeping."""

    source: str
    target: str = ""
    terms: list[LockedTerm] = field(default_factory=list)
    method: str = "plain"  # plain | placeholders | segments
    missing: list[str] = field(default_factory=list)


def _pattern(term: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in term.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def find_terms(text: str, terms: list[LockedTerm]) -> list[tuple[int, int, LockedTerm]]:
    """Non-overlapping occurrences of locked terms in `text`, longest first where they overlap;
    each as the line wrote it ("Lane" for the character LANE), unless it has a rendering."""
    spans: list[tuple[int, int, LockedTerm]] = []
    for term in sorted(terms, key=lambda t: -len(t.text)):
        for match in _pattern(term.text).finditer(text):
            if all(match.end() <= s or match.start() >= e for s, e, _ in spans):
                spans.append((match.start(), match.end(), LockedTerm(match[0], term.kind, term.rendering)))
    return sorted(spans, key=lambda s: s[0])


def _placing(targets: list[str]) -> Callable[[re.Match[str]], str]:
    """Puts back the term whose placeholder ⟦n⟧ the model kept."""
    return lambda match: targets[int(match[1]) - 1]


async def translate_locked(lines: list[str], terms: list[LockedTerm], translate: Translate, *, joiner: str = " ") -> list[ProtectedLine]:
    """Translate `lines` (in batches through `translate`) keeping every locked term; `joiner`
    puts segments back together ("" for languages written without spaces)."""
    out = [ProtectedLine(source=line) for line in lines]
    found = [find_terms(line, terms) for line in lines]
    masked: list[str] = []
    for line, spans in zip(lines, found, strict=True):
        text, cursor = "", 0
        for n, (start, end, _) in enumerate(spans, start=1):
            text += line[cursor:start] + _PLACEHOLDER.format(n)
            cursor = end
        masked.append(text + line[cursor:])
    first = await translate(masked)
    retry: list[int] = []
    for i, (result, spans) in enumerate(zip(first, found, strict=True)):
        out[i].terms = [term for _, _, term in spans]
        if not spans:
            out[i].target, out[i].method = result, "plain"
        elif sorted(int(n) for n in _PLACEHOLDER_RE.findall(result)) == list(range(1, len(spans) + 1)):
            out[i].target = _PLACEHOLDER_RE.sub(_placing([term.target for _, _, term in spans]), result)
            out[i].method = "placeholders"
        else:
            retry.append(i)
    if retry:  # the model lost a placeholder: translate the text between the terms instead
        pieces: list[str] = []
        layout: list[list[str | LockedTerm]] = []
        for i in retry:
            line, cursor = lines[i], 0
            row: list[str | LockedTerm] = []
            for start, end, term in found[i]:
                if line[cursor:start].strip():
                    row.append(line[cursor:start])
                    pieces.append(line[cursor:start].strip())
                row.append(term)
                cursor = end
            if line[cursor:].strip():
                row.append(line[cursor:])
                pieces.append(line[cursor:].strip())
            layout.append(row)
        translated = iter(await translate(pieces) if pieces else [])
        for i, row in zip(retry, layout, strict=True):
            parts = [part.target if isinstance(part, LockedTerm) else next(translated).strip() for part in row]
            out[i].target = joiner.join(p for p in parts if p)
            out[i].method = "segments"
    for protected in out:  # written without spaces (ja, zh, th), a term stands next to other letters
        protected.missing = [t.target for t in protected.terms if not (_pattern(t.target).search(protected.target) if joiner
                                                                       else t.target.lower() in protected.target.lower())]
    return out
