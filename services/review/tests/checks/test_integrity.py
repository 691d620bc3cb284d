"""The store integrity check: the object must be in the store with the bytes the event names."""

from __future__ import annotations

from helix_review.checks import Severity
from helix_review.checks.integrity import StoreIntegrityCheck

from ..conftest import screening

CHECK = StoreIntegrityCheck()


def test_an_object_stored_with_the_events_sha256_passes() -> None:
    assert CHECK.run(screening()) == []


def test_a_missing_object_is_critical_and_blocks_approval() -> None:
    [draft] = CHECK.run(screening(stored_sha256=None, content=None))
    assert draft.severity is Severity.CRITICAL and draft.blocks_approval
    assert "is not in the asset store" in draft.message and draft.check == "store_integrity"


def test_other_bytes_than_the_event_names_are_critical_and_block_approval() -> None:
    [draft] = CHECK.run(screening(stored_sha256="ab" * 32))
    assert draft.severity is Severity.CRITICAL and draft.blocks_approval
    assert "abababababab" in draft.message and "9f2b7c1e0d4a" in draft.message  # both hashes, shortened


def test_a_recorded_hash_without_readable_content_is_not_trusted() -> None:
    [draft] = CHECK.run(screening(content=None))
    assert draft.severity is Severity.CRITICAL and draft.blocks_approval
