"""The duplicate content check: the same bytes reviewed before as another asset are reported,
loudly when that one was rejected."""

from __future__ import annotations

from helix_review.checks import Severity
from helix_review.checks.duplicates import DuplicateContentCheck

from ..conftest import screening

CHECK = DuplicateContentCheck()


def test_unique_content_passes() -> None:
    assert CHECK.run(screening()) == []


def test_each_earlier_copy_is_reported_high_only_when_it_was_rejected() -> None:
    drafts = CHECK.run(
        screening(same_content=[("frame-1", "2", "approved"), ("frame-7", "1", "rejected"), ("frame-9", "1", "pending")])
    )
    assert [(d.subject, d.severity) for d in drafts] == [
        ("frame-1", Severity.LOW),
        ("frame-7", Severity.HIGH),
        ("frame-9", Severity.LOW),
    ]
    assert "frame-7 v1 (rejected)" in drafts[1].message
    assert not any(d.blocks_approval for d in drafts)
