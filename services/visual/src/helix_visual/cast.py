"""The cast a production's frames keep (`helix.cast`: each character's newest approved front
view of their reference sheet, each place's establishing view, `sheets.py`). Read from the record of decisions and the store;
a view names its subject in its `ReferenceSummary`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from helix.cast import ReferenceVersion, build_cast
from helix.events import AssetKind, ReferenceSummary, ReferenceView
from helix.generation.assets import Provenance
from helix.generation.ids import ImageAssetId
from helix.generation.reader import Read
from helix_visual.rendering import Renderer


@dataclass(frozen=True)
class KeptCast:
    characters: dict[str, Read[None]]  # character -> the view the cast keeps of them
    places: dict[str, Read[None]]  # place (by name) -> its kept establishing view

    def place(self, location: str) -> Read[None] | None:
        """A shot's place, its location matched to a place's name without regard to case or spacing."""
        wanted = " ".join(location.split()).casefold()
        return next((r for name, r in self.places.items() if " ".join(name.split()).casefold() == wanted), None)


async def approved_cast(renderer: Renderer, production_id: str, characters: set[str]) -> KeptCast:
    """The views the cast keeps: of those of `characters` that have one (a character with none
    is drawn from the prompt alone), and of every place that has one."""
    approved = await renderer.documents.newest_approved(production_id, AssetKind.REFERENCE)
    kept_views = (ReferenceView.FRONT.value, ReferenceView.ESTABLISHING.value)
    fronts = [(asset_id, version) for asset_id, version in approved.items()
              if (parsed := ImageAssetId.parse(asset_id)) is not None and parsed.view in kept_views]
    reads = await asyncio.gather(*(renderer.image(production_id, asset_id, version) for asset_id, version in fronts))
    by_version = {(r.asset_id, r.version): r for r in reads}
    views = [(p.summary, ReferenceVersion(asset_id=r.asset_id, version=r.version, view=p.summary.view, approved=True, made_at=p.generated_at))
             for r in reads if isinstance(p := r.provenance, Provenance) and isinstance(p.summary, ReferenceSummary)]
    cast = build_cast(production_id, views)
    kept = {(m.kind, m.name): ref for m in cast.members if (ref := m.kept()) is not None}
    return KeptCast(characters={name: by_version[(ref.asset_id, ref.version)] for (kind, name), ref in kept.items()
                                if kind == "character" and name in characters},
                    places={name: by_version[(ref.asset_id, ref.version)] for (kind, name), ref in kept.items() if kind == "place"})
