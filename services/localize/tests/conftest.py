"""Localize test fixtures: the Earnest test dialogue (timed source + hand translations), the tiny
models, and a production's assets and review decisions on the core's in-memory store and bus
(`Desk`), with everything an animatic needs (`animatic_inputs`)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import soundfile
from PIL import Image
from pydantic import BaseModel

from helix.documents import (
    MarketProfileDocument,
    ScriptDocument,
    StoryboardDocument,
    TimedLine,
    Timeline,
    TimelineDocument,
    TimelineRef,
    TranslationDocument,
)
from helix.events import Actor, AssetGenerated, AssetKind, GenerationRequest, JobCompleted, JobFailed, new_event
from helix.events.data import ModelRef, ReviewApproved
from helix.generation import GeneratorKit, Job, Provenance
from helix.generation.approvals import Approvals
from helix.generation.ids import ImageAssetId, ImageFamily, LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart, line_id
from helix.generation.reader import Documents
from helix.grpc import create_server
from helix.settings import HelixSettings
from helix.story import Camera, Character, DialogueLine, Place, PlotElement, SceneScript, Script, Shot, ShotType, Storyboard
from helix.testing import MemoryBus, MemoryStore
from helix.v1 import writer_pb2, writer_pb2_grpc
from helix_localize.formats import read_timed
from helix_localize.subtitles import Cue

DATA = Path(__file__).parent / "data" / "earnest"


@pytest.fixture(scope="session")
def earnest_lines() -> list[dict]:
    return json.loads((DATA / "lines.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def earnest_timing() -> list[tuple[float, float, str]]:
    return read_timed((DATA / "dialogue.en.srt").read_bytes(), name="dialogue.en.srt")


def cues_for(lines: list[dict], timing: list[tuple[float, float, str]], language: str) -> list[Cue]:
    return [Cue(line["line_id"], line["speaker"], line[language], start, end) for line, (start, end, _) in zip(lines, timing, strict=True)]


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> str:
    from helix_dev.models.tiny_localize import build_tiny_marian

    return str(build_tiny_marian(tmp_path_factory.mktemp("tiny-marian")))


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> str:
    from helix_dev.models.tiny_localize import build_tiny_vits

    return str(build_tiny_vits(tmp_path_factory.mktemp("tiny-vits")))


# --- the localize service's steps on the core's in-memory store and bus -------------------------------

PRODUCTION = "earnest"
SCRIPT_ID = "script-earn"
SCRIPT = f"{SCRIPT_ID}-script"
LocalizeStep = Callable[[Job[Any]], Awaitable[list[str] | None]]
_EXT = {"application/json": "json", "application/x-subrip": "srt", "text/vtt": "vtt", "audio/wav": "wav", "image/png": "png",
        "video/mp4": "mp4"}


def script_of(scenes: dict[str, list[tuple[str, str]]], *, target_locales: tuple[str, ...] = ("de-DE",)) -> Script:
    """An assembled English script: scene id -> its lines (speaker, text); every speaker a character."""
    speakers = dict.fromkeys(speaker for lines in scenes.values() for speaker, _ in lines)
    return Script(production_id=PRODUCTION, logline="Two friends lead double lives.", title="Earnest", locale="en",
                  target_locales=list(target_locales), characters=[Character(name=s, description="a gentleman") for s in speakers],
                  places=[Place(name="Half Moon Street", description="Algernon's flat")],
                  scenes=[SceneScript(scene_id=scene, place="Half Moon Street", plot_element=PlotElement.EXPOSITION, beat="Tea.",
                                      dialogue=[DialogueLine(line_id=line_id(scene, n), speaker=speaker, text=text)
                                                for n, (speaker, text) in enumerate(lines, start=1)])
                          for scene, lines in scenes.items()])


def earnest_script(earnest_lines: list[dict], count: int = 3, **how: Any) -> Script:
    """The first `count` lines of the Earnest dialogue as scene s1."""
    return script_of({"s1": [(line["speaker"], line["en"]) for line in earnest_lines[:count]]}, **how)


def wav(seconds: float, rate: int = 16_000) -> bytes:
    """A quiet tone: a track the animatic can carry."""
    out = io.BytesIO()
    soundfile.write(out, 0.1 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds))), rate, format="WAV")
    return out.getvalue()


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Desk:
    """A production's assets and review decisions as the localize service sees them: a `MemoryStore`,
    a `MemoryBus`, approvals in SQLite, and the kit that runs its jobs."""

    store: MemoryStore
    bus: MemoryBus
    approvals: Approvals
    documents: Documents
    kit: GeneratorKit

    def put(self, kind: AssetKind, asset_id: str, body: bytes | BaseModel, *, media_type: str = "application/json",
            provenance: Provenance | None = None) -> int:
        """Store a version as another service (or a studio's upload) would; its version number."""
        data = body.model_dump_json().encode() if isinstance(body, BaseModel) else body
        stored = self.store.put(production_id=PRODUCTION, kind=kind, asset_id=asset_id, data=data, media_type=media_type,
                                ext=_EXT[media_type], provenance=provenance.model_dump(mode="json") if provenance else None)
        return stored.key.version

    def put_script(self, script: Script, script_id: str = SCRIPT_ID) -> str:
        asset_id = f"{script_id}-script"
        self.put(AssetKind.SCRIPT, asset_id, ScriptDocument(level="script", script_id=script_id, content=script))
        return asset_id

    async def approve(self, asset_id: str, kind: AssetKind, version: int = 1, *, at: datetime | None = None) -> None:
        await self.approvals.record(ReviewApproved(production_id=PRODUCTION, decision_id=f"ok-{asset_id}-v{version}", asset_id=asset_id,
                                                   kind=kind, asset_version=version, reviewer=Actor(subject="rhea"),
                                                   decided_at=at or datetime.now(UTC)))

    async def run(self, request: GenerationRequest, step: LocalizeStep) -> JobCompleted | JobFailed:
        await self.kit.run(new_event(request, source="/tests"), step)
        ends = [e for e in [*self.bus.of_type(JobCompleted), *self.bus.of_type(JobFailed)] if e.job_id == request.job_id]
        return ends[-1]

    def announced(self, asset_id: str) -> AssetGenerated:
        """The newest `helix.asset.generated` of an asset."""
        return [e for e in self.bus.of_type(AssetGenerated) if e.asset_id == asset_id][-1]

    def latest(self, kind: AssetKind, asset_id: str) -> bytes:
        return self.store.get(self.store.versions(PRODUCTION, kind, asset_id)[-1].key)


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    store, bus = MemoryStore(), MemoryBus()
    approvals = Approvals(f"sqlite:///{tmp_path / 'localize.db'}")
    settings = HelixSettings(c2pa_enabled=False, retry_attempts=1, store_outage_s=1)
    return Desk(store, bus, approvals, Documents(store, approvals, store_outage_s=1),
                GeneratorKit(service="localize", store=store, bus=bus, settings=settings))


# --- everything an animatic needs, approved ------------------------------------------------------

LOCALIZATION = "loc-1"
DUB = str(LocaleAssetId("de-DE", LocalePart.VOICEOVER_WAV, LOCALIZATION))
SUBTITLES = str(LocaleAssetId("de-DE", LocalePart.SUBTITLES_VTT, LOCALIZATION))
SOURCE_VOICE = str(LocaleAssetId("en", LocalePart.VOICEOVER_WAV, LOCALIZATION))
VISUAL = Actor(subject="visual", kind="service")
# Scene s1 (two shots, 2 s and 1 s) and s3 (one shot) have dialogue; s2 has none.
ANIMATIC_SCENES: dict[str, list[tuple[str, str]]] = {
    "s1": [("ALGERNON", "Did you hear what I was playing, Lane?"), ("LANE", "I didn't think it polite to listen, sir.")],
    "s2": [],
    "s3": [("ALGERNON", "Where have you been?")],
}
TIMED = {"s1-l1": (0.4, 1.0), "s1-l2": (1.2, 1.8), "s3-l1": (2.2, 2.9)}
SHOTS = {"s1": [("s1-shot1", 2), ("s1-shot2", 1)], "s3": [("s3-shot1", 3)]}
VTT = b"WEBVTT\n\n00:00:00.400 --> 00:00:01.000\nHaben Sie es geh\xc3\xb6rt?\n\n00:00:02.200 --> 00:00:03.100\nWo waren Sie?\n"


@dataclass
class AnimaticInputs:
    """What `animatic_inputs` stored: the script, and each scene's storyboard and frames (shot -> frame asset)."""

    script: str
    boards: dict[str, str]
    frames: dict[str, str]


def frame_id(shot: str) -> str:
    return str(ImageAssetId(ImageFamily.FRAME, "frames-1", shot))


async def animatic_inputs(desk: Desk, *, approve: bool = True) -> AnimaticInputs:
    """A localization (loc-1, de-DE) of a three-scene script with its storyboards, frames, dub,
    subtitles and source voice-over; every one approved unless `approve` is false."""
    script = script_of(ANIMATIC_SCENES)
    pending: list[tuple[str, AssetKind]] = [(desk.put_script(script), AssetKind.SCRIPT)]
    lines = [TimedLine(line_id=line.line_id, scene_id=scene.scene_id, speaker=line.speaker, text=line.text, start=TIMED[line.line_id][0],
                       end=TIMED[line.line_id][1]) for scene in script.scenes for line in scene.dialogue]
    timeline_id = str(LocaleAssetId("en", LocalePart.TIMELINE, LOCALIZATION))
    desk.put(AssetKind.VOICEOVER, timeline_id, TimelineDocument(timeline=Timeline(source="synthesized", asset_id=timeline_id, lines=lines),
                                                                assets=[SOURCE_VOICE, timeline_id]))
    translation = TranslationDocument(locale="de-DE", source_locale="en", script=SCRIPT, profile=MarketProfileDocument(locale="de-DE"),
                                      timeline=TimelineRef(source="synthesized", asset_id=timeline_id), lines=[])
    desk.put(AssetKind.SCRIPT, str(LocaleAssetId("de-DE", LocalePart.TRANSLATION, LOCALIZATION)), translation)
    for asset_id, body in ((DUB, wav(3.0)), (SOURCE_VOICE, wav(3.0))):
        desk.put(AssetKind.VOICEOVER, asset_id, body, media_type="audio/wav")
        pending.append((asset_id, AssetKind.VOICEOVER))
    desk.put(AssetKind.SUBTITLES, SUBTITLES, VTT, media_type="text/vtt")
    pending.append((SUBTITLES, AssetKind.SUBTITLES))
    boards, frames = {}, {}
    for n, (scene, shots) in enumerate(SHOTS.items()):
        board = ScriptAssetId(SCRIPT_ID, ScriptPart.STORYBOARD, scene)
        content = Storyboard(production_id=PRODUCTION, script_id=SCRIPT_ID, scene_id=scene, shots=[
            Shot(shot_id=s, shot_type=ShotType.WIDE, camera=Camera.STATIC, subjects=[], action="tea", location="the flat", duration_s=d)
            for s, d in shots])
        desk.put(AssetKind.STORYBOARD, str(board), StoryboardDocument(level=board.name, script_id=SCRIPT_ID, content=content))
        boards[scene] = str(board)
        pending.append((str(board), AssetKind.STORYBOARD))
        for k, (shot, _) in enumerate(shots):
            drawn = Provenance(job_id="frames-1", model=ModelRef(id="tiny-sd", revision="sha256:0"), inputs={"shot": {"shot_id": shot}},
                               parents=[str(board)], generated_by=VISUAL, generated_at=datetime.now(UTC))
            desk.put(AssetKind.FRAME, frame_id(shot), png((80 * n, 60 * k, 200)), media_type="image/png", provenance=drawn)
            frames[shot] = frame_id(shot)
            pending.append((frame_id(shot), AssetKind.FRAME))
    if approve:
        for asset_id, kind in pending:
            await desk.approve(asset_id, kind)
    return AnimaticInputs(SCRIPT, boards, frames)


# --- the writer's ShortenLines, in process -----------------------------------------------------------

SECRET = "localize-tests-" + "s" * 40


class FakeWriter(writer_pb2_grpc.WriterServiceServicer):
    """The writer's `ShortenLines` as a test sets it up: the statuses in `failures` first (one per
    call), then for each line the candidates `answer` gives. Every call is kept with its metadata."""

    def __init__(self) -> None:
        self.calls: list[tuple[writer_pb2.ShortenLinesRequest, dict[str, str]]] = []
        self.failures: list[grpc.StatusCode] = []
        self.answer: Callable[[writer_pb2.LineToShorten], list[str]] = lambda line: []
        self.model = "tiny-llama@sha256:feed"

    async def ShortenLines(self, request: writer_pb2.ShortenLinesRequest,  # noqa: N802 (the proto's name)
                           context: grpc.aio.ServicerContext) -> writer_pb2.ShortenLinesResponse:
        self.calls.append((request, {k: str(v) for k, v in context.invocation_metadata() or ()}))
        if self.failures:
            await context.abort(self.failures.pop(0), "the writer is restarting")
        return writer_pb2.ShortenLinesResponse(model=self.model, lines=[
            writer_pb2.ShorterLine(line_id=line.line_id, candidates=self.answer(line)) for line in request.lines])


@pytest.fixture
async def writer() -> AsyncIterator[tuple[FakeWriter, str]]:
    """A fake writer on a local port, and its address."""
    fake = FakeWriter()
    server, port, _ = create_server("writer")
    writer_pb2_grpc.add_WriterServiceServicer_to_server(fake, server)
    await server.start()
    try:
        yield fake, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)
