"""The lineage check: a generated asset names a pinned model revision and its inputs, and a
derived asset names the assets it was made from."""

from __future__ import annotations

import pytest

from helix_review.checks import Severity
from helix_review.checks.lineage import DERIVED_KINDS, LineageCheck

from ..conftest import screening

CHECK = LineageCheck()


def test_a_generated_script_with_a_pinned_model_and_a_prompt_is_complete() -> None:
    assert CHECK.run(screening(kind="script")) == []


@pytest.mark.parametrize("revision", ["latest", "unknown"])
def test_an_unpinned_model_revision_is_incomplete_lineage(revision: str) -> None:
    [draft] = CHECK.run(screening(model={"id": "helix/tiny-llama", "revision": revision}))
    assert draft.severity is Severity.HIGH and not draft.blocks_approval
    assert "model revision" in draft.message


def test_a_generation_without_inputs_is_incomplete_lineage() -> None:
    [draft] = CHECK.run(screening(inputs={}))
    assert "inputs (prompt)" in draft.message


def test_a_person_made_asset_needs_no_model_or_prompt() -> None:
    assert CHECK.run(screening(authorship="human", model=None, inputs={})) == []


def test_a_mixed_asset_is_held_to_the_models_rules() -> None:
    [draft] = CHECK.run(screening(authorship="mixed", model={"id": "helix/tiny-llama", "revision": "latest"}))
    assert "model revision" in draft.message


@pytest.mark.parametrize("kind", sorted(DERIVED_KINDS))
def test_a_derived_asset_names_its_parents(kind: str) -> None:
    [draft] = CHECK.run(screening(kind=kind, parent_asset_ids=[]))
    assert f"a {kind} is made from another asset" in draft.message
    assert CHECK.run(screening(kind=kind, parent_asset_ids=["script-0001"])) == []


def test_a_frame_may_come_from_a_prompt_alone() -> None:
    assert CHECK.run(screening(kind="frame", parent_asset_ids=[], media_type="image/png")) == []


def test_everything_missing_is_reported_in_one_finding() -> None:
    drafts = CHECK.run(screening(kind="storyboard", model={"id": "m", "revision": "latest"}, inputs={}, parent_asset_ids=[]))
    assert len(drafts) == 1
    assert drafts[0].message.count(";") == 2  # model revision; inputs; parents
