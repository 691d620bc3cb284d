"""The animatic: where Helix's parts meet. The approved storyboard frames of a script, each
on screen for its shot's share of its scene on a localization's timeline (moving where the
shot has an approved clip of that frame, its last picture held if the shot runs longer; held
still where it has none: the plan and the asset's summary say which), with one locale's
approved dubbed track and subtitles, and the source-language voice-over as a second audio
track where Helix synthesized the timeline: an MP4 (H.264 + AAC + mov_text subtitles) cut
by ffmpeg, signed with Content Credentials like every other media asset.

    plan (everything approved? which versions? where each shot starts and ends: `AnimaticPlan`)
      → cut (ffmpeg: the frames, and each clip's pictures, as a concat list with durations, a
        key frame at every shot)
      → store (lineage to every frame, track and subtitle file it uses)

Where a shot sits: a scene runs from its first line's start on the timeline (the first
scene from 0) to the next scene's start (the last one to the end of the audio); its shots
share that span in proportion to the durations the storyboard gave them; the last runs on
until the last line or subtitle has ended. Scenes with no dialogue are not on the timeline:
the plan names them. Every read goes through the kit's `Documents` (approved versions,
cached: a plan is made again on every approval that may complete it); the forty storyboards'
approved versions are one question to the record of decisions, and what a plan derives from a
stored version (a frame's shot, the subtitles' last cue) is kept per version, learnt as the
version is approved.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from helix import ffmpeg
from helix.documents import (
    AnimaticCut,
    AnimaticPlan,
    ScriptDocument,
    StoryboardDocument,
    Timeline,
    TimelineDocument,
    TranslationDocument,
    VersionRef,
)
from helix.events import AnimaticRequested, AnimaticSummary, AssetKind, ModelRef
from helix.generation import GeneratedAsset, Job, JobRefused
from helix.generation.approvals import Approvals
from helix.generation.ids import CLIP_FRAME_INPUT, ImageAssetId, LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart
from helix.generation.reader import AssetRef, Documents, NotApproved
from helix.story import Script
from helix.threads import control
from helix_localize import formats


class NotReady(JobRefused):
    """Something the animatic needs is missing or not approved yet; the message says what."""


def plan_digest(plan: AnimaticPlan) -> str:
    """Changes whenever any input version or cut changes: one animatic per distinct plan."""
    body = json.dumps([[str(s) for s in plan.sources()], [(c.shot_id, round(c.start, 3), round(c.end, 3)) for c in plan.cuts]])
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def animatic_asset(plan: AnimaticPlan) -> LocaleAssetId:
    return LocaleAssetId(plan.locale, LocalePart.ANIMATIC, plan.localization_job)


class Editor:
    def __init__(self, documents: Documents, approvals: Approvals) -> None:
        self.documents = documents
        self.approvals = approvals
        self._frame_of: dict[str, tuple[str, str]] = {}  # frame -> (storyboard, shot): a stored version never changes
        self._last_cue: dict[tuple[str, int], float] = {}  # (subtitles, version) -> its last cue's end
        self._clip_of: dict[tuple[str, int], tuple[str, int]] = {}  # (clip, version) -> (frame, version) it moves

    # --- plan -----------------------------------------------------------------------------------

    async def plan(self, production_id: str, localization_job: str, locale: str) -> AnimaticPlan:
        dub = await self._approved(production_id, LocaleAssetId(locale, LocalePart.VOICEOVER_WAV, localization_job), "dubbed track")
        translation = await self.documents.latest(production_id, LocaleAssetId(locale, LocalePart.TRANSLATION, localization_job),
                                                  TranslationDocument)
        script_part = ScriptAssetId.parse(translation.document.script) if translation is not None else None
        if script_part is None or script_part.part is not ScriptPart.SCRIPT:
            raise NotReady(f"localization {localization_job} has no {locale} translation of an assembled script")
        script_read = await self._read_approved(production_id, script_part, ScriptDocument, "script")
        script: Script = script_read.document.content
        script_source = VersionRef(asset_id=str(script_part), version=script_read.version)
        timeline_read = await self.documents.latest(production_id, LocaleAssetId(script.locale, LocalePart.TIMELINE, localization_job),
                                                    TimelineDocument)
        if timeline_read is None:
            raise NotReady(f"no timeline for localization {localization_job}")
        line_timeline, timeline_assets = timeline_read.document.timeline, timeline_read.document.assets
        # What exists must be approved before it is used: an animatic is cut once, from approved parts.
        subtitles = await self.subtitles(production_id, localization_job, locale)
        source_voice = None
        for asset_id in timeline_assets:
            parsed = LocaleAssetId.parse(asset_id)
            if parsed is not None and parsed.part is LocalePart.VOICEOVER_WAV:
                source_voice = await self._approved(production_id, parsed, "source voice-over")
        # a cue may stay up past its line (minimum duration): the picture waits for it
        last_cue = await self.last_cue(production_id, subtitles) if subtitles is not None else 0.0
        cuts, off = await self._cuts(production_id, script, script_part.script_id, line_timeline, last_cue)
        duration = max([c.end for c in cuts], default=0.0)
        return AnimaticPlan(production_id=production_id, localization_job=localization_job, locale=locale, script=script_source,
                            source_locale=script.locale, cuts=cuts, dub=dub, subtitles=subtitles, source_voice=source_voice,
                            duration=duration, off_timeline=off)

    async def _cuts(self, production_id: str, script: Script, script_id: str, line_timeline: Timeline,
                    last_cue: float) -> tuple[list[AnimaticCut], list[str]]:
        starts: dict[str, float] = {}
        ends: dict[str, float] = {}
        for line in line_timeline.lines:
            starts[line.scene_id] = min(starts.get(line.scene_id, line.start), line.start)
            ends[line.scene_id] = max(ends.get(line.scene_id, line.end), line.end)
        on = [s.scene_id for s in script.scenes if s.scene_id in starts]
        off = [s.scene_id for s in script.scenes if s.scene_id not in starts]
        if not on:
            raise NotReady("no scene of the script has dialogue on the timeline")
        frames = await self._approved_frames(production_id)
        clips = await self._approved_clips(production_id)
        total = max(max(ends.values()), last_cue) + 0.5  # the last line (or cue), and a breath
        board_ids = [ScriptAssetId(script_id, ScriptPart.STORYBOARD, scene_id) for scene_id in on]
        try:
            boards = await self.documents.approved_all(production_id, board_ids, StoryboardDocument, what="storyboard")
        except NotApproved as exc:
            raise NotReady(str(exc)) from None
        cuts: list[AnimaticCut] = []
        for n, (scene_id, board_id, read) in enumerate(zip(on, board_ids, boards, strict=True)):
            begin = 0.0 if n == 0 else starts[scene_id]
            finish = starts[on[n + 1]] if n + 1 < len(on) else total
            board = read.document.content
            if not board.shots:
                raise NotReady(f"storyboard {board_id} has no shots")
            weights = [max(1, shot.duration_s) for shot in board.shots]
            at = begin
            for shot, weight in zip(board.shots, weights, strict=True):
                frame = frames.get((str(board_id), shot.shot_id))
                if frame is None:
                    raise NotReady(f"shot {shot.shot_id} of {board_id} has no approved frame")
                length = (finish - begin) * weight / sum(weights)
                cuts.append(AnimaticCut(scene_id=scene_id, shot_id=shot.shot_id, frame=frame, start=at, end=at + length,
                                        clip=clips.get((frame.asset_id, frame.version))))
                at += length
        return cuts, off

    async def place(self, production_id: str, frames: list[ImageAssetId]) -> None:
        """Learn which shot each frame draws (its first version's provenance), once per frame.
        Done as each frame is approved, the reads are not left for the approval that completes
        an animatic's inputs, which has every frame of the episode to place."""
        unplaced = list({str(f): f for f in frames if str(f) not in self._frame_of}.values())
        firsts = await asyncio.gather(*(self.documents.version(production_id, f, 1) for f in unplaced))  # read side by side
        for frame, first in zip(unplaced, firsts, strict=True):
            shot = first.provenance.inputs.get("shot") or {}
            boards = [p for p in first.provenance.parents if (b := ScriptAssetId.parse(p)) and b.part is ScriptPart.STORYBOARD]
            self._frame_of[str(frame)] = (boards[0] if boards else "", str(shot.get("shot_id", "")))

    async def subtitles(self, production_id: str, localization_job: str, locale: str) -> VersionRef | None:
        """The subtitles an animatic carries (WebVTT, else SRT; None when the localization made
        none); `NotReady` while they are not approved."""
        for part in (LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_SRT):
            asset = LocaleAssetId(locale, part, localization_job)
            if await self.documents.versions(production_id, asset):
                return await self._approved(production_id, asset, "subtitles")
        return None

    async def last_cue(self, production_id: str, subtitles: VersionRef) -> float:
        """When the last cue of a subtitles version ends; parsed once per version, off the event
        loop (the reference parser takes a tenth of a second for an episode's cues)."""
        key = (subtitles.asset_id, subtitles.version)
        if key not in self._last_cue:
            read = await self.documents.version(production_id, LocaleAssetId.from_id(subtitles.asset_id), subtitles.version)
            cues = await control(formats.read_timed, read.data, read.stored.media_type, subtitles.asset_id)
            self._last_cue[key] = max((end for _start, end, _text in cues), default=0.0)
        return self._last_cue[key]

    def shot_of(self, frame: ImageAssetId) -> tuple[str, str] | None:
        """(storyboard, shot) of a frame placed already; None: not read yet."""
        return self._frame_of.get(str(frame))

    async def _approved_frames(self, production_id: str) -> dict[tuple[str, str], VersionRef]:
        """(storyboard, shot) -> the frame approved last for it. Which shot a frame draws is in
        its first version's provenance (a revision is a later version of the same asset)."""
        found: dict[tuple[str, str], tuple[Any, VersionRef]] = {}
        approved_frames = [(a, f) for a in await self.approvals.approved_of(production_id, AssetKind.FRAME)
                           if (f := ImageAssetId.parse(a.asset_id)) is not None]  # a frame Helix did not draw has no shot
        await self.place(production_id, [f for _a, f in approved_frames])
        for approved, _frame in approved_frames:
            key = self._frame_of[approved.asset_id]
            if key[0] and key[1] and (key not in found or found[key][0] < approved.decided_at):
                found[key] = (approved.decided_at, VersionRef(asset_id=approved.asset_id, version=approved.version))
        return {k: v[1] for k, v in found.items()}

    async def _approved_clips(self, production_id: str) -> dict[tuple[str, int], VersionRef]:
        """(frame, version) -> the clip of exactly that frame version approved last: a clip of an
        older version of a frame shows a picture the shot no longer has."""
        found: dict[tuple[str, int], tuple[Any, VersionRef]] = {}
        for approved in await self.approvals.approved_of(production_id, AssetKind.CLIP):
            clip = ImageAssetId.parse(approved.asset_id)
            if clip is None:
                continue
            key = (approved.asset_id, approved.version)
            if key not in self._clip_of:  # a stored version never changes
                read = await self.documents.version(production_id, clip, approved.version)
                moved = VersionRef.model_validate(read.provenance.inputs.get(CLIP_FRAME_INPUT) or {})  # the frame version it moves
                self._clip_of[key] = (moved.asset_id, moved.version)
            frame = self._clip_of[key]
            if frame not in found or found[frame][0] < approved.decided_at:
                found[frame] = (approved.decided_at, VersionRef(asset_id=approved.asset_id, version=approved.version))
        return {k: v[1] for k, v in found.items()}

    # --- cut ------------------------------------------------------------------------------------

    async def cut(self, job: Job[AnimaticRequested]) -> list[str]:
        req = job.request
        plan = await self.plan(req.production_id, req.localization_job_id, req.locale)
        asset = animatic_asset(plan)
        if (await job.resumed(asset.kind, str(asset))) is not None:
            return [str(asset)]
        await job.progress(f"{len(plan.cuts)} shots, {plan.duration:.1f} s: cutting", 0.2)
        with tempfile.TemporaryDirectory(prefix="helix-animatic-") as folder:
            work = Path(folder)
            inputs: dict[str, Any] = {"shots": [], "dub": work / "dub.wav", "subtitles": None, "source_voice": None}
            for n, c in enumerate(plan.cuts):
                inputs["shots"].append(await self._pictures(plan.production_id, c, work, n))
            inputs["dub"].write_bytes(await self._bytes(plan.production_id, LocaleAssetId.from_id(plan.dub.asset_id), plan.dub))
            if plan.subtitles is not None:
                part = LocaleAssetId.from_id(plan.subtitles.asset_id)
                inputs["subtitles"] = work / f"subtitles{'.vtt' if part.part is LocalePart.SUBTITLES_VTT else '.srt'}"
                inputs["subtitles"].write_bytes(await self._bytes(plan.production_id, part, plan.subtitles))
            if plan.source_voice is not None:
                inputs["source_voice"] = work / "source.wav"
                inputs["source_voice"].write_bytes(await self._bytes(plan.production_id, LocaleAssetId.from_id(plan.source_voice.asset_id),
                                                                     plan.source_voice))
            began = time.perf_counter()
            command = ffmpeg_command(plan, req, inputs, work / "animatic.mp4")
            await asyncio.to_thread(ffmpeg.run, command, work)
            seconds = time.perf_counter() - began
            data = (work / "animatic.mp4").read_bytes()
        await job.progress("cut", 0.9)
        version = await asyncio.to_thread(ffmpeg.version)
        await job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=data, media_type="video/mp4", ext="mp4", model=ModelRef(id="ffmpeg", revision=version),
            inputs={"plan": plan.model_dump(mode="json")},
            parameters={"locale": plan.locale, "width": req.width, "height": req.height, "frame_rate": req.frame_rate,
                        "seconds": round(plan.duration, 3), "shots": len(plan.cuts), "video": "h264", "audio": "aac",
                        "audio_tracks": [plan.locale, *([plan.source_locale] if plan.source_voice else [])],
                        "subtitles": "mov_text" if plan.subtitles else None, "off_timeline": plan.off_timeline,
                        "cut_seconds": round(seconds, 3), "plan": plan_digest(plan),
                        "moving_shots": [c.shot_id for c in plan.cuts if c.clip], "held_shots": [c.shot_id for c in plan.cuts if not c.clip]},
            parents=list(dict.fromkeys(s.asset_id for s in plan.sources())),
            summary=AnimaticSummary(locale=plan.locale, shots=len(plan.cuts), seconds=round(plan.duration, 3),
                                    moving_shots=sum(1 for c in plan.cuts if c.clip),
                                    subtitles_asset_id=plan.subtitles.asset_id if plan.subtitles else None,
                                    subtitles_version=plan.subtitles.version if plan.subtitles else None)))
        return [str(asset)]

    async def _pictures(self, production_id: str, cut: AnimaticCut, work: Path, n: int) -> list[tuple[Path, float]]:
        """What one shot shows, as (picture, seconds) in order: its clip's pictures at the clip's
        rate (cut at the shot's end, the last one held to it when the clip is shorter), or its
        frame for the whole shot."""
        length = cut.end - cut.start
        if cut.clip is None:
            path = work / f"shot{n:04d}.png"
            path.write_bytes(await self._bytes(production_id, ImageAssetId.from_id(cut.frame.asset_id), cut.frame))
            return [(path, length)]
        read = await self.documents.version(production_id, ImageAssetId.from_id(cut.clip.asset_id), cut.clip.version, bulk=True)
        fps = float(read.provenance.parameters.get("fps") or 8.0)
        clip = work / f"clip{n:04d}.mp4"
        clip.write_bytes(read.data)
        pictures = await asyncio.to_thread(ffmpeg.decode_frames, clip, work, f"shot{n:04d}-")
        shown: list[tuple[Path, float]] = []
        at = 0.0
        for picture in pictures:
            if at + 1e-6 >= length:
                break
            step = min(1.0 / fps, length - at)
            shown.append((picture, step))
            at += step
        if not shown:
            raise RuntimeError(f"clip {cut.clip.asset_id} v{cut.clip.version} has no pictures")
        last, seconds = shown[-1]
        shown[-1] = (last, seconds + max(0.0, length - at))  # a clip shorter than its shot: its last picture holds
        return shown

    # --- reads ----------------------------------------------------------------------------------

    async def _approved(self, production_id: str, asset: LocaleAssetId | ScriptAssetId, what: str) -> VersionRef:
        version = await self.documents.approved_version(production_id, asset)
        if version is None:
            raise NotReady(f"the {what} {asset} is not approved")
        return VersionRef(asset_id=str(asset), version=version)

    async def _read_approved(self, production_id: str, asset: ScriptAssetId, model: Any, what: str) -> Any:
        try:
            return await self.documents.approved(production_id, asset, model, what=what)
        except NotApproved as exc:
            raise NotReady(str(exc)) from None

    async def _bytes(self, production_id: str, asset: AssetRef, ref: VersionRef) -> bytes:
        return (await self.documents.version(production_id, asset, ref.version, bulk=True)).data  # the job's media: bulk


