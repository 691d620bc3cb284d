"""Visual test fixtures: one tiny random Stable Diffusion pipeline per session, loaded like a real checkpoint, and the
service's steps run as kit jobs on the core's in-memory store and bus (`Studio`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from helix.documents import StoryboardDocument
from helix.events import Actor, AssetGenerated, AssetKind, GenerationRequest, JobCompleted, JobFailed, ReviewApproved, new_event
from helix.events.examples import example
from helix.generation import GeneratorKit, Job
from helix.generation.approvals import Approvals
from helix.generation.ids import ImageAssetId, ScriptAssetId
from helix.generation.reader import Documents
from helix.models.diffusion import LoadedPipeline, load_image_pipeline
from helix.story import Camera, Shot, ShotType, Storyboard
from helix.testing import MemoryBus, MemoryStore
from helix_dev.models.tiny_diffusion import build_tiny_controlnet, build_tiny_ip_adapter, build_tiny_sd
from helix_visual.engine import ImageEngine
from helix_visual.images import decode
from helix_visual.rendering import Renderer
from helix_visual.settings import VisualSettings


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"), seed=0)


@pytest.fixture(scope="session")
def tiny_sd(tiny_sd_dir: Path) -> LoadedPipeline:
    return load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu")


@pytest.fixture(scope="session")
def tiny_controlnet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_controlnet(tmp_path_factory.mktemp("tiny-controlnet"), seed=0)


@pytest.fixture(scope="session")
def tiny_sd_laid_out(tiny_sd_dir: Path, tiny_controlnet_dir: Path) -> LoadedPipeline:
    """The tiny pipeline with the tiny layout ControlNet (a third pipeline over the same modules)."""
    return load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu", layout_model=str(tiny_controlnet_dir))


@pytest.fixture(scope="session")
def tiny_ip_adapter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ip_adapter(tmp_path_factory.mktemp("tiny-ip-adapter"), seed=0)


@pytest.fixture(scope="session")
def tiny_sd_cast(tiny_sd_dir: Path, tiny_controlnet_dir: Path, tiny_ip_adapter_dir: Path) -> LoadedPipeline:
    """The tiny pipeline with both the layout ControlNet and the reference IP-Adapter."""
    return load_image_pipeline(str(tiny_sd_dir), dtype="float32", device="cpu", layout_model=str(tiny_controlnet_dir),
                               reference_model=str(tiny_ip_adapter_dir))


@pytest.fixture
async def cast_engine(tiny_sd_cast: LoadedPipeline) -> AsyncIterator[ImageEngine]:
    async with ImageEngine({"default": tiny_sd_cast}, max_batch=8, max_queue=16) as eng:
        yield eng


@pytest.fixture
async def engine(tiny_sd: LoadedPipeline) -> AsyncIterator[ImageEngine]:
    async with ImageEngine({"default": tiny_sd}, max_batch=8, max_queue=16) as eng:
        yield eng


@pytest.fixture
async def laid_out_engine(tiny_sd_laid_out: LoadedPipeline) -> AsyncIterator[ImageEngine]:
    async with ImageEngine({"default": tiny_sd_laid_out}, max_batch=8, max_queue=16) as eng:
        yield eng


# --- the visual service's steps on the core's in-memory store and bus ------------------------------

PRODUCTION = "lighthouse"
R = TypeVar("R", bound=GenerationRequest)
VisualStep = Callable[[Renderer, Job[Any]], Awaitable[list[str]]]


def image_request(request_type: type[R], job_id: str = "job-1", **fields: object) -> R:
    """A valid visual request (`helix.events.examples`) at a size the tiny pipeline makes quickly."""
    values: dict[str, Any] = {"production_id": PRODUCTION, "job_id": job_id, "width": 64, "height": 64, "steps": 2, "seed": 7,
                              "shot_id": None}
    return example(request_type, **{**values, **fields})  # type: ignore[return-value]


@dataclass
class Studio:
    """The visual service's renderer over a `MemoryStore`, a `MemoryBus` and a SQLite record of review decisions."""

    store: MemoryStore
    bus: MemoryBus
    approvals: Approvals
    renderer: Renderer
    kit: GeneratorKit

    async def run(self, request: GenerationRequest, step: VisualStep) -> JobCompleted | JobFailed:
        """One request as a kit job through `step`; its one outcome."""
        await self.kit.run(new_event(request, source="/tests"), lambda job: step(self.renderer, job))
        return self.outcome(request.job_id)

    def outcome(self, job_id: str) -> JobCompleted | JobFailed:
        ends = [e for e in [*self.bus.of_type(JobCompleted), *self.bus.of_type(JobFailed)] if e.job_id == job_id]
        assert len(ends) == 1, ends
        return ends[0]

    def generated(self, asset_id: str) -> list[AssetGenerated]:
        return [e for e in self.bus.of_type(AssetGenerated) if e.asset_id == asset_id]

    def image(self, asset_id: str, version: int = 1) -> Any:
        """A stored image version, decoded."""
        parsed = ImageAssetId.parse(asset_id)
        assert parsed is not None
        key = self.store.versions(PRODUCTION, parsed.kind, asset_id)[version - 1].key
        return decode(self.store.get(key))

    def put_image(self, asset_id: str, data: bytes) -> int:
        """An image asset (a reference a person uploaded or approved), stored; its version."""
        parsed = ImageAssetId.parse(asset_id)
        assert parsed is not None
        return self.store.put(production_id=PRODUCTION, kind=parsed.kind, asset_id=asset_id, data=data, media_type="image/png",
                              ext="png").key.version

    def latest_bytes(self, asset_id: str) -> bytes:
        """The stored bytes of an image asset's newest version."""
        parsed = ImageAssetId.parse(asset_id)
        assert parsed is not None
        return self.store.get(self.store.versions(PRODUCTION, parsed.kind, asset_id)[-1].key)

    async def approve(self, asset_id: str, kind: AssetKind, version: int = 1) -> None:
        await self.approvals.record(ReviewApproved(production_id=PRODUCTION, decision_id=f"ok-{asset_id}-{version}", asset_id=asset_id,
                                                   kind=kind, asset_version=version, reviewer=Actor(subject="rhea"),
                                                   decided_at=datetime.now(UTC)))

    def put_storyboard(self, asset_id: str, shots: list[Shot]) -> None:
        """A writer's storyboard document for one scene, stored as the writer stores it."""
        part = ScriptAssetId.parse(asset_id)
        assert part is not None and part.scene is not None
        board = Storyboard(production_id=PRODUCTION, script_id=part.script_id, scene_id=part.scene, shots=shots)
        body = StoryboardDocument(level=part.name, script_id=part.script_id, content=board)
        self.store.put(production_id=PRODUCTION, kind=AssetKind.STORYBOARD, asset_id=asset_id, data=body.model_dump_json().encode(),
                       media_type="application/json", ext="json")


