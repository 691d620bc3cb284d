from __future__ import annotations

from helix_review.checks.base import FindingDraft, ScreeningContext, Severity


class StoreIntegrityCheck:
    """The object the event points to exists and its bytes hash to the event's sha256."""

    name = "store_integrity"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        asset = ctx.asset
        if ctx.stored_sha256 is None:
            return [FindingDraft(self.name, Severity.CRITICAL, f"object {asset.object_key} is not in the asset store", blocks_approval=True)]
        if ctx.stored_sha256 != asset.sha256 or ctx.content is None:
            return [
                FindingDraft(
                    self.name,
                    Severity.CRITICAL,
                    f"stored object's sha256 {str(ctx.stored_sha256)[:12]}… does not match the event's {asset.sha256[:12]}…",
                    blocks_approval=True,
                )
            ]
        return []