def ffmpeg_command(plan: AnimaticPlan, req: AnimaticRequested, inputs: dict[str, Any], out: Path) -> list[str]:
    """One ffmpeg run: every shot's pictures through the concat demuxer (each with its duration),
    the tracks and subtitles as further inputs, a key frame forced at every shot's start."""
    listing = ["ffconcat version 1.0"]
    pictures = [p for shot in inputs["shots"] for p in shot]
    for path, seconds in pictures:
        listing += [f"file '{path.name}'", f"duration {seconds:.6f}"]
    listing.append(f"file '{pictures[-1][0].name}'")  # the concat demuxer needs the last file twice to honour its duration
    concat = out.parent / "frames.ffconcat"
    concat.write_text("\n".join(listing) + "\n")
    w, h = req.width, req.height
    command = [ffmpeg.ffmpeg(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(concat),
               "-i", str(inputs["dub"])]
    maps = ["-map", "0:v", "-map", "1:a"]
    meta = [*_track("a:0", plan.locale, f"{plan.locale} dub"), "-disposition:a:0", "default"]
    n = 2
    if inputs["source_voice"] is not None:
        command += ["-i", str(inputs["source_voice"])]
        maps += ["-map", f"{n}:a"]
        meta += [*_track("a:1", plan.source_locale, f"{plan.source_locale} original"), "-disposition:a:1", "0"]
        n += 1
    if inputs["subtitles"] is not None:
        command += ["-i", str(inputs["subtitles"])]
        maps += ["-map", f"{n}:s"]
        meta += [*_track("s:0", plan.locale, f"{plan.locale} subtitles"), "-c:s", "mov_text"]
    keys = ",".join(f"{c.start:.3f}" for c in plan.cuts)
    video = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,fps={req.frame_rate},format=yuv420p"
    return [*command, *maps, "-vf", video, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-force_key_frames", keys,
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000", *meta, "-t", f"{plan.duration:.3f}", "-movflags", "+faststart", str(out)]


def _track(stream: str, locale: str, title: str) -> list[str]:
    """A track's language and its name: an MP4 keeps a track's name as its handler name, which
    players and editors show (ffmpeg drops a plain `title` there)."""
    return [f"-metadata:s:{stream}", f"language={_language(locale)}", f"-metadata:s:{stream}", f"title={title}",
            f"-metadata:s:{stream}", f"handler_name={title}"]


def _language(locale: str) -> str:
    """The ISO 639-2/T code of a BCP 47 tag's language ('deu' for 'de-AT'): an MP4 track's
    language is three letters, and ffmpeg silently drops a two-letter one."""
    import langcodes

    try:
        return str(langcodes.Language.get(locale).to_alpha3())
    except (LookupError, ValueError) as exc:
        raise ValueError(f"{locale}: no ISO 639-2 code for its language ({exc})") from None
