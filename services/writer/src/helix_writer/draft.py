"""The state of one script while it is being (re)written: `Draft`, its parts by name, who
wrote each, and what a person should look at again (stale marks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helix.documents import LevelDocument
from helix.events import Authorship
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart, scene_part
from helix.story import Act, Character, DialogueLine, Place, SceneScript, Script, StaleMark


@dataclass
class Draft:
    """The state of one script while it is being (re)written."""

    production_id: str
    script_id: str
    logline: str
    style: str = ""
    locale: str = "en"
    target_locales: list[str] = field(default_factory=list)
    title: str = ""
    title_author: str = "ai"
    acts: list[Act] = field(default_factory=list)
    characters: list[Character] = field(default_factory=list)
    scenes: list[SceneScript] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    stale: list[StaleMark] = field(default_factory=list)
    assets: dict[str, str] = field(default_factory=dict)  # part name (`title`, `dialogue-s1`, …) -> asset id
    examples: str | None = None  # a studio's prefix set (few-shot scripts)

    def script(self) -> Script:
        return Script(production_id=self.production_id, logline=self.logline, title=self.title, title_author=self.title_author,
                      locale=self.locale, target_locales=self.target_locales, acts=self.acts, characters=self.characters,
                      places=list(self.places.values()), scenes=self.scenes, stale=self.stale)

    def part(self, name: str) -> ScriptAssetId:
        return ScriptAssetId.of(self.script_id, name)

    def human(self, name: str) -> bool:
        """Whether a person wrote or changed any of this part."""
        if name == ScriptPart.TITLE:
            return self.title_author == "human"
        if name == ScriptPart.CHARACTERS:
            return any(c.author == "human" for c in self.characters)
        if name == ScriptPart.SCENES:
            return any(s.author == "human" for s in self.scenes) or any(a.author == "human" for a in self.acts)
        if name == ScriptPart.PLACES:
            return any(p.author == "human" for p in self.places.values())
        scene = next((s for s in self.scenes if scene_part(ScriptPart.DIALOGUE, s.scene_id) == name), None)
        return bool(scene and any(line.author == "human" or line.selected_by for line in scene.dialogue))

    def mark_stale(self, name: str, because: str, job_id: str) -> None:
        self.stale = [m for m in self.stale if m.part != name] + [StaleMark(part=name, because=because, job_id=job_id)]

    def fresh(self, name: str) -> None:
        self.stale = [m for m in self.stale if m.part != name]

    def restore(self, name: str, body: LevelDocument[Any], author: Authorship = Authorship.AI) -> None:
        """Put a stored version of one part back into the draft (resume, revert), written by `author`."""
        content = body.content
        if name == ScriptPart.TITLE:
            self.title, self.title_author = content.title, "ai" if author is Authorship.AI else "human"
        elif name == ScriptPart.CHARACTERS:
            self.characters = list(content)
        elif name == ScriptPart.SCENES:
            self.scenes = keep_dialogue(self.scenes, list(content))
            self.acts = list(body.acts or []) or self.acts
        elif name == ScriptPart.PLACES:
            self.places = {p.name: p for p in content}
        else:
            scene = next((s for s in self.scenes if scene_part(ScriptPart.DIALOGUE, s.scene_id) == name), None)
            if scene is None:
                raise JobRefused(f"{name} belongs to no scene of {self.script_id}")
            scene.dialogue = list(content)
        self.fresh(name)


def draft_of(script: Script, script_id: str) -> Draft:
    """A draft from an assembled script (the latest or the approved version of it)."""
    draft = Draft(script.production_id, script_id, script.logline, locale=script.locale, target_locales=script.target_locales,
                  title=script.title, title_author=script.title_author, acts=script.acts, characters=script.characters,
                  scenes=script.scenes, places={p.name: p for p in script.places}, stale=script.stale)
    for part in (ScriptPart.TITLE, ScriptPart.CHARACTERS, ScriptPart.SCENES, ScriptPart.PLACES, ScriptPart.SCRIPT, ScriptPart.FOUNTAIN):
        draft.assets[part.value] = str(ScriptAssetId(script_id, part))
    for scene in script.scenes:
        draft.assets[scene_part(ScriptPart.DIALOGUE, scene.scene_id)] = str(ScriptAssetId(script_id, ScriptPart.DIALOGUE, scene.scene_id))
    return draft


def keep_dialogue(old: list[SceneScript], new: list[SceneScript]) -> list[SceneScript]:
    """New scenes keep the dialogue the old scene with the same id had (nothing a person wrote is dropped)."""
    by_id = {s.scene_id: s.dialogue for s in old}
    return [s.model_copy(update={"dialogue": by_id.get(s.scene_id, s.dialogue)}) for s in new]


def authorship(script: Script) -> Authorship:
    authors = {script.title_author, *(c.author for c in script.characters), *(s.author for s in script.scenes),
               *(p.author for p in script.places), *(line.author for s in script.scenes for line in s.dialogue),
               *("human" for s in script.scenes for line in s.dialogue if line.selected_by)}
    return Authorship.MIXED if len(authors) > 1 else (Authorship.HUMAN if authors == {"human"} else Authorship.AI)


__all__ = ["Draft", "DialogueLine", "authorship", "draft_of", "keep_dialogue"]
