"""The visual process's wiring, built without servers: one pipeline per configured name with
its speed settings recorded (drawn in the engine's worker process, or in the service's own), the request steps on its
own topic, its review-decisions consumer, and a request handed to it rendered by its engine
into a stored plate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helix.events import JobCompleted, SceneRequested, Topic, models_on, new_event
from helix.generation import GeneratorKit
from helix.testing import MemoryBus, MemoryStore
from helix_visual.app import VisualApp
from helix_visual.settings import VisualSettings
from helix_visual.worker import WorkerImageEngine

from .conftest import image_request


@pytest.fixture(params=[True, False], ids=["worker-process", "in-process"])
async def app(request: pytest.FixtureRequest, tiny_sd_dir: Path, tmp_path: Path) -> AsyncIterator[VisualApp]:
    settings = VisualSettings(visual_model=str(tiny_sd_dir), visual_models={"alt": str(tiny_sd_dir)}, visual_dtype="float32",
                              visual_device="cpu", database_url=f"sqlite:///{tmp_path / 'visual.db'}", c2pa_enabled=False,
                              s3_secret_key="never-used", visual_worker_process=request.param)  # S3 and Kafka clients made, never connected
    app = VisualApp(settings)
    yield app
    await app.engine.stop()


async def test_the_app_serves_its_request_types_on_its_topic_and_listens_to_review(app: VisualApp) -> None:
    assert app.requests_topic is Topic.VISUAL_REQUESTS and set(app.steps) == set(models_on(Topic.VISUAL_REQUESTS))
    (requests,) = app.bus._request_consumers
    assert requests.topic == Topic.VISUAL_REQUESTS.value and requests.group == "visual-requests"
    assert set(requests.handles) == set(app.steps)
    decisions = [(s.topic_names, s.group_id) for s in app.bus.broker.subscribers]
    assert decisions == [([Topic.REVIEW_DECISIONS.value], "visual")]
    assert app.reactions.settings is app.settings


async def test_every_configured_model_is_loaded_and_its_speed_settings_recorded(app: VisualApp) -> None:
    assert set(app.engine.models) == {"default", "alt"}
    assert isinstance(app.engine, WorkerImageEngine) is app.settings.visual_worker_process
    assert app.renderer.optimisations == {"default": ["sdpa"], "alt": ["sdpa"]}
    assert app.renderer.documents is app.documents and app.renderer.engine is app.engine


async def test_a_request_handed_to_the_app_is_rendered_by_its_engine(app: VisualApp) -> None:
    store, bus = MemoryStore(), MemoryBus()
    app.kit = GeneratorKit(service="visual", store=store, bus=bus, settings=app.settings)  # the in-memory store and bus, no servers
    await app.engine.start()
    try:
        await app.handle(new_event(image_request(SceneRequested, model="alt"), source="/tests"))
    finally:
        await app.engine.stop()
    (done,) = bus.of_type(JobCompleted)
    assert done.asset_ids == ["scene-job-1"] and app.engine.stats.items == 1
    (stored,) = store.versions("lighthouse", "scene", "scene-job-1")
    assert stored.media_type == "image/png"
