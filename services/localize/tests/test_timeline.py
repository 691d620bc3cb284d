from __future__ import annotations

import pytest

from helix.generation import JobRefused
from helix_localize.source import ScriptLine
from helix_localize.timeline import from_studio, laid_out

LINES = [ScriptLine("s1-l1", "s1", "A", "Did you hear what I was playing?"), ScriptLine("s1-l2", "s1", "B", "I didn't listen, sir."),
         ScriptLine("s2-l1", "s2", "A", "Where have you been?")]


def test_studio_cues_match_lines_in_order_or_by_text() -> None:
    same = from_studio([(1, 2, "x"), (3, 4, "y"), (5, 6, "z")], LINES, "edit")
    assert [(t.line_id, t.start) for t in same.lines] == [("s1-l1", 1), ("s1-l2", 3), ("s2-l1", 5)] and same.source == "studio"
    extra = [(0.5, 0.9, "(music)"), (1, 2, "Did you hear what I was playing?"), (3, 4, "I didn't listen, sir."), (5, 6, "Where have you been?")]
    assert [t.start for t in from_studio(extra, LINES, "edit").lines] == [1, 3, 5]
    with pytest.raises(JobRefused, match="no cue for s2-l1"):
        from_studio([(1, 2, "Did you hear what I was playing?"), (3, 4, "I didn't listen, sir.")], LINES, "edit")


def test_a_synthesized_timeline_lays_lines_end_to_end_with_longer_pauses_between_scenes() -> None:
    timeline = laid_out(LINES, [2.0, 1.0, 1.5], "loc-en-timeline-j")
    starts = [t.start for t in timeline.lines]
    assert timeline.source == "synthesized" and starts[0] == 0.5
    assert starts[1] - timeline.lines[0].end == pytest.approx(0.4) and starts[2] - timeline.lines[1].end == pytest.approx(1.0)
