from __future__ import annotations

from helix.events import SubtitlesSummary, TranslationSummary, VoiceoverSummary
from helix_review.checks.base import FindingDraft, ScreeningContext, Severity


class LocalizationCheck:
    """What the localize service measured and could not fix, from the asset's typed summary
    (`AssetGenerated.typed_summary`): subtitle rule breaches (they block approval until fixed
    or accepted by an admin), locked terms lost in translation, terms the market avoids,
    dubbed lines that overshoot their slot, lines the dub speaks in a shorter adaptation, and
    voiced lines that speech recognition did not hear as written (each with its place on the
    track and both texts; they block approval until a person has listened)."""

    name = "localization"

    def run(self, ctx: ScreeningContext) -> list[FindingDraft]:
        summary = ctx.asset.typed_summary()
        drafts = []
        if isinstance(summary, SubtitlesSummary) and not summary.qc.passed:
            rules = ", ".join(summary.qc.rules) or "see the QC report"
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{summary.qc.breaches} subtitle rule breaches ({rules})",
                                       subject="subtitle_qc", blocks_approval=True))
        if isinstance(summary, TranslationSummary):
            if summary.locked_terms_missing:
                drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{summary.locked_terms_missing} locked terms (names, places, "
                                           "glossary) missing from the translation", subject="locked_terms"))
            if summary.avoided_terms:
                drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{summary.avoided_terms} terms this market avoids", subject="market"))
        if isinstance(summary, VoiceoverSummary) and summary.listening is not None:
            drafts.extend(self.heard(summary))
        if isinstance(summary, VoiceoverSummary) and summary.timing is not None:
            if summary.timing.overshoots:
                drafts.append(FindingDraft(self.name, Severity.LOW, f"{summary.timing.overshoots} dubbed lines run past their slot (up to "
                                           f"{summary.timing.max_overshoot_ms:g} ms): faded out at the limit", subject="dub_timing"))
            if summary.changes:
                drafts.append(FindingDraft(self.name, Severity.INFO, f"{len(summary.changes)} lines spoken in a shorter adaptation, each "
                                           "shown beside the line it replaces", subject="dub_adaptation"))
        return drafts

    def heard(self, summary: VoiceoverSummary) -> list[FindingDraft]:
        listening = summary.listening
        assert listening is not None
        drafts = [FindingDraft(self.name, Severity.MEDIUM,
                               f"{line.line_id} at {_clock(line.start)}–{_clock(line.end)}: should say “{line.text}”, "
                               f"{listening.model.id} heard “{line.transcript}” (word error rate {line.wer:.2f})",
                               subject=f"dub_listening:{line.line_id}", blocks_approval=True)
                  for line in listening.flagged[:MAX_LINE_FINDINGS]]
        if len(listening.flagged) > MAX_LINE_FINDINGS:
            drafts.append(FindingDraft(self.name, Severity.MEDIUM, f"{len(listening.flagged) - MAX_LINE_FINDINGS} more lines over the word "
                                       f"error rate limit {listening.wer_limit:g} (median {listening.median_wer:.2f} over "
                                       f"{listening.lines} lines): see the voice-over's summary", subject="dub_listening", blocks_approval=True))
        return drafts


MAX_LINE_FINDINGS = 20  # one finding per line up to this, then one for the rest


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:04.1f}"
