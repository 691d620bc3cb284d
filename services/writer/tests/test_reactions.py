"""What the writer asks of itself when review decides about its assets: storyboards for an
approved script, a revision (with the reviewer's notes) for a revision request; nothing for
candidates, other parts, other services' assets or other decisions. The same decision is
always the same job."""

from __future__ import annotations

from typing import Any

import pytest

from helix.events import (
    AssetKind,
    CloudEvent,
    ReviewApproved,
    ReviewDecision,
    ReviewRejected,
    ReviewRevisionRequested,
    ScriptRevisionRequested,
    StoryboardRequested,
    new_event,
)
from helix.events.examples import example
from helix.generation.ids import Reaction, parse_asset_id, reaction_job_id
from helix.generation.service import cause
from helix_writer.reactions import HANDLED, WRITER, react


def decided(model: type[ReviewDecision], asset_id: str, **fields: Any) -> CloudEvent[ReviewDecision]:
    parsed = parse_asset_id(asset_id)
    kind = parsed.kind if parsed is not None else AssetKind.SCRIPT
    return new_event(example(model, asset_id=asset_id, kind=kind, decision_id="dec-7", **fields), source="/helix/review")


async def reactions_to(event: CloudEvent[ReviewDecision]) -> list[Any]:
    return await react(event, parse_asset_id(event.data.asset_id))


async def test_an_approved_script_asks_for_its_storyboards() -> None:
    event = decided(ReviewApproved, "script-job-1-script", asset_version=2)
    (request,) = await reactions_to(event)
    assert isinstance(request, StoryboardRequested)
    assert request.job_id == reaction_job_id(Reaction.STORYBOARDS, "dec-7")
    assert request.script_asset_id == "script-job-1-script" and request.scene_ids == []
    assert request.production_id == event.data.production_id and request.requested_by == WRITER and WRITER.kind == "service"
    assert request.caused_by == cause(event) and request.caused_by.outcome == "approved" and request.caused_by.asset_version == 2


@pytest.mark.parametrize("asset_id", ["script-job-1-title", "script-job-1-fountain", "script-job-1-dialogue-s1",
                                      "script-job-1-storyboard-s1", "script-job-1-dialogue-s1-rewrite-job-2"])
async def test_approving_any_other_part_asks_for_nothing(asset_id: str) -> None:
    assert await reactions_to(decided(ReviewApproved, asset_id)) == []


@pytest.mark.parametrize("asset_id", ["script-job-1-title", "script-job-1-dialogue-s3", "script-job-1-storyboard-s1",
                                      "script-job-1-script", "script-job-1-fountain"])
async def test_a_revision_request_asks_for_a_revision_of_that_version_with_the_notes(asset_id: str) -> None:
    event = decided(ReviewRevisionRequested, asset_id, asset_version=3, notes="Mara sounds too calm here.")
    (request,) = await reactions_to(event)
    assert isinstance(request, ScriptRevisionRequested)
    assert request.job_id == reaction_job_id(Reaction.REVISION, "dec-7")
    assert (request.asset_id, request.asset_version, request.parent_asset_ids) == (asset_id, 3, [asset_id])
    assert request.notes == "Mara sounds too calm here." and request.requested_by == event.data.reviewer
    assert request.caused_by == cause(event) and request.caused_by.outcome == "revision_requested"


async def test_candidates_are_chosen_by_a_person_not_revised() -> None:
    assert await reactions_to(decided(ReviewRevisionRequested, "script-job-1-dialogue-s1-rewrite-job-2")) == []


@pytest.mark.parametrize("asset_id", ["frame-job-1-s1-shot2", "loc-de-DE-translation-job-1", "studio-upload-7"])
async def test_decisions_on_assets_that_are_not_the_writers_ask_for_nothing(asset_id: str) -> None:
    assert await reactions_to(decided(ReviewApproved, asset_id)) == []
    assert await reactions_to(decided(ReviewRevisionRequested, asset_id)) == []


async def test_only_approvals_and_revision_requests_are_handled() -> None:
    assert (ReviewApproved, ReviewRevisionRequested) == HANDLED
    assert await reactions_to(decided(ReviewRejected, "script-job-1-script")) == []


async def test_the_same_decision_delivered_again_is_the_same_request() -> None:
    first, again = decided(ReviewApproved, "script-job-1-script"), decided(ReviewApproved, "script-job-1-script")
    assert first.id != again.id  # two deliveries (say, a replay after a crash)
    (one,), (other,) = await reactions_to(first), await reactions_to(again)
    assert one.job_id == other.job_id
