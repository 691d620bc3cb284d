from __future__ import annotations

from helix.events import AssetKind, Authorship
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity

# Kinds made from an earlier asset: their lineage must name it.
DERIVED_KINDS = {AssetKind.STORYBOARD, AssetKind.SUBTITLES, AssetKind.VOICEOVER, AssetKind.ANIMATIC, AssetKind.CLIP}


class LineageCheck:
    """Provenance is complete: model id and revision, the inputs, and parents where due."""

    name = "lineage"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        asset = ctx.asset
        missing = []
        if asset.authorship is not Authorship.HUMAN:
            if asset.model is None or not asset.model.revision or asset.model.revision in {"unknown", "latest"}:
                missing.append("model revision (a pinned revision, not 'latest')")
            if not asset.inputs:
                missing.append("inputs (prompt)")
        if asset.kind in DERIVED_KINDS and not asset.parent_asset_ids:
            missing.append(f"parent assets (a {asset.kind.value} is made from another asset)")
        if not missing:
            return []
        return [FindingDraft(self.name, Severity.HIGH, "lineage incomplete: missing " + "; ".join(missing))]
