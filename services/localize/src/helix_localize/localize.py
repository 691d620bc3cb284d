"""One localization request, as named steps: check the request, load the approved script,
build the timeline, then every target locale side by side (translation, subtitles,
voice-over). Every output goes through the kit (`Job.store`) with lineage back to the
script and the timeline, a typed document (`helix.documents`) and a typed summary for
review; a resumed job reuses what it stored.

    check_request → approved_script → cast (the voices, under their consents) → timeline → for each locale:
        translate → subtitles (each format + QC report) → voice-over (fit, track, timing report)
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from helix.casting import SpokenVoice
from helix.documents import (
    MarketProfileDocument,
    SubtitleQcReport,
    Timeline,
    TimelineDocument,
    TimelineRef,
    TimingReport,
    TranslatedLine,
    TranslationDocument,
    VoiceCast,
)
from helix.events import (
    AssetKind,
    Authorship,
    Deliverable,
    HeardLine,
    LineChange,
    ListeningSummary,
    LocalizeRequested,
    ModelRef,
    SubtitleQcSummary,
    SubtitlesSummary,
    TimingSummary,
    TranslationSummary,
    VoiceoverSummary,
)
from helix.events.data import AssetCost
from helix.generation import GeneratedAsset, Job, JobRefused
from helix.generation.ids import LocaleAssetId, LocalePart
from helix.generation.reader import AnyAsset, Documents
from helix.story import Script
from helix_localize import audio, fitting, formats, market, qc, source, subtitles, terms, timeline, translation, voice
from helix_localize.adaptation import WriterShortener
from helix_localize.casting import CastingSource, NoCasting
from helix_localize.casting import voices as casting_voices
from helix_localize.listening import Listener
from helix_localize.rules import frame_rate, rules_for
from helix_localize.settings import LocalizeSettings

JSON = "application/json"
_FORMAT_PART = {"srt": LocalePart.SUBTITLES_SRT, "vtt": LocalePart.SUBTITLES_VTT, "ttml": LocalePart.SUBTITLES_TTML}
_NO_SPACES = ("ja", "zh", "th")


@dataclass
class Context:
    """What a locale's steps share within one job."""

    job: Job[LocalizeRequested]
    request: LocalizeRequested
    script: Script
    script_asset: str
    lines: list[source.ScriptLine]
    timeline: Timeline
    timeline_assets: list[str]
    fps: Fraction
    voices: dict[str, dict[str, SpokenVoice]]  # locale -> character -> the voice that speaks them

    @property
    def timeline_ref(self) -> TimelineRef:
        return TimelineRef(source=self.timeline.source, asset_id=self.timeline.asset_id)


