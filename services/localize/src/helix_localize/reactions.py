"""What the localize service asks of itself when review decides (choreography).

- An approved assembled script: a `LocalizeRequested` for every target locale it names (the
  production's markets): subtitles in every format and voice-over, its job id from the
  decision, so a redelivered decision is the same request.
- Any other approval that may complete what an animatic needs (a frame, a storyboard, a
  dubbed track, subtitles): for each localization of the production whose dubbed track is
  approved, the editor plans the animatic, and when everything is approved an
  `AnimaticRequested` is made. The job's id is the plan's digest: the same approved inputs
  never make a second animatic, and a re-approved revision of a frame makes a new version.
Planning reads approved documents (cached); what a plan derives from an approved version (which
shot a frame draws, where the subtitles end) is learnt as that version is approved, so the
approval that completes an animatic plans it in tens of milliseconds. The cut itself runs on
the request path.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from helix.documents import ScriptDocument, StoryboardDocument
from helix.events import (
    Actor,
    AnimaticRequested,
    AssetKind,
    CloudEvent,
    Deliverable,
    GenerationRequest,
    LocalizeRequested,
    ReviewApproved,
    ReviewDecision,
)
from helix.generation.approvals import Approvals
from helix.generation.ids import (
    ImageAssetId,
    ImageFamily,
    LocaleAssetId,
    LocalePart,
    Reaction,
    ScriptAssetId,
    ScriptPart,
    animatic_job_id,
    reaction_job_id,
)
from helix.generation.reader import Documents
from helix.generation.service import TypedAssetId, cause
from helix_localize.animatic import Editor, NotReady, plan_digest

log = structlog.get_logger("helix.localize")
HANDLED = (ReviewApproved,)
LOCALIZE = Actor(subject="localize", kind="service")
# Approvals that can complete an animatic's inputs: a dubbed track or subtitles (and frames and storyboards).
_SUBTITLES = {LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_SRT}
_ANIMATIC_TRACKS = {LocalePart.VOICEOVER_WAV, *_SUBTITLES}


class LocalizeReactions:
    def __init__(self, documents: Documents, approvals: Approvals, editor: Editor) -> None:
        self.documents = documents
        self.approvals = approvals
        self.editor = editor

    async def react(self, event: CloudEvent[ReviewDecision], asset: TypedAssetId | None) -> list[GenerationRequest]:
        """A localization for an approved script; an animatic once everything it needs is approved."""
        if isinstance(asset, ScriptAssetId) and asset.part is ScriptPart.SCRIPT:
            return await self.localization_for(event, asset)
        if isinstance(asset, ImageAssetId) and asset.family is ImageFamily.FRAME:
            await self.editor.place(event.data.production_id, [asset])  # now, not when the last input of an animatic comes
        if isinstance(asset, ScriptAssetId) and asset.part is ScriptPart.STORYBOARD:
            await self.documents.approved(event.data.production_id, asset, StoryboardDocument, what="storyboard")  # read (and cached) now
        if isinstance(asset, LocaleAssetId) and asset.part in _SUBTITLES:
            await self.learn_subtitles(event.data.production_id, asset)
        if (isinstance(asset, LocaleAssetId) and asset.part in _ANIMATIC_TRACKS) or isinstance(asset, ImageAssetId) or (
                isinstance(asset, ScriptAssetId) and asset.part is ScriptPart.STORYBOARD):
            return await self.animatics_now_ready(event)
        return []

    async def learn_subtitles(self, production_id: str, asset: LocaleAssetId) -> None:
        """Where the approved subtitles' last cue ends, learnt now: parsing an episode's cues is
        not left for the approval that completes an animatic's inputs."""
        try:
            subtitles = await self.editor.subtitles(production_id, asset.job, asset.locale)
        except NotReady:
            return  # not approved (a revision of the other format, say): learnt when it is
        if subtitles is not None and subtitles.asset_id == str(asset):
            await self.editor.last_cue(production_id, subtitles)

    async def localization_for(self, event: CloudEvent[ReviewDecision], asset: ScriptAssetId) -> list[GenerationRequest]:
        decision = event.data
        read = await self.documents.approved(decision.production_id, asset, ScriptDocument, what="script")
        script = read.document.content
        targets = [t for t in script.target_locales if t != script.locale]
        if not targets:
            log.info("localize.no_target_locales", asset_id=decision.asset_id)
            return []
        return [LocalizeRequested(production_id=decision.production_id, job_id=reaction_job_id(Reaction.LOCALIZATION, decision.decision_id),
                                  requested_by=LOCALIZE, source_asset_id=decision.asset_id, source_locale=script.locale,
                                  target_locales=targets, deliverables=[Deliverable.SUBTITLES, Deliverable.VOICEOVER],
                                  formats=["srt", "vtt", "ttml"], caused_by=cause(event))]

    async def animatics_now_ready(self, event: CloudEvent[ReviewDecision]) -> list[GenerationRequest]:
        decision = event.data
        dubs = sorted({(track.job, track.locale) for approved in await self.approvals.approved_of(decision.production_id, AssetKind.VOICEOVER)
                       if (track := LocaleAssetId.parse(approved.asset_id)) is not None and track.part is LocalePart.VOICEOVER_WAV})
        requests: list[GenerationRequest] = []
        began = time.perf_counter()
        plans = await asyncio.gather(*(self.editor.plan(decision.production_id, job, locale) for job, locale in dubs), return_exceptions=True)
        planned_s = round(time.perf_counter() - began, 3)  # the reaction's own cost: the slowest decisions of the episode
        for (localization_job, locale), plan in zip(dubs, plans, strict=True):
            if isinstance(plan, NotReady):
                log.debug("localize.animatic_not_ready", job=localization_job, locale=locale, why=str(plan))
                continue
            if isinstance(plan, BaseException):
                raise plan
            log.info("localize.animatic_ready", job=localization_job, locale=locale, shots=len(plan.cuts), seconds=round(plan.duration, 1),
                     planned_s=planned_s)
            requests.append(AnimaticRequested(production_id=decision.production_id, job_id=animatic_job_id(locale, plan_digest(plan)),
                                              requested_by=LOCALIZE, localization_job_id=localization_job, locale=locale,
                                              caused_by=cause(event)))
        return requests
