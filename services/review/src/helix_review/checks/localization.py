from __future__ import annotations

from helix.events import AssetKind
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity


class LocalizationCheck:
    """What the localize service measured and could not fix: subtitle rule breaches (they block
    approval until fixed or accepted by an admin), locked terms lost in translation, terms the
    market avoids, dubbed lines that overshoot their slot."""

    name = "localization"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        params = ctx.asset.parameters
        drafts = []
        qc = params.get("qc")
        if ctx.asset.kind is AssetKind.SUBTITLES and isinstance(qc, dict) and qc.get("passed") is False:
            rules = ", ".join(qc.get("rules", [])) or "see the QC report"
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{qc.get('breaches', '?')} subtitle rule breaches ({rules})",
                                       subject="subtitle_qc", blocks_approval=True))
        if params.get("locked_terms_missing"):
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{params['locked_terms_missing']} locked terms (names, places, glossary) "
                                       "missing from the translation", subject="locked_terms"))
        if params.get("avoided_terms"):
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{params['avoided_terms']} terms this market avoids", subject="market"))
        timing = params.get("timing")
        if ctx.asset.kind is AssetKind.VOICEOVER and isinstance(timing, dict) and timing.get("overshoots"):
            drafts.append(FindingDraft(self.name, Severity.LOW, f"{timing['overshoots']} dubbed lines run past their slot (up to "
                                       f"{timing.get('max_overshoot_ms', '?')} ms): faded out at the limit", subject="dub_timing"))
        return drafts