class Localizer:
    def __init__(self, documents: Documents, translator: translation.Translator, speaker: voice.Speaker, settings: LocalizeSettings,
                 listener: Listener | None = None, casting: CastingSource | None = None) -> None:
        self.documents = documents
        self.casting = casting or NoCasting()
        self.translator = translator
        self.speaker = speaker
        self.settings = settings
        self.listener = listener

    # --- the steps, in order -----------------------------------------------------------------

    async def run(self, job: Job[LocalizeRequested]) -> list[str]:
        req = job.request
        self.check_request(req)
        read = await source.approved_script(self.documents, req.production_id, req.source_asset_id)
        script = read.document.content
        lines = source.dialogue(script)
        if not lines:
            raise JobRefused(f"{req.source_asset_id} has no dialogue to localize")
        voices = await self.cast(req, lines)
        line_timeline, timeline_assets = await self.timeline(job, req, lines, read.asset_id, voices.get(req.source_locale, {}))
        await job.progress(f"timeline from the {line_timeline.source} source: {len(line_timeline.lines)} lines", 0.1)
        ctx = Context(job, req, script, read.asset_id, lines, line_timeline, timeline_assets, frame_rate(req.frame_rate), voices)
        per_locale = await job.gather(*(self.locale(ctx, locale, n) for n, locale in enumerate(req.target_locales)))
        return [*timeline_assets, *(asset for ids in per_locale for asset in ids)]

    def check_request(self, req: LocalizeRequested) -> None:
        """Refuse what cannot be done, before any work: unknown pairs, locales with no voice."""
        for locale in req.target_locales:
            model = translation.pick_model(self.settings.translation_models(), req.source_locale, locale, self._profile(locale).formality)
            loaded = self.translator.loaded(model)
            loaded.target_prefix(translation.language(locale))
            loaded.forced_bos(translation.language(locale))
            if Deliverable.VOICEOVER in req.deliverables:
                voice.pick_voice(self.settings.voices(), locale)
        if not req.timed_source_asset_id:
            try:
                voice.pick_voice(self.settings.voices(), req.source_locale)
            except JobRefused as exc:
                raise JobRefused(f"{exc}; without one, send a timed dialogue list (timed_source_asset_id)") from None

    async def cast(self, req: LocalizeRequested, lines: list[source.ScriptLine]) -> dict[str, dict[str, SpokenVoice]]:
        """Each character's voice in every locale the job speaks (the source's when it lays out
        the timeline, each target's when it dubs), from the production's casting; a performer's
        voice without a consent in force refuses the job here, before anything is spoken."""
        spoken = [*(req.target_locales if Deliverable.VOICEOVER in req.deliverables else []),
                  *([] if req.timed_source_asset_id else [req.source_locale])]
        if not spoken:
            return {}
        resolved = await self.casting.casting(req.production_id)
        characters = [line.speaker for line in lines]
        return {locale: casting_voices(resolved, characters, locale, voice.pick_voice(self.settings.voices(), locale),
                                       lambda model: self.speaker.loaded(model).speakers, self.settings.localize_character_voices)
                for locale in dict.fromkeys(spoken)}

    async def timeline(self, job: Job[LocalizeRequested], req: LocalizeRequested, lines: list[source.ScriptLine], script_asset: str,
                       cast: dict[str, SpokenVoice]) -> tuple[Timeline, list[str]]:
        asset = LocaleAssetId(req.source_locale, LocalePart.TIMELINE, req.job_id)
        if (found := await job.resumed(asset.kind, str(asset))) is not None:
            stored = TimelineDocument.model_validate_json(found[1])
            return stored.timeline, stored.assets
        if req.timed_source_asset_id:
            data, media_type = await self._timed_source(req.production_id, req.timed_source_asset_id)
            cues = formats.read_timed(data, media_type, req.timed_source_asset_id)
            line_timeline = timeline.from_studio(cues, lines, req.timed_source_asset_id)
            made: list[str] = []  # the asset ids made on the way
            parents, model = [script_asset, req.timed_source_asset_id], None  # the studio's timing, matched to the lines
        else:  # Helix's own source-language voice-over becomes the timeline
            loaded = self.speaker.loaded(voice.pick_voice(self.settings.voices(), req.source_locale))
            speeches = await asyncio.gather(*(self.speaker.say(voice.SpeechSpec(cast[line.speaker].model, line.text, cast[line.speaker].speaker,
                                                                                1.0, _seed(line.line_id))) for line in lines))
            line_timeline = timeline.laid_out(lines, [s.seconds for s in speeches], str(asset))
            track = await asyncio.to_thread(audio.assemble, [(t.start, s.audio, s.sampling_rate) for t, s in zip(line_timeline.lines, speeches, strict=True)],
                                            target_lufs=self.settings.localize_loudness_lufs)
            made, model, parents = [], loaded.ref, [script_asset]
            cost = _cost([(s.model_seconds, s.compute_seconds) for s in speeches], loaded.device)
            listening = await self.listen(req.source_locale, [(t.line_id, line.text, s.audio, s.sampling_rate, t.start)
                                                              for t, line, s in zip(line_timeline.lines, lines, speeches, strict=True)])
            summary = VoiceoverSummary(locale=req.source_locale, role="source", listening=listening, voices=cast)
            for part, fmt in ((LocalePart.VOICEOVER_WAV, "wav"), (LocalePart.VOICEOVER_FLAC, "flac")):
                vo = LocaleAssetId(req.source_locale, part, req.job_id)
                await job.store(GeneratedAsset(
                    kind=vo.kind, asset_id=str(vo), data=await asyncio.to_thread(audio.encode, track, fmt), media_type=f"audio/{fmt}", ext=fmt, model=loaded.ref,
                    inputs={"lines": [{"line_id": line.line_id, "speaker": line.speaker, "text": line.text} for line in lines],
                            "voices": _voices_record(cast)},
                    parameters={"locale": req.source_locale, "role": "source voice-over: the production's timeline",
                                "loudness_lufs": round(track.loudness_lufs, 2), "sample_rate": track.rate, "seconds": round(track.seconds, 3)},
                    seed=None, parents=parents, cost=cost, summary=summary))
                made.append(str(vo))
        body = TimelineDocument(timeline=line_timeline, assets=[*made, str(asset)])
        await job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=body.model_dump_json(indent=1).encode(), media_type=JSON, ext="json",
            model=model, inputs={"source": line_timeline.source, "from": parents}, parameters={"lines": len(line_timeline.lines)},
            parents=[*parents, *made], authorship=Authorship.AI if model is not None else Authorship.HUMAN))
        return line_timeline, [*made, str(asset)]

    async def locale(self, ctx: Context, locale: str, index: int) -> list[str]:
        steps = 1 + (Deliverable.SUBTITLES in ctx.request.deliverables) + (Deliverable.VOICEOVER in ctx.request.deliverables)
        done = 0

        async def step(name: str) -> None:
            nonlocal done
            done += 1
            await ctx.job.progress(f"{locale}: {name}", 0.1 + 0.9 * (index + done / steps) / len(ctx.request.target_locales))

        translated, translation_id = await self.translate(ctx, locale)
        await step("translated")
        ids = [translation_id]
        if Deliverable.SUBTITLES in ctx.request.deliverables:
            ids += await self.subtitles(ctx, locale, translated, translation_id)
            await step("subtitles")
        if Deliverable.VOICEOVER in ctx.request.deliverables:
            ids += await self.voiceover(ctx, locale, translated, translation_id)
            await step("voice-over")
        return ids

    async def translate(self, ctx: Context, locale: str) -> tuple[list[TranslatedLine], str]:
        req = ctx.request
        asset = LocaleAssetId(locale, LocalePart.TRANSLATION, req.job_id)
        if (found := await ctx.job.resumed(asset.kind, str(asset))) is not None:
            return TranslationDocument.model_validate_json(found[1]).lines, str(asset)
        profile = self._profile(locale)
        model = translation.pick_model(self.settings.translation_models(), req.source_locale, locale, profile.formality)
        adapted = [market.adapt(line.text, profile) for line in ctx.lines]
        locked = source.locked_terms(ctx.script, list(req.glossary))
        results: list[translation.Translated] = []

        async def translate_texts(texts: list[str]) -> list[str]:
            done = await self.translator.translate(model, req.source_locale, locale, texts)
            results.extend(done)
            return [subtitles.clean(t.text) for t in done]

        joiner = "" if translation.language(locale) in _NO_SPACES else " "
        market_values = [t for a in adapted for t in a.locked]  # what the profile wrote is locked too
        outcomes = await terms.translate_locked([a.text for a in adapted], [*locked, *market_values], translate_texts, joiner=joiner)
        rows = [TranslatedLine(line_id=line.line_id, scene_id=line.scene_id, speaker=line.speaker, source=line.text, adapted=adaptation.text,
                               target=outcome.target, method=outcome.method, locked=[t.target for t in outcome.terms], missing=outcome.missing,
                               market_changes=adaptation.changes, avoided=market.avoided(outcome.target, profile))
                for line, adaptation, outcome in zip(ctx.lines, adapted, outcomes, strict=True)]
        loaded = self.translator.loaded(model)
        body = TranslationDocument(locale=locale, source_locale=req.source_locale, script=ctx.script_asset, timeline=ctx.timeline_ref,
                                   profile=MarketProfileDocument(locale=profile.locale, formality=profile.formality,
                                                                 measurement=profile.measurement, avoid=list(profile.avoid)),
                                   lines=rows)
        summary = TranslationSummary(locale=locale, lines=len(rows), locked_terms=sum(len(r.locked) for r in rows),
                                     locked_terms_missing=sum(len(r.missing) for r in rows), avoided_terms=sum(len(r.avoided) for r in rows),
                                     market_changes=sum(len(r.market_changes) for r in rows))
        await ctx.job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=body.model_dump_json(indent=1).encode(), media_type=JSON, ext="json",
            model=loaded.ref, inputs={"source_asset_id": ctx.script_asset, "lines": len(rows), "glossary": list(req.glossary)},
            parameters={"locale": locale, "source_locale": req.source_locale, "num_beams": self.translator.num_beams, "dtype": loaded.dtype,
                        "device": loaded.device, "formality": profile.formality,
                        "methods": {m: sum(r.method == m for r in rows) for m in ("plain", "placeholders", "segments")}},
            parents=[ctx.script_asset, ctx.timeline.asset_id], summary=summary,
            cost=_cost([(r.model_seconds, r.compute_seconds) for r in results], loaded.device)))
        return rows, str(asset)

    async def subtitles(self, ctx: Context, locale: str, rows: list[TranslatedLine], translation_id: str) -> list[str]:
        req = ctx.request
        rules = rules_for(locale)
        timing = {t.line_id: t for t in ctx.timeline.lines}
        cues = [subtitles.Cue(r.line_id, r.speaker, r.target, timing[r.line_id].start, timing[r.line_id].end) for r in rows]
        result = subtitles.segment(cues, rules, ctx.fps, req.audience)
        report = SubtitleQcReport.model_validate(qc.report(result.events, rules, ctx.fps, req.audience, result.fixes))
        qc_summary = SubtitleQcSummary(passed=report.passed, breaches=len(report.breaches), rules=sorted({b.rule for b in report.breaches}),
                                       fixes=len(report.fixes))
        model = self._translator_ref(req, locale)
        parents = [translation_id, ctx.timeline.asset_id]
        ids = []
        for fmt in req.subtitle_formats():
            asset = LocaleAssetId(locale, _FORMAT_PART[fmt], req.job_id)
            if await ctx.job.resumed(asset.kind, str(asset)) is None:
                await ctx.job.store(GeneratedAsset(
                    kind=asset.kind, asset_id=str(asset), data=formats.write(result.events, fmt, language=locale, fps=ctx.fps),
                    media_type=formats.MEDIA_TYPES[fmt], ext=formats.EXTENSIONS[fmt], model=model,
                    inputs={"translation": translation_id, "timeline": ctx.timeline.source},
                    parameters={"locale": locale, "format": fmt, "events": len(result.events), "frame_rate": report.frame_rate,
                                "audience": req.audience}, parents=parents,
                    summary=SubtitlesSummary(locale=locale, format=fmt, events=len(result.events), qc=qc_summary)))
            ids.append(str(asset))
        asset = LocaleAssetId(locale, LocalePart.SUBTITLES_QC, req.job_id)
        if await ctx.job.resumed(asset.kind, str(asset)) is None:
            await ctx.job.store(GeneratedAsset(
                kind=asset.kind, asset_id=str(asset), data=report.model_dump_json(indent=1).encode(), media_type=JSON, ext="json",
                model=model, inputs={"files": ids, "translation": translation_id},
                parameters={"locale": locale, "report": "subtitle quality check"}, parents=[*ids, translation_id],
                summary=SubtitlesSummary(locale=locale, format="qc", events=len(result.events), qc=qc_summary)))
        return [*ids, str(asset)]

    async def voiceover(self, ctx: Context, locale: str, rows: list[TranslatedLine], translation_id: str) -> list[str]:
        req = ctx.request
        ids = [str(LocaleAssetId(locale, p, req.job_id)) for p in (LocalePart.VOICEOVER_WAV, LocalePart.VOICEOVER_FLAC, LocalePart.VOICEOVER_TIMING)]
        if all([await ctx.job.resumed(AssetKind.VOICEOVER, i) is not None for i in ids]):
            return ids
        model_name = voice.pick_voice(self.settings.voices(), locale)
        loaded = self.speaker.loaded(model_name)
        timing = {t.line_id: t for t in ctx.timeline.lines}
        ordered = sorted(rows, key=lambda r: timing[r.line_id].start)
        lines = [fitting.Line(r.line_id, r.speaker, r.target, timing[r.line_id].start, timing[r.line_id].end,
                              timing[ordered[n + 1].line_id].start if n + 1 < len(ordered) else None) for n, r in enumerate(ordered)]
        cast = ctx.voices[locale]
        speakers = {c: v.speaker for c, v in cast.items()}
        spent: list[tuple[float, float]] = []

        async def synthesize(batch: list[fitting.Line], rates: list[float]) -> list[Any]:
            speeches = await asyncio.gather(*(self.speaker.say(voice.SpeechSpec(cast[line.speaker].model, line.text, cast[line.speaker].speaker,
                                                                                rate, _seed(line.line_id, locale)))
                                              for line, rate in zip(batch, rates, strict=True)))
            spent.extend((s.model_seconds, s.compute_seconds) for s in speeches)
            # a character cast to another model (a performer's) may speak at another rate: fitted at the locale voice's
            return [audio.resample(s.audio, s.sampling_rate, loaded.sampling_rate) for s in speeches]

        shortener = None
        if self.settings.localize_shorten_with_writer:
            shortener = WriterShortener(self.settings, self.settings.localize_writer_address, production_id=req.production_id,
                                        locale=locale, job_id=req.job_id, timeout_s=self.settings.localize_shorten_timeout_s)
        fit_settings = fitting.FitSettings(sample_rate=loaded.sampling_rate, rate_cap=self.settings.localize_rate_cap,
                                           rate_step=self.settings.localize_rate_step, allow_slowdown=self.settings.localize_allow_slowdown,
                                           min_rate=self.settings.localize_min_rate, min_gap_s=2 / float(ctx.fps))
        fitted = await fitting.fit(lines, synthesize, shortener, fit_settings)
        track = await asyncio.to_thread(audio.assemble, [(f.start, f.audio, loaded.sampling_rate) for f in fitted],
                                        target_lufs=self.settings.localize_loudness_lufs)
        changes = [LineChange(line_id=f.line_id, original=f.original, replacement=f.text, reason=f"shorter, to fit {f.slot_end - f.slot_start:.2f}s",
                              by=shortener.model if shortener else None) for f in fitted if f.original is not None]
        report = TimingReport(locale=locale, timeline=ctx.timeline_ref, voice=VoiceCast(model=loaded.ref, speakers=speakers, voices=cast),
                              loudness_lufs=round(track.loudness_lufs, 2), target_lufs=self.settings.localize_loudness_lufs,
                              sample_rate=track.rate, seconds=round(track.seconds, 3), rate_cap=fit_settings.rate_cap,
                              lines=[f.report() for f in fitted], changes=changes)
        listening = await self.listen(locale, [(f.line_id, f.text, f.audio, loaded.sampling_rate, f.start) for f in fitted])
        summary = VoiceoverSummary(locale=locale, role="dub", changes=changes, listening=listening, voices=cast, timing=TimingSummary(
            lines=len(fitted), overshoots=sum(f.overshoot_ms > 0 for f in fitted),
            max_overshoot_ms=round(max((f.overshoot_ms for f in fitted), default=0.0), 1),
            max_speedup=round(max((f.rate * f.stretch for f in fitted), default=1.0), 3), shortened=len(changes),
            loudness_lufs=round(track.loudness_lufs, 2)))
        cost = _cost(spent, loaded.device)
        parents = [translation_id, ctx.timeline.asset_id]
        models = [loaded.ref, *([shortener.model] if shortener and shortener.model and changes else [])]
        common: dict[str, Any] = {"model": loaded.ref, "parents": parents, "summary": summary,
                                  "inputs": {"translation": translation_id, "timeline": ctx.timeline.source, "speakers": speakers,
                                             "voices": _voices_record(cast),
                                             "models": [m.model_dump() for m in models]}}
        for asset_id, fmt in zip(ids[:2], ("wav", "flac"), strict=True):
            await ctx.job.store(GeneratedAsset(kind=AssetKind.VOICEOVER, asset_id=asset_id, data=await asyncio.to_thread(audio.encode, track, fmt),
                                               media_type=f"audio/{fmt}",
                                               ext=fmt, parameters={"locale": locale, "sample_rate": track.rate}, cost=cost, **common))
        await ctx.job.store(GeneratedAsset(kind=AssetKind.VOICEOVER, asset_id=ids[2], data=report.model_dump_json(indent=1).encode(),
                                           media_type=JSON, ext="json", parameters={"locale": locale, "report": "timing"},
                                           **{**common, "parents": [*ids[:2], *parents]}))
        return ids

    async def listen(self, locale: str, lines: list[tuple[str, str, Any, int, float]]) -> ListeningSummary | None:
        """The listening QC of a track's lines `(line_id, text, audio, rate, start on the track)`;
        None when it is off. The language is the locale's, never guessed from the audio."""
        if self.listener is None:
            return None
        listener = self.listener
        heard, took = await asyncio.to_thread(listener.hear_all, [(lid, text, wave, rate) for lid, text, wave, rate, _ in lines],
                                              locale.split("-")[0].lower())
        starts = {lid: start for lid, _, _, _, start in lines}
        limit = self.settings.localize_listen_wer_limit
        flagged = sorted((h for h in heard if h.over(limit)), key=lambda h: -h.wer)
        return ListeningSummary(
            model=listener.ref(), lines=len(heard), median_wer=round(float(np.median([h.wer for h in heard])) if heard else 0.0, 4),
            wer_limit=limit, seconds=round(took, 3),
            flagged=[HeardLine(line_id=h.line_id, text=h.text[:2_000], transcript=h.transcript[:2_000], wer=h.wer, cer=h.cer,
                               start=round(starts[h.line_id], 3), end=round(starts[h.line_id] + h.seconds, 3)) for h in flagged[:500]])

    # --- helpers -------------------------------------------------------------------------------

    def _profile(self, locale: str) -> market.MarketProfile:
        return market.profile_for(locale, self.settings.localize_markets.get(locale))

    def _translator_ref(self, req: LocalizeRequested, locale: str) -> ModelRef:
        model = translation.pick_model(self.settings.translation_models(), req.source_locale, locale, self._profile(locale).formality)
        return self.translator.loaded(model).ref

    async def _timed_source(self, production_id: str, asset_id: str) -> tuple[bytes, str]:
        """A studio's timed dialogue list (any kind it was uploaded as): its newest version."""
        for kind in (AssetKind.SUBTITLES, AssetKind.SCRIPT, AssetKind.DIALOGUE):
            found = await self.documents.latest(production_id, AnyAsset(asset_id, kind))
            if found is not None:
                return found.data, found.stored.media_type
        raise JobRefused(f"no timed source {asset_id} in production {production_id}")


def _voices_record(cast: dict[str, SpokenVoice]) -> dict[str, dict[str, Any]]:
    """Who spoke each character, as the asset's inputs record it: a performer's name here is what
    the review service matches against their consents (and flags again when one lapses)."""
    return {c: v.model_dump(mode="json", exclude_none=True) for c, v in cast.items()}


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big") >> 1


def _cost(spent: list[tuple[float, float]], device: str) -> AssetCost | None:
    if not spent:
        return None
    compute = sum(c for _, c in spent)
    return AssetCost(model_seconds=round(compute, 6), gpu_seconds=round(compute if device.startswith("cuda") else 0.0, 6), device=device)
