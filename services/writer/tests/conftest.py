"""Writer test fixtures: one tiny random Llama per session, loaded like a real checkpoint, and the
writer's steps run as kit jobs on the core's in-memory store and bus (`Studio`), with a generator
that records what the writer asks of the model (`RecordingGenerator`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helix.events import (
    Actor,
    AssetGenerated,
    AssetKind,
    GenerationRequest,
    JobCompleted,
    JobFailed,
    ModelRef,
    ReviewApproved,
    ScriptRequested,
    new_event,
)
from helix.events.examples import example
from helix.generation import GeneratorKit, Job
from helix.generation.approvals import Approvals
from helix.generation.ids import ScriptAssetId, ScriptPart, scene_part
from helix.generation.reader import Documents
from helix.models.loading import LoadedLM, load_causal_lm
from helix.settings import HelixSettings
from helix.story import Act, Character, DialogueLine, Place, PlotElement, SceneScript
from helix.testing import MemoryBus, MemoryStore
from helix_dev.models.tiny import build_tiny_llama
from helix_writer.draft import Draft
from helix_writer.edits import ScriptEditor
from helix_writer.engine import JsonGenerator, TextEngine
from helix_writer.levels import StoryWriter
from helix_writer.repository import ScriptRepository
from helix_writer.requests import WriterRequests
from helix_writer.structured import Generated


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> LoadedLM:
    """The tiny Llama, built once a session and loaded like a real checkpoint."""
    folder = build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), seed=0)
    return load_causal_lm(str(folder), dtype="float32", device="cpu")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_lm: LoadedLM) -> Path:
    return Path(tiny_lm.ref.id)  # a local folder is its own id


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread while a test runs: the tiny model decodes many times faster so on a shared, busy CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chat(text: str) -> list[dict]:
    """Chat messages for one engine request."""
    return [{"role": "system", "content": "You write dialogue."}, {"role": "user", "content": text}]


# --- the writer's steps on the core's in-memory store and bus ---------------------------------------

PRODUCTION = "lighthouse"
LOGLINE = "An old keeper must keep the light burning through one last storm."
DANA = Actor(subject="dana")
NO_MODEL = ModelRef(id="no-model", revision="none")


@dataclass(frozen=True)
class Call:
    """One structured generation the writer asked for."""

    messages: list[dict[str, str]]
    schema: type[Any]
    max_new_tokens: int
    seed: int | None

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


class RecordingGenerator:
    """The writer's `StructuredGenerator`: records every call, then hands it to the real one
    (`JsonGenerator` over the tiny model). Without one, any call fails the test: the step was
    not meant to reach the model. `room_cap` stands for a model with a smaller context."""

    def __init__(self, inner: JsonGenerator | None = None, *, room_cap: int | None = None) -> None:
        self.inner = inner
        self.model_ref = inner.model_ref if inner is not None else NO_MODEL
        self.tokens_per_char = inner.tokens_per_char if inner is not None else 3
        self.room_cap = room_cap
        self.calls: list[Call] = []

    async def generate_json(self, messages: list[dict[str, str]], schema: type[Any], *, max_new_tokens: int,
                            seed: int | None) -> Generated[Any]:
        self.calls.append(Call(messages, schema, max_new_tokens, seed))
        if self.inner is None:
            raise AssertionError(f"this step should not reach the model (asked for a {schema.__name__})")
        return await self.inner.generate_json(messages, schema, max_new_tokens=max_new_tokens, seed=seed)

    def room(self, messages: list[dict[str, str]]) -> int:
        room = self.inner.room(messages) if self.inner is not None else 8192
        return room if self.room_cap is None else min(room, self.room_cap)

    def asked(self, schema_prefix: str) -> list[Call]:
        """The calls for one kind of draft (`exactly`/`at_most` variants share their base's name)."""
        return [c for c in self.calls if c.schema.__name__.startswith(schema_prefix)]


class Studio:
    """The writer's parts (repository, `StoryWriter`, `ScriptEditor`, `WriterRequests`) over a
    `MemoryStore`, a `MemoryBus` and a SQLite record of review decisions."""

    def __init__(self, generator: RecordingGenerator, database: Path, prefix_sets: dict[str, str] | None = None) -> None:
        self.store, self.bus = MemoryStore(), MemoryBus()
        settings = HelixSettings(c2pa_enabled=False, retry_attempts=1, store_outage_s=1.0)
        self.kit = GeneratorKit(service="writer", store=self.store, bus=self.bus, settings=settings)
        self.approvals = Approvals(f"sqlite:///{database}")
        self.generator = generator
        self.repository = ScriptRepository(Documents(self.store, self.approvals, store_outage_s=1.0), generator.model_ref)
        self.writer = StoryWriter(generator, self.repository)
        self.editor = ScriptEditor(self.writer, self.repository)
        self.requests = WriterRequests(self.writer, self.editor, self.repository, prefix_sets)

    def job(self, request: GenerationRequest) -> Job[Any]:
        """A kit job for `request`, to call one step directly (each job stores a part once: one job per change)."""
        return Job(self.kit, new_event(request, source="/tests"))

    def script_job(self, job_id: str, **fields: Any) -> Job[ScriptRequested]:
        """A kit job for a script request (`script_request`); its request is `job.request`."""
        return self.job(script_request(job_id, **fields))

    async def run(self, request: GenerationRequest) -> JobCompleted | JobFailed:
        """One request through its step (`WriterRequests.steps`) as a kit job; its one outcome."""
        await self.kit.run(new_event(request, source="/tests"), self.requests.steps()[type(request)])
        ends = [e for e in [*self.bus.of_type(JobCompleted), *self.bus.of_type(JobFailed)] if e.job_id == request.job_id]
        assert len(ends) == 1, ends
        return ends[0]

    def versions(self, asset_id: str) -> list[Any]:
        part = ScriptAssetId.parse(asset_id)
        assert part is not None, asset_id
        return self.store.versions(PRODUCTION, part.kind, asset_id)

    def body(self, asset_id: str, version: int = -1) -> dict[str, Any]:
        """A stored JSON part (the newest version unless one is named, 1-based)."""
        versions = self.versions(asset_id)
        return json.loads(self.store.get(versions[version if version < 0 else version - 1].key))

    def provenance(self, asset_id: str, version: int = -1) -> dict[str, Any]:
        versions = self.versions(asset_id)
        return self.store.sidecar(versions[version if version < 0 else version - 1].key)["provenance"]

    def generated(self, job_id: str | None = None) -> list[AssetGenerated]:
        return [e for e in self.bus.of_type(AssetGenerated) if job_id is None or e.job_id == job_id]

    async def approve(self, asset_id: str, version: int = 1) -> None:
        part = ScriptAssetId.parse(asset_id)
        await self.approvals.record(ReviewApproved(
            production_id=PRODUCTION, decision_id=f"ok-{asset_id}-{version}", asset_id=asset_id, asset_version=version,
            kind=part.kind if part else AssetKind.SCRIPT, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))

    async def put_script(self, draft: Draft, job_id: str = "job-0") -> Draft:
        """Store every part of `draft` as the writer stores a script it wrote (one job), then assemble it."""
        job = self.script_job(job_id)
        for name, content in (("title", {"title": draft.title}), ("characters", [c.model_dump() for c in draft.characters]),
                              ("scenes", [s.model_dump(exclude={"dialogue"}) for s in draft.scenes]),
                              ("places", [p.model_dump() for p in draft.places.values()])):
            await self.repository.store_level(job, draft, name, content, [], parents=[])
        for scene in draft.scenes:
            await self.repository.store_level(job, draft, scene_part(ScriptPart.DIALOGUE, scene.scene_id),
                                              [line.model_dump() for line in scene.dialogue], [], parents=[])
        await self.writer.assemble(job, draft)
        return draft


def script_request(job_id: str = "job-1", **fields: Any) -> ScriptRequested:
    """A valid script request (`helix.events.examples`), small enough for the tiny model."""
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "requested_by": DANA, "logline": LOGLINE,
                              "max_scenes": 2, "seed": 7, "target_locales": []}
    return example(ScriptRequested, **{**values, **fields})  # type: ignore[return-value]


