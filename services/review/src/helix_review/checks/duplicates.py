from __future__ import annotations

from helix_review.checks.base import FindingDraft, ScreeningContext, Severity


class DuplicateContentCheck:
    """The same bytes (same sha256) were reviewed before as another asset."""

    name = "duplicate_content"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        drafts = []
        for asset_id, version, status in ctx.same_content:
            severity = Severity.HIGH if status == "rejected" else Severity.LOW
            drafts.append(
                FindingDraft(self.name, severity, f"identical content to asset {asset_id} v{version} ({status})", subject=asset_id)
            )
        return drafts
