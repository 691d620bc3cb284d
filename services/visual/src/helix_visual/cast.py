"""The cast a production's frames keep (`helix.cast`: each character's newest approved front
view of their reference sheet, `sheets.py`). Read from the record of decisions and the store;
a view names its subject in its `ReferenceSummary`."""

from __future__ import annotations

import asyncio

from helix.cast import ReferenceVersion, build_cast
from helix.events import AssetKind, ReferenceSummary, ReferenceView
from helix.generation.assets import Provenance
from helix.generation.ids import ImageAssetId
from helix.generation.reader import Read
from helix_visual.rendering import Renderer


async def approved_cast(renderer: Renderer, production_id: str, characters: set[str]) -> dict[str, Read[None]]:
    """Character -> the view of their reference sheet the cast keeps, for those of `characters`
    that have one (a character with none is drawn from the prompt alone)."""
    approved = await renderer.documents.newest_approved(production_id, AssetKind.REFERENCE)
    fronts = [(asset_id, version) for asset_id, version in approved.items()
              if (parsed := ImageAssetId.parse(asset_id)) is not None and parsed.view == ReferenceView.FRONT.value]
    reads = await asyncio.gather(*(renderer.image(production_id, asset_id, version) for asset_id, version in fronts))
    by_version = {(r.asset_id, r.version): r for r in reads}
    views = [(p.summary, ReferenceVersion(asset_id=r.asset_id, version=r.version, view=p.summary.view, approved=True, made_at=p.generated_at))
             for r in reads if isinstance(p := r.provenance, Provenance) and isinstance(p.summary, ReferenceSummary)]
    cast = build_cast(production_id, views)
    kept = {m.name: m.kept() for m in cast.members if m.kind == "character" and m.name in characters}
    return {name: by_version[(ref.asset_id, ref.version)] for name, ref in kept.items() if ref is not None}
