"""What localization starts from: a script a person approved, its dialogue lines, and the
names in it that translation must keep (characters, places)."""

from __future__ import annotations

from dataclasses import dataclass

from helix.documents import ScriptDocument
from helix.generation import JobRefused
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.generation.reader import Documents, Read
from helix.story import Script
from helix_localize.terms import LockedTerm


@dataclass(frozen=True)
class ScriptLine:
    line_id: str
    scene_id: str
    speaker: str
    text: str


async def approved_script(documents: Documents, production_id: str, asset_id: str) -> Read[ScriptDocument]:
    """The version of an assembled script a person approved; `JobRefused` for anything else."""
    part = ScriptAssetId.parse(asset_id)
    if part is None or part.part is not ScriptPart.SCRIPT:
        raise JobRefused(f"{asset_id} is not an assembled script (script-<job>-script): only an approved script is localized")
    return await documents.approved(production_id, part, ScriptDocument, what="script")


def dialogue(script: Script) -> list[ScriptLine]:
    return [ScriptLine(line.line_id, scene.scene_id, line.speaker, line.text) for scene in script.scenes for line in scene.dialogue]


def locked_terms(script: Script, glossary: list[str]) -> list[LockedTerm]:
    terms = [LockedTerm(c.name, "character") for c in script.characters]
    terms += [LockedTerm(p.name, "place") for p in script.places]
    terms += [LockedTerm(t, "glossary") for t in glossary if t.strip()]
    return list({t.text.lower(): t for t in terms}.values())
