"""What the visual service asks of itself when review decides: frames for an approved
storyboard (at the configured frame size), a revision for a revision request on one of its
images, the decision named as the cause and the job id drawn from it; nothing for the rest."""

from __future__ import annotations

from helix.events import (
    ClipRequested,
    FrameRequested,
    ImageRevisionRequested,
    Region,
    ReviewApproved,
    ReviewDecision,
    ReviewRejected,
    ReviewRevisionRequested,
    TimeNote,
    new_event,
)
from helix.events.examples import example
from helix.generation.ids import Reaction, clip_job_id, parse_asset_id, reaction_job_id
from helix_visual.reactions import VISUAL, VisualReactions
from helix_visual.settings import VisualSettings

REACTIONS = VisualReactions(VisualSettings(visual_frame_width=320, visual_frame_height=192, visual_frame_steps=6))


async def react(decision_type: type[ReviewDecision], asset_id: str, kind: str, **fields: object) -> list:
    event = new_event(example(decision_type, asset_id=asset_id, kind=kind, asset_version=2, **fields), source="/tests")
    return await REACTIONS.react(event, parse_asset_id(asset_id))


async def test_an_approved_storyboard_asks_for_its_frames_at_the_configured_size() -> None:
    (request,) = await react(ReviewApproved, "script-j1-storyboard-s2", "storyboard")
    assert isinstance(request, FrameRequested) and request.storyboard_asset_id == "script-j1-storyboard-s2"
    assert request.job_id == reaction_job_id(Reaction.FRAMES, "dec-0001") and request.requested_by == VISUAL
    assert (request.width, request.height, request.steps) == (320, 192, 6)
    assert request.shot_id is None, "every shot of the storyboard"
    assert request.cast is True, "the tiny pipeline has the tiny IP-Adapter: frames keep the approved cast"
    cause = request.caused_by
    assert cause is not None and (cause.decision_id, cause.asset_id, cause.asset_version, cause.outcome) == (
        "dec-0001", "script-j1-storyboard-s2", 2, "approved")


async def test_a_model_without_reference_conditioning_draws_no_cast() -> None:
    reactions = VisualReactions(VisualSettings(visual_reference_model="none"))
    event = new_event(example(ReviewApproved, asset_id="script-j1-storyboard-s2", kind="storyboard", asset_version=1), source="/tests")
    (request,) = await reactions.react(event, parse_asset_id("script-j1-storyboard-s2"))
    assert isinstance(request, FrameRequested) and request.cast is False


async def test_a_revision_request_on_an_image_becomes_its_revision_with_the_marked_regions() -> None:
    regions = [Region(x=0.1, y=0.2, width=0.3, height=0.4, note="storm clouds")]
    (request,) = await react(ReviewRevisionRequested, "frame-job-7-s1-shot2", "frame", notes="Darker sky.", regions=regions,
                             decision_id="dec-9")
    assert isinstance(request, ImageRevisionRequested) and request.asset_id == "frame-job-7-s1-shot2" and request.asset_version == 2
    assert request.notes == "Darker sky." and request.regions == regions and request.parent_asset_ids == ["frame-job-7-s1-shot2"]
    assert request.job_id == reaction_job_id(Reaction.REVISION, "dec-9")
    assert request.requested_by.subject == "rhea@studio.example", "the reviewer asked for it"
    assert request.caused_by is not None and request.caused_by.outcome == "revision_requested"


async def test_other_decisions_ask_for_nothing() -> None:
    assert await react(ReviewApproved, "frame-job-7-s1-shot2", "frame") == [], "an approved frame is done"
    assert await react(ReviewApproved, "script-j1-script", "script") == [], "a script is the writer's"
    assert await react(ReviewRevisionRequested, "script-j1-storyboard-s2", "storyboard", notes="More shots.") == [], \
        "a storyboard's revision is the writer's"
    assert await react(ReviewRejected, "script-j1-storyboard-s2", "storyboard") == []
    assert await react(ReviewApproved, "an-upload", "frame") == [], "an image Helix did not name"



async def test_an_approved_frame_asks_for_its_clip_only_where_motion_is_on() -> None:
    assert await react(ReviewApproved, "frame-job-7-s1-shot2", "frame") == [], "motion is off by default"
    reactions = VisualReactions(VisualSettings(visual_motion_on_approval=True, visual_clip_fps=12, visual_clip_width=320,
                                               visual_clip_height=192, visual_clip_steps=3))
    event = new_event(example(ReviewApproved, asset_id="frame-job-7-s1-shot2", kind="frame", asset_version=2, decision_id="dec-5"),
                      source="/tests")
    (request,) = await reactions.react(event, parse_asset_id("frame-job-7-s1-shot2"))
    assert isinstance(request, ClipRequested)
    assert (request.frame_asset_id, request.frame_version, request.revises) == ("frame-job-7-s1-shot2", 2, None)
    assert (request.fps, request.width, request.height, request.steps) == (12, 320, 192, 3)
    assert request.job_id == clip_job_id("frame-job-7-s1-shot2", 2) and request.requested_by == VISUAL
    again = new_event(example(ReviewApproved, asset_id="frame-job-7-s1-shot2", kind="frame", asset_version=2, decision_id="dec-8"),
                      source="/tests")
    (twice,) = await reactions.react(again, parse_asset_id("frame-job-7-s1-shot2"))
    assert twice.job_id == request.job_id, "the same frame version approved again: the same clip job, never a second clip"
    off = VisualReactions(VisualSettings(visual_motion_on_approval=True, visual_video_model="none"))
    assert await off.react(event, parse_asset_id("frame-job-7-s1-shot2")) == [], "no video model: nothing to ask for"


async def test_a_clip_sent_back_becomes_a_new_version_of_it_with_the_notes() -> None:
    moments = [TimeNote(start_s=0.5, end_s=1.0, note="slower here")]
    (request,) = await react(ReviewRevisionRequested, "clip-clp-dec-5-s1-shot2", "clip", notes="Slower pan.", decision_id="dec-6",
                             timecodes=moments)
    assert request.timecodes == moments, "the revision request carries the reviewer's moments"
    assert isinstance(request, ClipRequested) and request.frame_asset_id is None
    assert request.revises is not None and (request.revises.asset_id, request.revises.version) == ("clip-clp-dec-5-s1-shot2", 2)
    assert request.prompt == "Slower pan." and request.job_id == reaction_job_id(Reaction.REVISION, "dec-6")
    assert request.requested_by.subject == "rhea@studio.example"
