"""The cast a production's frames keep: for each character, the newest approved front view of
their reference sheet (`sheets.py`). Read from the record of decisions and the store; a view
names its subject in its `ReferenceSummary`."""

from __future__ import annotations

import asyncio

from helix.events import AssetKind, ReferenceSummary, ReferenceView
from helix.generation.assets import Provenance
from helix.generation.ids import ImageAssetId
from helix.generation.reader import Read
from helix_visual.rendering import Renderer


async def approved_cast(renderer: Renderer, production_id: str, characters: set[str]) -> dict[str, Read[None]]:
    """Character -> the newest approved front view of their reference sheet, for those of
    `characters` that have one (a character with none is drawn from the prompt alone)."""
    approved = await renderer.documents.newest_approved(production_id, AssetKind.REFERENCE)
    fronts = [(asset_id, version) for asset_id, version in approved.items()
              if (parsed := ImageAssetId.parse(asset_id)) is not None and parsed.view == ReferenceView.FRONT.value]
    reads = await asyncio.gather(*(renderer.image(production_id, asset_id, version) for asset_id, version in fronts))
    cast: dict[str, Read[None]] = {}
    for read in reads:
        summary = read.provenance.summary if isinstance(read.provenance, Provenance) else None
        if not isinstance(summary, ReferenceSummary) or summary.subject_kind != "character" or summary.subject not in characters:
            continue
        if summary.subject not in cast or _made_at(read) > _made_at(cast[summary.subject]):
            cast[summary.subject] = read
    return cast


def _made_at(read: Read[None]) -> str:
    return read.provenance.generated_at.isoformat() if isinstance(read.provenance, Provenance) else ""
