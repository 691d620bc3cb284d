"""The animatic: where Helix's parts meet. The approved storyboard frames of a script, each
held for its shot's share of its scene on a localization's timeline, with one locale's
approved dubbed track and subtitles, and the source-language voice-over as a second audio
track where Helix synthesized the timeline: an MP4 (H.264 + AAC + mov_text subtitles) cut
by ffmpeg, signed with Content Credentials like every other media asset.

    plan (everything approved? which versions? where each shot starts and ends)
      → cut (ffmpeg: the frames as a concat list with durations, a key frame at every shot)
      → store (lineage to every frame, track and subtitle file it uses)

Where a shot sits: a scene runs from its first line's start on the timeline (the first
scene from 0) to the next scene's start (the last one to the end of the audio); its shots
share that span in proportion to the durations the storyboard gave them; the last runs on
until the last line or subtitle has ended. Scenes with no
dialogue are not on the timeline: the plan names them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helix.assets import AssetNotFound, AssetStore, StoredAsset
from helix.events import AnimaticRequested, AssetKind, ModelRef
from helix.generation import GeneratedAsset, Job
from helix.generation.approvals import Approvals
from helix.generation.ids import ImageFamily, LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart
from helix.story import Script
from helix_localize import formats, timeline

SMALL_BYTES, SMALL_ENTRIES = 256 * 1024, 512


class NotReady(ValueError):
    """Something the animatic needs is missing or not approved yet; the message says what."""


@dataclass(frozen=True)
class Source:
    """One approved asset version the animatic uses."""

    asset_id: str
    version: int
    kind: AssetKind

    def __str__(self) -> str:
        return f"{self.asset_id}@v{self.version}"


@dataclass(frozen=True)
class Cut:
    """One shot on screen: its frame from `start` to `end` seconds."""

    scene_id: str
    shot_id: str
    frame: Source
    start: float
    end: float


@dataclass
class Plan:
    production_id: str
    localization_job: str
    locale: str
    script: Source
    source_locale: str
    cuts: list[Cut]
    dub: Source
    subtitles: Source | None
    source_voice: Source | None
    duration: float
    off_timeline: list[str] = field(default_factory=list)  # scenes with no dialogue

    @property
    def asset(self) -> LocaleAssetId:
        return LocaleAssetId(self.locale, LocalePart.ANIMATIC, self.localization_job)

    def sources(self) -> list[Source]:
        return [self.script, *(c.frame for c in self.cuts), self.dub, *(s for s in (self.subtitles, self.source_voice) if s)]

    def digest(self) -> str:
        """Changes whenever any input version or cut changes: one animatic per distinct plan."""
        body = json.dumps([[str(s) for s in self.sources()], [(c.shot_id, round(c.start, 3), round(c.end, 3)) for c in self.cuts]])
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is not installed: the animatic is cut with it (apt-get install ffmpeg)")
    return found


class Editor:
    def __init__(self, store: AssetStore, approvals: Approvals) -> None:
        self.store = store
        self.approvals = approvals
        self._frame_of: dict[str, tuple[str, str]] = {}  # frame -> (storyboard, shot): a stored version never changes
        # Small approved versions (script, storyboards, subtitles) a plan reads again on every
        # approval that may complete an animatic: read once, they never change.
        self._small: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()

    # --- plan -----------------------------------------------------------------------------------

    async def plan(self, production_id: str, localization_job: str, locale: str) -> Plan:
        dub = await self._approved(production_id, LocaleAssetId(locale, LocalePart.VOICEOVER_WAV, localization_job), "dubbed track")
        translation_id = LocaleAssetId(locale, LocalePart.TRANSLATION, localization_job)
        script_id = next((p for p in await self._parents(production_id, translation_id.kind, str(translation_id))
                          if (part := ScriptAssetId.parse(p)) is not None and part.part is ScriptPart.SCRIPT), None)
        if script_id is None:
            raise NotReady(f"localization {localization_job} has no {locale} translation of an assembled script")
        script_source = await self._approved(production_id, ScriptAssetId.parse(script_id), "script")  # type: ignore[arg-type]
        script = Script.model_validate(json.loads(await self._read(production_id, script_source))["content"])
        line_timeline, timeline_assets = await self._timeline(production_id, LocaleAssetId(script.locale, LocalePart.TIMELINE, localization_job))
        # What exists must be approved before it is used: an animatic is cut once, from approved parts.
        subtitles = None
        for part in (LocalePart.SUBTITLES_VTT, LocalePart.SUBTITLES_SRT):
            asset = LocaleAssetId(locale, part, localization_job)
            if await self._exists(production_id, asset.kind, str(asset)):
                subtitles = await self._approved(production_id, asset, "subtitles")
                break
        source_voice = None
        for asset_id in timeline_assets:
            parsed = LocaleAssetId.parse(asset_id)
            if parsed is not None and parsed.part is LocalePart.VOICEOVER_WAV:
                source_voice = await self._approved(production_id, parsed, "source voice-over")
        last_cue = 0.0
        if subtitles is not None:  # a cue may stay up past its line (minimum duration): the picture waits for it
            cues = formats.read_timed(await self._read(production_id, subtitles), "", subtitles.asset_id)
            last_cue = max((end for _start, end, _text in cues), default=0.0)
        cuts, off = await self._cuts(production_id, script, script_source, line_timeline, last_cue)
        duration = max([c.end for c in cuts], default=0.0)
        return Plan(production_id, localization_job, locale, script_source, script.locale, cuts, dub, subtitles, source_voice,
                    duration, off)

    async def _cuts(self, production_id: str, script: Script, script_source: Source, line_timeline: timeline.Timeline,
                    last_cue: float) -> tuple[list[Cut], list[str]]:
        script_id = ScriptAssetId.parse(script_source.asset_id).script_id  # type: ignore[union-attr]
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
        total = max(max(ends.values()), last_cue) + 0.5  # the last line (or cue), and a breath
        cuts: list[Cut] = []
        for n, scene_id in enumerate(on):
            begin = 0.0 if n == 0 else starts[scene_id]
            finish = starts[on[n + 1]] if n + 1 < len(on) else total
            board_id = str(ScriptAssetId(script_id, ScriptPart.STORYBOARD, scene_id))
            board = await self.approvals.approved_version(production_id, board_id)
            if board is None:
                raise NotReady(f"the storyboard of scene {scene_id} ({board_id}) is not approved")
            body = json.loads(await self._read(production_id, Source(board_id, board, AssetKind.STORYBOARD)))
            shots = body.get("content", {}).get("shots", [])
            if not shots:
                raise NotReady(f"storyboard {board_id} has no shots")
            weights = [max(1, int(s.get("duration_s") or 1)) for s in shots]
            at = begin
            for shot, weight in zip(shots, weights, strict=True):
                frame = frames.get((board_id, shot["shot_id"]))
                if frame is None:
                    raise NotReady(f"shot {shot['shot_id']} of {board_id} has no approved frame")
                length = (finish - begin) * weight / sum(weights)
                cuts.append(Cut(scene_id, shot["shot_id"], frame, at, at + length))
                at += length
        return cuts, off

    async def _approved_frames(self, production_id: str) -> dict[tuple[str, str], Source]:
        """(storyboard, shot) -> the frame approved last for it. Which shot a frame draws is in
        its first version's provenance (a revision is a later version of the same asset)."""
        found: dict[tuple[str, str], tuple[Any, Source]] = {}
        for asset_id, version, decided_at in await self.approvals.approved_in(production_id, f"{ImageFamily.FRAME.value}-"):
            if asset_id not in self._frame_of:
                first = await self._provenance(production_id, Source(asset_id, 1, AssetKind.FRAME))
                shot = first.get("inputs", {}).get("shot") or {}
                boards = [p for p in first.get("parents", []) if (b := ScriptAssetId.parse(p)) and b.part is ScriptPart.STORYBOARD]
                self._frame_of[asset_id] = (boards[0] if boards else "", shot.get("shot_id", ""))
            key = self._frame_of[asset_id]
            if key[0] and key[1] and (key not in found or found[key][0] < decided_at):
                found[key] = (decided_at, Source(asset_id, version, AssetKind.FRAME))
        return {k: v[1] for k, v in found.items()}

    # --- cut ------------------------------------------------------------------------------------

    async def cut(self, job: Job) -> list[str]:
        req: AnimaticRequested = job.request  # type: ignore[assignment]
        plan = await self.plan(req.production_id, req.localization_job_id, req.locale)
        asset = plan.asset
        if (await job.resumed(asset.kind, str(asset))) is not None:
            return [str(asset)]
        await job.progress(f"{len(plan.cuts)} shots, {plan.duration:.1f} s: cutting", 0.2)
        with tempfile.TemporaryDirectory(prefix="helix-animatic-") as folder:
            work = Path(folder)
            inputs = {"frames": [], "dub": work / "dub.wav", "subtitles": None, "source_voice": None}
            for n, c in enumerate(plan.cuts):
                path = work / f"shot{n:04d}.png"
                path.write_bytes(await self._read(plan.production_id, c.frame))
                inputs["frames"].append(path)
            inputs["dub"].write_bytes(await self._read(plan.production_id, plan.dub))
            if plan.subtitles is not None:
                suffix = ".vtt" if LocaleAssetId.parse(plan.subtitles.asset_id).part is LocalePart.SUBTITLES_VTT else ".srt"  # type: ignore[union-attr]
                inputs["subtitles"] = work / f"subtitles{suffix}"
                inputs["subtitles"].write_bytes(await self._read(plan.production_id, plan.subtitles))
            if plan.source_voice is not None:
                inputs["source_voice"] = work / "source.wav"
                inputs["source_voice"].write_bytes(await self._read(plan.production_id, plan.source_voice))
            began = time.perf_counter()
            command = ffmpeg_command(plan, req, inputs, work / "animatic.mp4")
            await asyncio.to_thread(_run, command)
            seconds = time.perf_counter() - began
            data = (work / "animatic.mp4").read_bytes()
        await job.progress("cut", 0.9)
        version = await asyncio.to_thread(_ffmpeg_version)
        await job.store(GeneratedAsset(
            kind=asset.kind, asset_id=str(asset), data=data, media_type="video/mp4", ext="mp4", model=ModelRef(id="ffmpeg", revision=version),
            inputs={"script": str(plan.script), "dub": str(plan.dub), "subtitles": str(plan.subtitles) if plan.subtitles else None,
                    "source_voice": str(plan.source_voice) if plan.source_voice else None,
                    "cuts": [{"scene_id": c.scene_id, "shot_id": c.shot_id, "frame": str(c.frame), "start": round(c.start, 3),
                              "end": round(c.end, 3)} for c in plan.cuts]},
            parameters={"locale": plan.locale, "width": req.width, "height": req.height, "frame_rate": req.frame_rate,
                        "seconds": round(plan.duration, 3), "shots": len(plan.cuts), "video": "h264", "audio": "aac",
                        "audio_tracks": [plan.locale, *([plan.source_locale] if plan.source_voice else [])],
                        "subtitles": "mov_text" if plan.subtitles else None, "off_timeline": plan.off_timeline,
                        "cut_seconds": round(seconds, 3), "plan": plan.digest()},
            parents=list(dict.fromkeys(s.asset_id for s in plan.sources()))))
        return [str(asset)]

    # --- reads ----------------------------------------------------------------------------------

    async def _approved(self, production_id: str, asset: LocaleAssetId | ScriptAssetId, what: str) -> Source:
        version = await self.approvals.approved_version(production_id, str(asset))
        if version is None:
            raise NotReady(f"the {what} {asset} is not approved")
        return Source(str(asset), version, asset.kind)

    async def _stored(self, production_id: str, source: Source) -> StoredAsset:
        def find() -> StoredAsset:
            try:
                return next(v for v in self.store.versions(production_id, source.kind, source.asset_id) if v.key.version == source.version)
            except (StopIteration, AssetNotFound):
                raise NotReady(f"{source} is not in the asset store") from None

        return await asyncio.to_thread(find)

    async def _read(self, production_id: str, source: Source) -> bytes:
        key = (production_id, source.asset_id, source.version)
        if key in self._small:
            self._small.move_to_end(key)
            return self._small[key]
        stored = await self._stored(production_id, source)
        data = await asyncio.to_thread(self.store.get, stored.key)
        if len(data) <= SMALL_BYTES:
            self._small[key] = data
            while len(self._small) > SMALL_ENTRIES:
                self._small.popitem(last=False)
        return data

    async def _provenance(self, production_id: str, source: Source) -> dict[str, Any]:
        stored = await self._stored(production_id, source)
        return (await asyncio.to_thread(self.store.sidecar, stored.key)).get("provenance") or {}

    async def _exists(self, production_id: str, kind: AssetKind, asset_id: str) -> bool:
        def versions() -> bool:
            try:
                return bool(self.store.versions(production_id, kind, asset_id))
            except AssetNotFound:
                return False

        return await asyncio.to_thread(versions)

    async def _parents(self, production_id: str, kind: AssetKind, asset_id: str) -> list[str]:
        def read() -> list[str]:
            try:
                versions = self.store.versions(production_id, kind, asset_id)
            except AssetNotFound:
                return []
            return list((self.store.sidecar(versions[-1].key).get("provenance") or {}).get("parents", [])) if versions else []

        return await asyncio.to_thread(read)

    async def _timeline(self, production_id: str, asset: LocaleAssetId) -> tuple[timeline.Timeline, list[str]]:
        def read() -> dict[str, Any] | None:
            try:
                versions = self.store.versions(production_id, asset.kind, str(asset))
            except AssetNotFound:
                return None
            return json.loads(self.store.get(versions[-1].key)) if versions else None

        body = await asyncio.to_thread(read)
        if body is None:
            raise NotReady(f"no timeline {asset}")
        return timeline.Timeline.from_json(body["timeline"]), list(body.get("assets", []))


