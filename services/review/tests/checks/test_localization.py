"""The localization check: what localize measured and could not fix, read from the asset's
typed summary (or, for older events, the same figures in its parameters)."""

from __future__ import annotations

from typing import Any

from helix_review.checks import Severity
from helix_review.checks.localization import LocalizationCheck

from ..conftest import screening

CHECK = LocalizationCheck()


def subtitles(qc: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "subtitles",
        "media_type": "text/vtt",
        "parent_asset_ids": ["script-0001"],
        "summary": {"kind": "subtitles", "locale": "de-DE", "format": "vtt", "events": 12, "qc": qc},
    }


def voiceover(timing: dict[str, Any] | None, changes: int = 0) -> dict[str, Any]:
    lines = [{"line_id": f"s1-l{n}", "original": "a long line", "replacement": "short"} for n in range(changes)]
    return {
        "kind": "voiceover",
        "media_type": "audio/wav",
        "parent_asset_ids": ["script-0001"],
        "summary": {"kind": "voiceover", "locale": "de-DE", "timing": timing, "changes": lines},
    }


def test_assets_without_a_localization_summary_pass() -> None:
    assert CHECK.run(screening()) == []


def test_subtitles_that_fail_qc_block_approval_and_name_the_rules() -> None:
    [draft] = CHECK.run(screening(**subtitles({"passed": False, "breaches": 3, "rules": ["cps", "line_length"]})))
    assert draft.severity is Severity.MEDIUM and draft.blocks_approval and draft.subject == "subtitle_qc"
    assert draft.message == "3 subtitle rule breaches (cps, line_length)"


def test_a_failed_qc_without_rules_points_to_the_report() -> None:
    [draft] = CHECK.run(screening(**subtitles({"passed": False, "breaches": 1})))
    assert "see the QC report" in draft.message


def test_subtitles_that_pass_qc_pass() -> None:
    assert CHECK.run(screening(**subtitles({"passed": True, "fixes": 2}))) == []


def test_old_events_are_read_from_their_parameters() -> None:
    fields = {
        **subtitles({}),
        "summary": None,
        "parameters": {"locale": "de-DE", "qc": {"passed": False, "breaches": 2, "rules": ["cps"]}},
    }
    [draft] = CHECK.run(screening(**fields))
    assert draft.subject == "subtitle_qc" and draft.message == "2 subtitle rule breaches (cps)"


def test_a_translation_reports_lost_locked_terms_and_avoided_terms_apart() -> None:
    summary = {"kind": "translation", "locale": "ja-JP", "locked_terms_missing": 2, "avoided_terms": 1}
    drafts = CHECK.run(screening(summary=summary))
    assert [(d.subject, d.severity, d.blocks_approval) for d in drafts] == [
        ("locked_terms", Severity.MEDIUM, False),
        ("market", Severity.MEDIUM, False),
    ]
    assert drafts[0].message.startswith("2 locked terms") and drafts[1].message.startswith("1 terms")
    assert CHECK.run(screening(summary={**summary, "locked_terms_missing": 0, "avoided_terms": 0})) == []


def test_a_dub_reports_overshooting_lines_and_shorter_adaptations() -> None:
    drafts = CHECK.run(screening(**voiceover({"lines": 10, "overshoots": 2, "max_overshoot_ms": 180.5}, changes=3)))
    assert [(d.subject, d.severity) for d in drafts] == [("dub_timing", Severity.LOW), ("dub_adaptation", Severity.INFO)]
    assert "2 dubbed lines" in drafts[0].message and "180.5 ms" in drafts[0].message
    assert drafts[1].message.startswith("3 lines spoken in a shorter adaptation")
    assert not any(d.blocks_approval for d in drafts)


def test_a_dub_that_fits_its_slots_passes() -> None:
    assert CHECK.run(screening(**voiceover({"lines": 10, "overshoots": 0}))) == []
