"""Render a `Script` as a Fountain screenplay (https://fountain.io).

Scene headings come from each scene's place (forced with a leading '.' so any place name
is a heading), character cues are upper-cased speakers in their own script (or forced
with '@' for scripts without case), and every model-written line is plain Fountain that
standard tools parse.
"""

from __future__ import annotations

import re

from helix.story import Script

_UNSAFE = re.compile(r"[\r\n]+")
# Markup that spans lines in Fountain: a stray `/*` (boneyard) or `[[` (note) would swallow
# the rest of the script. Break them up; nothing else in a line can.
_SPANNING = {"/*": "/ *", "*/": "* /", "[[": "[ [", "]]": "] ]"}


def _clean(text: str) -> str:
    """One Fountain line: no line breaks, no spanning markup, no leading characters
    Fountain treats as markup."""
    text = _UNSAFE.sub(" ", text).strip()
    while any(bad in text for bad in _SPANNING):  # "[[[" needs two passes
        for bad, good in _SPANNING.items():
            text = text.replace(bad, good)
    return text.lstrip("!@#~=>.*_[]:/\\(").strip() or "…"


def _cue(speaker: str) -> str:
    """A character cue for any name: upper-cased where the script has case (JOSÉ, ОЛЬГА);
    forced with `@` where it has none (ミナ) or where upper case would not read as a cue."""
    cue = _clean(speaker).upper().replace("(", "").replace(")", "").rstrip("^").strip() or "VOICE"
    return cue if cue.isupper() and not cue[0].isdigit() else f"@{cue}"


def to_fountain(script: Script) -> str:
    out = [f"Title: {_clean(script.title)}", f"Credit: Helix ({script.production_id})", "", ""]
    for scene in script.scenes:
        # '.' forces a scene heading and '!' forces action, whatever the model wrote.
        out += [f".{_clean(scene.place).upper()}", "", f"!{_clean(scene.beat)}", ""]
        for line in scene.dialogue:
            out.append(_cue(line.speaker))
            if line.parenthetical:
                out.append(f"({_clean(line.parenthetical).strip('()')})")
            out += [_clean(line.text), ""]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