def shot(shot_id: str, location: str = "the lamp room", subjects: tuple[str, ...] = ("MARA",), action: str = "trims the wick") -> Shot:
    return Shot(shot_id=shot_id, shot_type=ShotType.MEDIUM, camera=Camera.STATIC, subjects=list(subjects), action=action,
                location=location, duration_s=2)


@pytest.fixture
def visual_settings() -> VisualSettings:
    return VisualSettings(c2pa_enabled=False, retry_attempts=1, visual_progress_every_s=0)


@pytest.fixture
def studio(engine: ImageEngine, visual_settings: VisualSettings, tmp_path: Path) -> Studio:
    return studio_on(engine, visual_settings, tmp_path)


@pytest.fixture
def laid_out_studio(laid_out_engine: ImageEngine, visual_settings: VisualSettings, tmp_path: Path) -> Studio:
    """A `Studio` whose model has a layout ControlNet: storyboard frames follow their shots' blocking."""
    return studio_on(laid_out_engine, visual_settings, tmp_path)


@pytest.fixture
def cast_studio(cast_engine: ImageEngine, visual_settings: VisualSettings, tmp_path: Path) -> Studio:
    """A `Studio` whose model has a layout ControlNet and an IP-Adapter: frames keep the cast's looks."""
    return studio_on(cast_engine, visual_settings, tmp_path)


def studio_on(engine: ImageEngine, visual_settings: VisualSettings, tmp_path: Path) -> Studio:
    store, bus = MemoryStore(), MemoryBus()
    approvals = Approvals(f"sqlite:///{tmp_path / 'visual.db'}")
    renderer = Renderer(engine, Documents(store, approvals, store_outage_s=1), visual_settings, {"default": ["sdpa"]})
    return Studio(store, bus, approvals, renderer, GeneratorKit(service="visual", store=store, bus=bus, settings=visual_settings))