def line(scene: str, n: int, speaker: str, text: str, **fields: Any) -> DialogueLine:
    return DialogueLine(line_id=f"{scene}-l{n}", speaker=speaker, text=text, **fields)


def sample_draft(script_id: str = "script-job-0", **fields: Any) -> Draft:
    """A small written script: two characters, two scenes in two places, some dialogue; all by the model."""
    scenes = [
        SceneScript(scene_id="s1", place="Lamp room", plot_element=PlotElement.EXPOSITION,
                    beat="Mara trims the wick as the sky darkens.",
                    dialogue=[line("s1", 1, "MARA", "The tide turns at six."), line("s1", 2, "JONAH", "Then we leave at five.")]),
        SceneScript(scene_id="s2", place="Harbor", plot_element=PlotElement.CLIMAX, beat="The storm breaks over the harbor.",
                    dialogue=[line("s2", 1, "MARA", "Light it. Now.")]),
    ]
    values: dict[str, Any] = {
        "title": "The Last Light", "acts": [Act(number=1, beat="The storm comes and the light must hold.")],
        "characters": [Character(name="Mara", description="the keeper"), Character(name="Jonah", description="her nephew")],
        "scenes": scenes,
        "places": {"Lamp room": Place(name="Lamp room", description="glass and brass"),
                   "Harbor": Place(name="Harbor", description="stone")},
    }
    return Draft(PRODUCTION, script_id, LOGLINE, **{**values, **fields})


def by_a_person(draft: Draft, *parts: str) -> Draft:
    """`draft` with these parts (`title`, `characters`, `scenes`, `places`, `dialogue-<scene>`) written by a person."""
    for part in parts:
        if part == "title":
            draft.title_author = "human"
        elif part == "characters":
            draft.characters = [c.model_copy(update={"author": "human"}) for c in draft.characters]
        elif part == "scenes":
            draft.scenes = [s.model_copy(update={"author": "human"}) for s in draft.scenes]
        elif part == "places":
            draft.places = {name: p.model_copy(update={"author": "human"}) for name, p in draft.places.items()}
        else:
            scene = next(s for s in draft.scenes if scene_part(ScriptPart.DIALOGUE, s.scene_id) == part)
            scene.dialogue = [x.model_copy(update={"author": "human"}) for x in scene.dialogue]
    return draft


@pytest.fixture
async def generator(tiny_lm: LoadedLM, one_thread: None) -> AsyncIterator[RecordingGenerator]:
    """The tiny model behind the writer's structured generation, every call recorded."""
    async with TextEngine(tiny_lm, max_batch=16) as engine:
        yield RecordingGenerator(JsonGenerator(engine))


@pytest.fixture
def studio(generator: RecordingGenerator, tmp_path: Path) -> Studio:
    """The writer's steps on the tiny model."""
    return Studio(generator, tmp_path / "writer.db")


@pytest.fixture
def desk(tmp_path: Path) -> Studio:
    """The writer's steps with no model behind them: for what a person does, which never reaches the model."""
    return Studio(RecordingGenerator(), tmp_path / "writer.db")
