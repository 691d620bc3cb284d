"""What the localize service does when review decides (choreography).

- An approved assembled script is localized for every target locale it names (the
  production's markets): subtitles in every format and voice-over, in a job whose id comes
  from the decision, so a redelivered decision resumes the same job.
- Any other approval may complete what an animatic needs (the last frame of a storyboard,
  a dubbed track, subtitles): for each localization of the production whose dubbed track is
  approved, the editor plans the animatic, and when everything is approved it is cut. The
  job's id is the plan's digest: the same approved inputs never make a second animatic, and
  a re-approved revision of a frame makes a new version of it.
"""

from __future__ import annotations

from typing import Any

import structlog

from helix.events import AnimaticRequested, CloudEvent, Deliverable, LocalizeRequested, ReviewApproved, new_event
from helix.generation import GeneratorKit, derived_event_id
from helix.generation.approvals import Approvals
from helix.generation.ids import LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart
from helix_localize import source
from helix_localize.animatic import Editor, NotReady
from helix_localize.localize import Localizer

log = structlog.get_logger("helix.localize")
SOURCE = "/helix/localize"
HANDLED = (ReviewApproved,)
# Approvals that can complete an animatic's inputs: frames, storyboards, tracks and subtitles.
_ANIMATIC_INPUTS = {LocalePart.VOICEOVER_WAV, LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_SRT}


class LocalizeReactions:
    def __init__(self, kit: GeneratorKit, localizer: Localizer, editor: Editor, approvals: Approvals) -> None:
        self.kit = kit
        self.localizer = localizer
        self.editor = editor
        self.approvals = approvals

    async def on_decision(self, event: CloudEvent[Any]) -> None:
        decision: ReviewApproved = event.data
        script = ScriptAssetId.parse(decision.asset_id)
        if script is not None and script.part is ScriptPart.SCRIPT:
            await self.localize_approved_script(event)
            return
        located = LocaleAssetId.parse(decision.asset_id)
        if located is not None and located.part not in _ANIMATIC_INPUTS:
            return
        if located is None and not decision.asset_id.startswith("frame-") and not (script and script.part is ScriptPart.STORYBOARD):
            return
        await self.animatics_now_ready(event)

    async def localize_approved_script(self, event: CloudEvent[Any]) -> None:
        decision: ReviewApproved = event.data
        script, _ = await source.approved_script(self.localizer.store, self.approvals, decision.production_id, decision.asset_id)
        targets = [t for t in script.target_locales if t != script.locale]
        if not targets:
            log.info("localize.no_target_locales", asset_id=decision.asset_id)
            return
        request = LocalizeRequested(production_id=decision.production_id, job_id=f"loc-{decision.decision_id}"[:128],
                                    requested_by=self.kit.actor, source_asset_id=decision.asset_id, source_locale=script.locale,
                                    target_locales=targets, deliverables=[Deliverable.SUBTITLES, Deliverable.VOICEOVER],
                                    formats=["srt", "vtt", "ttml"])
        log.info("localize.script_approved", asset_id=decision.asset_id, locales=targets, job_id=request.job_id)
        await self.kit.run(new_event(request, source=SOURCE, event_id=derived_event_id("reaction", event.id)), self.localizer.run)

    async def animatics_now_ready(self, event: CloudEvent[Any]) -> None:
        decision: ReviewApproved = event.data
        tracks = await self.approvals.approved_in(decision.production_id, "loc-")
        candidates = sorted({(a.job, a.locale) for asset_id, _, _ in tracks
                             if (a := LocaleAssetId.parse(asset_id)) is not None and a.part is LocalePart.VOICEOVER_WAV})
        for localization_job, locale in candidates:
            try:
                plan = await self.editor.plan(decision.production_id, localization_job, locale)
            except NotReady as why:
                log.debug("localize.animatic_not_ready", job=localization_job, locale=locale, why=str(why))
                continue
            request = AnimaticRequested(production_id=decision.production_id, job_id=f"anim-{locale}-{plan.digest()}",
                                        requested_by=self.kit.actor, localization_job_id=localization_job, locale=locale)
            log.info("localize.animatic_ready", job=localization_job, locale=locale, shots=len(plan.cuts), seconds=round(plan.duration, 1))
            await self.kit.run(new_event(request, source=SOURCE, event_id=derived_event_id("animatic", decision.production_id, request.job_id)),
                               self.editor.cut)
