"""What localization starts from: a script a person approved, its dialogue lines, and the
names in it that translation must keep (characters, places)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from helix.assets import AssetNotFound, AssetStore, StoredAsset
from helix.events import AssetKind
from helix.generation.approvals import Approvals
from helix.generation.ids import ScriptAssetId, ScriptPart
from helix.story import Script
from helix_localize.terms import LockedTerm


@dataclass(frozen=True)
class ScriptLine:
    line_id: str
    scene_id: str
    speaker: str
    text: str


async def approved_script(store: AssetStore, approvals: Approvals, production_id: str, asset_id: str) -> tuple[Script, StoredAsset]:
    """The version of an assembled script a person approved; ValueError for anything else."""
    part = ScriptAssetId.parse(asset_id)
    if part is None or part.part is not ScriptPart.SCRIPT:
        raise ValueError(f"{asset_id} is not an assembled script (script-<job>-script): only an approved script is localized")
    version = await approvals.approved_version(production_id, asset_id)
    if version is None:
        raise ValueError(f"{asset_id} is not approved: nothing is localized before a person approves the script")

    def read() -> tuple[Script, StoredAsset]:
        try:
            stored = next(v for v in store.versions(production_id, AssetKind.SCRIPT, asset_id) if v.key.version == version)
        except (StopIteration, AssetNotFound):
            raise ValueError(f"version {version} of {asset_id} is not in the asset store") from None
        return Script.model_validate(json.loads(store.get(stored.key))["content"]), stored

    return await asyncio.to_thread(read)


def dialogue(script: Script) -> list[ScriptLine]:
    return [ScriptLine(line.line_id, scene.scene_id, line.speaker, line.text) for scene in script.scenes for line in scene.dialogue]


def locked_terms(script: Script, glossary: list[str]) -> list[LockedTerm]:
    terms = [LockedTerm(c.name, "character") for c in script.characters]
    terms += [LockedTerm(p.name, "place") for p in script.places]
    terms += [LockedTerm(t, "glossary") for t in glossary if t.strip()]
    return list({t.text.lower(): t for t in terms}.values())