def ffmpeg_command(plan: Plan, req: AnimaticRequested, inputs: dict[str, Any], out: Path) -> list[str]:
    """One ffmpeg run: the frames through the concat demuxer (each with its duration), the
    tracks and subtitles as further inputs, a key frame forced at every shot's start."""
    listing = ["ffconcat version 1.0"]
    for path, c in zip(inputs["frames"], plan.cuts, strict=True):
        listing += [f"file '{path.name}'", f"duration {c.end - c.start:.6f}"]
    listing.append(f"file '{inputs['frames'][-1].name}'")  # the concat demuxer needs the last file twice to honour its duration
    concat = out.parent / "frames.ffconcat"
    concat.write_text("\n".join(listing) + "\n")
    w, h = req.width, req.height
    command = [ffmpeg(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(concat),
               "-i", str(inputs["dub"])]
    maps = ["-map", "0:v", "-map", "1:a"]
    meta = ["-metadata:s:a:0", f"language={_language(plan.locale)}", "-metadata:s:a:0", f"title={plan.locale} dub",
            "-disposition:a:0", "default"]
    n = 2
    if inputs["source_voice"] is not None:
        command += ["-i", str(inputs["source_voice"])]
        maps += ["-map", f"{n}:a"]
        meta += ["-metadata:s:a:1", f"language={_language(plan.source_locale)}", "-metadata:s:a:1", f"title={plan.source_locale} original",
                 "-disposition:a:1", "0"]
        n += 1
    if inputs["subtitles"] is not None:
        command += ["-i", str(inputs["subtitles"])]
        maps += ["-map", f"{n}:s"]
        meta += ["-metadata:s:s:0", f"language={_language(plan.locale)}", "-c:s", "mov_text"]
    keys = ",".join(f"{c.start:.3f}" for c in plan.cuts)
    video = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,fps={req.frame_rate},format=yuv420p"
    return [*command, *maps, "-vf", video, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-force_key_frames", keys,
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000", *meta, "-t", f"{plan.duration:.3f}", "-movflags", "+faststart", str(out)]


def _language(locale: str) -> str:
    """The ISO 639 language of a BCP 47 tag, as ffmpeg writes it into the MP4."""
    from babel import Locale

    return Locale.parse(locale, sep="-").language


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(command[command.index("-i") + 1]).parent)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg(), "-version"], capture_output=True, text=True, check=False).stdout.split()
    return out[2] if len(out) > 2 else "unknown"
