from __future__ import annotations

from helix_review.checks.base import FindingDraft, ScreeningContext, Severity
from helix_review.checks.consent import mentions


class PolicyTermsCheck:
    """Terms the production's policy bans (brands, places, words) found in the asset."""

    name = "policy_terms"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        if ctx.policy is None:
            return []
        return [
            FindingDraft(self.name, Severity.MEDIUM, f"banned term '{term}' for production {ctx.asset.production_id}", subject=term)
            for term in ctx.policy.banned_terms
            if mentions(ctx.text, term)
        ]
