"""What the localize service asks of itself when review decides: an approved assembled script is
localized for its markets; an approval that completes what an animatic needs asks for the
animatic (its job id the plan's, so the same inputs never make a second one); nothing
otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from helix.events import AnimaticRequested, AssetKind, Deliverable, LocalizeRequested, ReviewApproved, new_event
from helix.events.examples import example
from helix.generation.ids import ImageAssetId, Reaction, animatic_job_id, parse_asset_id, reaction_job_id
from helix_localize import formats
from helix_localize.animatic import Editor, plan_digest
from helix_localize.reactions import LOCALIZE, LocalizeReactions

from .conftest import DUB, LOCALIZATION, PRODUCTION, SCRIPT, SOURCE_VOICE, SUBTITLES, Desk, animatic_inputs, frame_id, script_of


def reactions(desk: Desk) -> LocalizeReactions:
    return LocalizeReactions(desk.documents, desk.approvals, Editor(desk.documents, desk.approvals))


async def react(desk: Desk, asset_id: str, kind: str, decision: type = ReviewApproved, **fields: Any) -> list:
    return await react_with(reactions(desk), asset_id, kind, decision, **fields)


async def react_with(subject: LocalizeReactions, asset_id: str, kind: str, decision: type = ReviewApproved, **fields: Any) -> list:
    event = new_event(example(decision, production_id=PRODUCTION, asset_id=asset_id, kind=kind, decision_id="dec-7", **fields),
                      source="/tests")
    return await subject.react(event, parse_asset_id(asset_id))


async def test_an_approved_script_is_localized_for_every_market_but_its_own_language(desk: Desk) -> None:
    await desk.approve(desk.put_script(script_of({"s1": [("LANE", "Yes, sir.")]}, target_locales=("de-DE", "en", "ja-JP"))),
                       AssetKind.SCRIPT)
    (request,) = await react(desk, SCRIPT, "script")
    assert isinstance(request, LocalizeRequested) and request.target_locales == ["de-DE", "ja-JP"] and request.source_locale == "en"
    assert request.source_asset_id == SCRIPT and request.job_id == reaction_job_id(Reaction.LOCALIZATION, "dec-7")
    assert request.deliverables == [Deliverable.SUBTITLES, Deliverable.VOICEOVER] and request.subtitle_formats() == ["srt", "vtt", "ttml"]
    assert request.requested_by == LOCALIZE and request.timed_source_asset_id is None, "Helix's own voice-over is the timeline"
    assert request.caused_by is not None and (request.caused_by.decision_id, request.caused_by.outcome) == ("dec-7", "approved")


async def test_a_script_with_no_other_market_asks_for_nothing(desk: Desk) -> None:
    await desk.approve(desk.put_script(script_of({"s1": [("LANE", "Yes, sir.")]}, target_locales=("en",))), AssetKind.SCRIPT)
    assert await react(desk, SCRIPT, "script") == []


async def test_the_approval_that_completes_an_animatic_asks_for_it_once_per_plan(desk: Desk) -> None:
    await animatic_inputs(desk)
    plan = await Editor(desk.documents, desk.approvals).plan(PRODUCTION, LOCALIZATION, "de-DE")
    for asset_id, kind in ((frame_id("s3-shot1"), "frame"), (DUB, "voiceover"), ("script-earn-storyboard-s1", "storyboard")):
        (request,) = await react(desk, asset_id, kind)
        assert isinstance(request, AnimaticRequested) and (request.localization_job_id, request.locale) == (LOCALIZATION, "de-DE")
        assert request.job_id == animatic_job_id("de-DE", plan_digest(plan)), "the plan is the job: the same inputs, the same job"
        assert request.caused_by is not None and request.caused_by.asset_id == asset_id


async def test_a_frame_is_placed_in_its_shot_when_it_is_approved_not_when_the_animatic_is_ready(desk: Desk) -> None:
    inputs = await animatic_inputs(desk, approve=False)
    frame = inputs.frames["s1-shot1"]
    await desk.approve(frame, AssetKind.FRAME)
    editor = Editor(desk.documents, desk.approvals)
    event = new_event(example(ReviewApproved, production_id=PRODUCTION, asset_id=frame, kind="frame", decision_id="dec-8"), source="/tests")
    parsed = parse_asset_id(frame)
    assert isinstance(parsed, ImageAssetId) and editor.shot_of(parsed) is None
    assert await LocalizeReactions(desk.documents, desk.approvals, editor).react(event, parsed) == [], "the dub is not approved yet"
    assert editor.shot_of(parsed) == ("script-earn-storyboard-s1", "s1-shot1")


async def test_an_animatic_not_ready_yet_or_an_approval_that_cannot_complete_one_asks_for_nothing(desk: Desk) -> None:
    inputs = await animatic_inputs(desk, approve=False)
    await desk.approve(DUB, AssetKind.VOICEOVER)
    assert await react(desk, DUB, "voiceover") == [], "the dub alone: frames, storyboards and script still wait"
    await desk.approve(inputs.frames["s1-shot1"], AssetKind.FRAME)
    assert await react(desk, inputs.frames["s1-shot1"], "frame") == []
    assert await react(desk, "loc-de-DE-translation-loc-1", "script") == [], "a translation is no input of the animatic"
    assert await react(desk, "loc-de-DE-subtitles-qc-loc-1", "subtitles") == []
    assert await react(desk, "an-upload", "frame") == [], "an asset Helix did not name"



async def test_the_subtitles_are_read_when_approved_so_the_approval_that_completes_an_animatic_parses_nothing(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    await animatic_inputs(desk, approve=False)
    for asset_id, kind in ((SCRIPT, AssetKind.SCRIPT), (SUBTITLES, AssetKind.SUBTITLES), (SOURCE_VOICE, AssetKind.VOICEOVER),
                           *((b, AssetKind.STORYBOARD) for b in ("script-earn-storyboard-s1", "script-earn-storyboard-s3")),
                           *((frame_id(s), AssetKind.FRAME) for s in ("s1-shot1", "s1-shot2", "s3-shot1"))):
        await desk.approve(asset_id, kind)
    parsed: list[str] = []
    read_timed = formats.read_timed
    monkeypatch.setattr(formats, "read_timed", lambda data, media_type="", name="": parsed.append(name) or read_timed(data, media_type, name))
    subject = reactions(desk)
    assert await react_with(subject, SUBTITLES, "subtitles") == [], "the dub is not approved yet"
    assert parsed == [SUBTITLES], "read as the subtitles are approved"
    await desk.approve(DUB, AssetKind.VOICEOVER)
    (request,) = await react_with(subject, DUB, "voiceover")
    assert isinstance(request, AnimaticRequested) and parsed == [SUBTITLES], "the completing approval parses no subtitles again"
    plan = await subject.editor.plan(PRODUCTION, LOCALIZATION, "de-DE")
    assert plan.duration == pytest.approx(3.6), "the cut runs on to the last cue (3.1 s) and a breath, as when parsed in the plan"
