"""Prompt text for images, apart from code: a shot of a storyboard as a frame prompt, the
production's style on every prompt, and seeds that keep a production's look consistent."""

from __future__ import annotations

import hashlib

from helix.story import Shot

FRAME_STYLE = "storyboard frame"


def with_style(prompt: str, style: str | None) -> str:
    """The request's prompt with the production's look after it (the shared style prompt)."""
    return f"{prompt}, {style}" if style else prompt


def shot_prompt(shot: Shot, *, extra: str | None, style: str | None) -> str:
    """A storyboard shot as an image prompt."""
    subjects = " and ".join(shot.subjects) or "no one"
    kind = shot.shot_type.value.replace("_", " ")
    parts = [f"{FRAME_STYLE}, {kind} shot, {shot.camera.value} camera", f"{subjects}: {shot.action}", f"at {shot.location}"]
    if extra:
        parts.append(extra)
    return with_style(", ".join(p for p in parts if p.strip()), style)


def revision_prompt(prompt: str, notes: str) -> str:
    """A revision's prompt: the parent's prompt with the reviewer's notes."""
    return f"{prompt}, {notes}"


def stable_seed(*parts: object) -> int:
    """A seed from names (production, location, characters): the same names, the same noise."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits, as the contracts allow


def shot_seed(base: int | str, shot: Shot) -> int:
    """Frames of one location with the same characters start from the same noise: a consistent look."""
    return stable_seed(base, shot.location, *sorted(shot.subjects))


SHEET_STYLE = "character reference sheet"
_VIEWS = {"front": "front view, facing the camera, full body, neutral pose",
          "three_quarter": "three-quarter view, full body, neutral pose",
          "profile": "side profile view, full body, neutral pose",
          "expressions": "head and shoulders, a row of expressions: calm, joy, anger, fear"}


def character_view_prompt(name: str, description: str, view: str, *, extra: str | None, style: str | None) -> str:
    """One view of a character's reference sheet: the same person from every side, on a plain ground."""
    parts = [f"{SHEET_STYLE}, {_VIEWS[view]}", f"{name}: {description}", "plain light background, even lighting"]
    if extra:
        parts.append(extra)
    return with_style(", ".join(parts), style)


def place_view_prompt(name: str, description: str, *, extra: str | None, style: str | None) -> str:
    """A place's establishing view: the whole location, no one in it."""
    parts = [f"location reference, establishing wide shot of {name}", description, "empty of people"]
    if extra:
        parts.append(extra)
    return with_style(", ".join(parts), style)
