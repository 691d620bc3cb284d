"""The writer's prompt text, one function per step, apart from the code that runs the steps.

Each returns the chat messages for one generation; the level steps (`levels.py`) and the
storyboard and candidate steps (`storyboards.py`) only fill them in.
"""

from __future__ import annotations

from helix.story import Character, DialogueLine, Place, SceneScript

Messages = list[dict[str, str]]


def system(style: str, notes: str | None = None) -> dict[str, str]:
    extra = f" Notes to follow: {notes}" if notes else ""  # e.g. a reviewer's revision notes
    return {"role": "system", "content": f"You are a screenwriter. Style: {style or 'any'}.{extra} Answer with JSON only."}


def title(style: str, notes: str | None, logline: str) -> Messages:
    return [system(style, notes), {"role": "user", "content": f"Logline: {logline}\nWrite the title."}]


def characters(style: str, notes: str | None, logline: str, title_text: str, performers: list[str]) -> Messages:
    hint = f"\nPerformers to cast: {', '.join(performers)}" if performers else ""
    return [system(style, notes), {"role": "user", "content": f"Logline: {logline}\nTitle: {title_text}{hint}\nList the characters."}]


def scenes(style: str, notes: str | None, logline: str, title_text: str, cast: list[Character]) -> Messages:
    people = "; ".join(f"{c.name}: {c.description}" for c in cast)
    return [system(style, notes), {"role": "user", "content": f"Logline: {logline}\nTitle: {title_text}\nCharacters: {people}\nOutline the scenes."}]


def place(style: str, notes: str | None, title_text: str, name: str) -> Messages:
    return [system(style, notes), {"role": "user", "content": f"Title: {title_text}\nDescribe the place: {name}"}]


def places_summary(names: list[str]) -> Messages:
    """What the places level records as its input: the places it described."""
    return [{"role": "user", "content": f"Describe the places: {', '.join(names)}"}]


def dialogue(style: str, notes: str | None, title_text: str, cast: list[Character], earlier: list[SceneScript],
             scene: SceneScript, where: Place | None) -> Messages:
    names = ", ".join(c.name for c in cast)
    before = " / ".join(s.beat for s in earlier) or "(this is the first scene)"  # the story so far, kept short for the context
    return [system(style, notes), {"role": "user", "content": (
        f"Title: {title_text}\nCharacters: {names}\nEarlier scenes: {before}\n"
        f"Place: {scene.place}: {where.description if where else ''}\nThis scene ({scene.plot_element.value}): {scene.beat}\n"
        "Write the dialogue.")}]


def storyboard(style: str, notes: str | None, cast: list[Character], scene: SceneScript) -> Messages:
    names = ", ".join(c.name for c in cast)
    said = " / ".join(f"{line.speaker}: {line.text}" for line in scene.dialogue)
    return [system(style, notes), {"role": "user", "content": (
        f"Characters: {names}\nPlace: {scene.place}\nScene: {scene.beat}\nDialogue: {said}\nPlan the shots.")}]


def line_candidate(style: str, notes: str | None, scene: SceneScript, line: DialogueLine, wants: str, n: int) -> Messages:
    return [system(style, notes), {"role": "user", "content": (
        f"Scene: {scene.beat}\n{line.speaker} says: {line.text}\nRewrite the line ({wants}). Variant {n}.")}]
