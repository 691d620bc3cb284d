"""A production's asset tree: every asset (its newest version) under the assets it was made
from, with its review status, from the read model. An asset with several parents (an
animatic: every frame and track it uses) appears under its first parent known to the
production and lists the others; assets whose parents are outside the production (or none)
are roots. A frame drawn with a character reference that has since had a newer version
approved is marked stale, with the reason. What a producer reads to see where the production
stands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from helix.casting import Casting
from helix.events import AssetKind, FrameSummary, VoiceoverSummary
from helix_gateway.readmodel.tables import Asset


class TreeNode(BaseModel):
    asset_id: str
    version: int
    kind: str
    media_type: str | None = None
    review_status: str
    job_id: str | None = None
    versions: int = Field(description="How many versions the asset has")
    also_from: list[str] = Field(default_factory=list, description="Further parents, beyond the one this node sits under")
    stale: list[str] = Field(default_factory=list, description="Why this version is out of date (a frame whose character reference "
                                                               "has a newer approved version): draw it again")
    children: list[TreeNode] = Field(default_factory=list)


class AssetTree(BaseModel):
    production_id: str
    assets: int
    by_status: dict[str, int] = Field(description="Assets (newest versions) per review status")
    stale: list[str] = Field(default_factory=list, description="Assets whose newest version is stale (see each node's `stale`)")
    roots: list[TreeNode]


def newest_versions(rows: Iterable[Asset]) -> dict[str, Asset]:
    """Each asset's newest version whose asset event has arrived (a decision may come first)."""
    newest: dict[str, Asset] = {}
    for row in rows:
        if row.event is not None and (row.asset_id not in newest or newest[row.asset_id].version < row.version):
            newest[row.asset_id] = row
    return newest


def approved_versions(rows: Iterable[Asset]) -> dict[str, int]:
    """Each asset's newest approved version."""
    approved: dict[str, int] = {}
    for row in rows:
        if row.review_status == "approved":
            approved[row.asset_id] = max(approved.get(row.asset_id, 0), row.version)
    return approved


def build_tree(production_id: str, rows: Iterable[Asset]) -> AssetTree:
    rows_seen = list(rows)
    newest = newest_versions(rows_seen)
    counts: Counter[str] = Counter(row.asset_id for row in rows_seen if row.event is not None)
    approved = approved_versions(rows_seen)
    nodes = {a: TreeNode(asset_id=a, version=r.version, kind=r.kind, media_type=r.media_type, review_status=r.review_status, job_id=r.job_id,
                         versions=counts[a], stale=_stale(r, approved)) for a, r in newest.items()}
    roots: list[TreeNode] = []
    for asset_id, row in sorted(newest.items(), key=lambda item: (item[1].created_at, item[0])):
        generated = row.generated()
        known = [p for p in (generated.parent_asset_ids if generated else []) if p in nodes and p != asset_id]
        if known:
            nodes[known[0]].children.append(nodes[asset_id])
            nodes[asset_id].also_from = known[1:]
        else:
            roots.append(nodes[asset_id])
    return AssetTree(production_id=production_id, assets=len(nodes), by_status=dict(Counter(r.review_status for r in newest.values())),
                     stale=sorted(a for a, node in nodes.items() if node.stale), roots=roots)


def _stale(row: Asset, approved: dict[str, int]) -> list[str]:
    generated = row.generated()
    summary = generated.typed_summary() if generated is not None else None
    return summary.stale(approved) if isinstance(summary, FrameSummary) else []


class StaleDub(BaseModel):
    asset_id: str
    version: int
    locale: str
    characters: list[str] = Field(description="The characters it speaks whose voice changed")


def stale_dubs(rows: Iterable[Asset], before: Casting, after: Casting) -> list[StaleDub]:
    """The newest version of each dub (as recorded in its summary: who spoke which character)
    that speaks a character whose voice in the dub's locale differs between two castings."""
    stale = []
    for asset_id, row in sorted(newest_versions(r for r in rows if r.kind == AssetKind.VOICEOVER.value).items()):
        generated = row.generated()
        summary = generated.typed_summary() if generated is not None else None
        if not isinstance(summary, VoiceoverSummary):
            continue
        changed = [c for c in summary.voices if before.voice_for(c, summary.locale) != after.voice_for(c, summary.locale)]
        if changed:
            stale.append(StaleDub(asset_id=asset_id, version=row.version, locale=summary.locale, characters=sorted(changed)))
    return stale
