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


def listened(flagged: int, lines: int = 30) -> dict[str, Any]:
    heard = [{"line_id": f"s1-l{n}", "text": "The lamp must burn tonight.", "transcript": "the lamb must learn", "wer": 0.6 + n / 100,
              "cer": 0.3, "start": 61.5 + n, "end": 63.25 + n} for n in range(flagged)]
    fields = voiceover(None)
    fields["summary"]["listening"] = {"model": {"id": "whisper:whisper-base", "revision": "sha256:ab"}, "lines": lines,
                                      "median_wer": 0.1, "wer_limit": 0.3, "flagged": heard, "seconds": 12.5}
    return fields


def test_a_line_the_listener_did_not_hear_as_written_blocks_with_its_place_and_both_texts() -> None:
    [draft] = CHECK.run(screening(**listened(1)))
    assert draft.severity is Severity.MEDIUM and draft.blocks_approval and draft.subject == "dub_listening:s1-l0"
    assert draft.message == ("s1-l0 at 01:01.5–01:03.2: should say “The lamp must burn tonight.”, whisper:whisper-base heard "
                             "“the lamb must learn” (word error rate 0.60)")


def test_a_dub_heard_as_written_passes_and_many_bad_lines_are_summed_up_past_twenty() -> None:
    assert CHECK.run(screening(**listened(0))) == []
    drafts = CHECK.run(screening(**listened(25)))
    assert len(drafts) == 21 and drafts[-1].subject == "dub_listening" and drafts[-1].message.startswith("5 more lines")
