"""Generators under faults, as processes on the real broker and store: `kill -9` mid-job and
a restart, or the asset store down for 30 s mid-job. Afterwards every asset is stored
exactly once, the review queue holds one item per asset, every job completed once, and no
job that completed ever said it failed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helix.assets import AssetStore
from helix.bus import ensure_topics
from helix.events import Actor, FrameRequested, ReviewApproved, SceneRequested, ScriptRequested, Topic, decode, encode, new_event
from helix.generation.approvals import Approvals
from helix.settings import HelixSettings
from helix.v1 import common_pb2, review_pb2
from helix_visual.settings import VisualSettings
from helix_writer.settings import WriterSettings
from tests.integration.kafka_helpers import produce_raw, read_topic
from tests.integration.processes import ServiceProcess
from tests.integration.review_helpers import review_settings, running_review

pytestmark = [pytest.mark.infra, pytest.mark.slow]
DANA = Actor(subject="dana", roles=["director"])
OUTAGE_S = 30


@pytest.fixture
def private_store(tmp_path: Path) -> Iterator[Any]:
    """A MinIO of this test's own, which it may stop and start."""
    from tests.integration.private_infra import private_infra

    with private_infra(tmp_path / "store", ("minio",)) as infra:
        yield infra


def on_store(settings: HelixSettings, infra: Any) -> HelixSettings:
    env = infra.env()
    return HelixSettings(**{**settings.model_dump(), "s3_endpoint": env["HELIX_S3_ENDPOINT"], "s3_access_key": env["HELIX_S3_ACCESS_KEY"],
                            "s3_secret_key": env["HELIX_S3_SECRET_KEY"]})


# --- the two generators, their requests ---------------------------------------------------


def writer_service(settings: HelixSettings, models: dict[str, Path], folder: Path) -> ServiceProcess:
    values = {**settings.model_dump(), "service_name": "writer", "writer_model": str(models["writer"]), "writer_device": "cpu",
              "writer_dtype": "float32", "writer_grpc_address": "127.0.0.1:0", "database_url": f"sqlite:///{folder / 'writer.db'}",
              "store_outage_s": 120.0, "retry_attempts": 5}
    return ServiceProcess("helix_writer", WriterSettings(**values), folder / "writer.log")


async def writer_requests(settings: HelixSettings, folder: Path) -> list[str]:
    jobs = [f"script-{n}" for n in range(4)]
    for job in jobs:  # no seed: a job generated twice would store different text, so duplicates would show
        send(settings, ScriptRequested(production_id="lighthouse", job_id=job, requested_by=DANA, max_scenes=3,
                                       logline="An old keeper must keep the light burning through one last storm."))
    return jobs


def visual_service(settings: HelixSettings, models: dict[str, Path], folder: Path) -> ServiceProcess:
    values = {**settings.model_dump(), "service_name": "visual", "visual_model": str(models["visual"]), "visual_device": "cpu",
              "visual_dtype": "float32", "visual_grpc_address": "127.0.0.1:0", "database_url": f"sqlite:///{folder / 'visual.db'}",
              "visual_max_batch": 2, "store_outage_s": 120.0, "retry_attempts": 5}
    return ServiceProcess("helix_visual", VisualSettings(**values), folder / "visual.log")


async def visual_requests(settings: HelixSettings, folder: Path) -> list[str]:
    shots = [{"shot_id": f"s1-shot{n}", "shot_type": "wide", "camera": "static", "subjects": [f"C{n % 3}"], "action": "waits",
              "location": f"L{n % 2}", "duration_s": 2} for n in range(1, 9)]
    store = AssetStore(settings)
    store.ensure_bucket()
    board = {"production_id": "lighthouse", "script_id": "script-j0", "scene_id": "s1", "shots": shots}
    store.put(production_id="lighthouse", kind="storyboard", asset_id="script-j0-storyboard-s1", media_type="application/json",
              ext="json", data=json.dumps({"level": "storyboard-s1", "script_id": "script-j0", "content": board}).encode())
    # Approved, as the service will find it in its record of decisions (frames come only from an approved storyboard).
    await Approvals(f"sqlite:///{folder / 'visual.db'}").record(ReviewApproved(
        production_id="lighthouse", decision_id="ok-board", asset_id="script-j0-storyboard-s1", kind="storyboard", asset_version=1,
        reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)))
    send(settings, FrameRequested(production_id="lighthouse", job_id="frames", requested_by=DANA, prompt="ink", width=128, height=128,
                                  steps=6, storyboard_asset_id="script-j0-storyboard-s1"))
    jobs = ["frames"]
    for n in range(3):
        send(settings, SceneRequested(production_id="lighthouse", job_id=f"plate-{n}", requested_by=DANA, prompt=f"harbour {n}",
                                      width=128, height=128, steps=6))
        jobs.append(f"plate-{n}")
    return jobs


GENERATORS: dict[str, tuple[Callable[..., ServiceProcess], Callable[[HelixSettings, Path], Awaitable[list[str]]]]] = {
    "writer": (writer_service, writer_requests),
    "visual": (visual_service, visual_requests),
}


# --- the faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("generator", sorted(GENERATORS))
async def test_kill_9_mid_job_then_restart(generator: str, settings: HelixSettings, models: dict[str, Path], tmp_path: Path) -> None:
    start_service, make_requests = GENERATORS[generator]
    AssetStore(settings).ensure_bucket()
    ensure_topics(settings)
    jobs = await make_requests(settings, tmp_path)
    first = start_service(settings, models, tmp_path).start()
    try:
        await wait_for(lambda: len(records(settings, Topic.ASSETS_GENERATED)) >= 2, what="the first assets", timeout=120)
        first.kill()
        assert not done(settings, jobs), "killed mid-job"
    finally:
        first.kill()
    with start_service(settings, models, tmp_path):
        await wait_for(lambda: done(settings, jobs), what="every job to finish after the restart", timeout=240)
    await assert_exactly_once(settings, jobs, generator, tmp_path)


@pytest.mark.parametrize("generator", sorted(GENERATORS))
async def test_the_store_down_for_30_s_mid_job(generator: str, settings: HelixSettings, models: dict[str, Path], tmp_path: Path,
                                               private_store: Any) -> None:
    settings = on_store(settings, private_store)
    start_service, make_requests = GENERATORS[generator]
    AssetStore(settings).ensure_bucket()
    ensure_topics(settings)
    jobs = await make_requests(settings, tmp_path)
    with start_service(settings, models, tmp_path):
        await wait_for(lambda: len(records(settings, Topic.ASSETS_GENERATED)) >= 1, what="the first asset", timeout=120)
        private_store.down(("minio",))
        await asyncio.sleep(OUTAGE_S)
        assert not done(settings, jobs), "the jobs waited for the store"
        private_store.up(("minio",))
        await wait_for(lambda: done(settings, jobs), what="every job to finish after the outage", timeout=240)
    await assert_exactly_once(settings, jobs, generator, tmp_path)


# --- what must hold afterwards --------------------------------------------------------------------


async def assert_exactly_once(settings: HelixSettings, jobs: list[str], generator: str, folder: Path) -> None:
    statuses = [decode(r.value()) for r in records(settings, Topic.JOBS_STATUS)]
    outcomes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    said: dict[str, list[str]] = defaultdict(list)  # what each job said along the way: its progress steps and errors
    for event in statuses:
        outcomes[event.data.job_id][event.type.rsplit(".", 1)[-1]].add(event.id)
        said[event.data.job_id].append(getattr(event.data, "error", None) or getattr(event.data, "step", None) or event.type)
    for job in jobs:
        why = f"{dict(outcomes[job])}; it said {said[job]}; the service logged: {faults_logged(folder, generator)}"
        assert len(outcomes[job]["completed"]) == 1, f"{job} completed once: {why}"
        assert not outcomes[job]["failed"], f"{job} never reported failed: {why}"

    assets = [decode(r.value()).data for r in records(settings, Topic.ASSETS_GENERATED)]
    versions = {(a.asset_id, a.version) for a in assets}
    asset_ids = {a.asset_id for a in assets}
    assert all(version == 1 for _, version in versions), f"an asset stored twice: {sorted(v for v in versions if v[1] > 1)}"
    store = AssetStore(settings)
    kinds = {a.asset_id: a.kind for a in assets}
    for asset_id in asset_ids:
        assert len(store.versions("lighthouse", kinds[asset_id], asset_id)) == 1, f"{asset_id} has more than one version in the store"

    async with running_review(review_settings(settings)) as (_, stub):
        items: list[Any] = []

        async def listed() -> int:
            items[:] = (await stub.ListItems(review_pb2.ListItemsRequest(
                production_id="lighthouse", page=common_pb2.PageRequest(page_size=1000)))).items
            return len(items)

        await wait_for_async(lambda: listed(), len(asset_ids), what="review items")
        await asyncio.sleep(2)  # anything more would be a duplicate
        await listed()
    per_asset = Counter(item.asset.asset_id for item in items)
    assert set(per_asset) == asset_ids and set(per_asset.values()) == {1}, f"one review item per asset: {per_asset.most_common(3)}"
    print(f"\n{generator}: {len(jobs)} jobs completed once, {len(asset_ids)} assets stored once, {len(items)} review items, "
          f"{len(assets)} asset records on the topic ({len(assets) - len(asset_ids)} re-announced under the same id)")


# --- helpers ------------------------------------------------------------------------------------------


def faults_logged(folder: Path, generator: str) -> list[str]:
    """The service log's errors and tracebacks (the last 40 such lines), for a failure's message."""
    log = folder / f"{generator}.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line[:400] for line in lines if any(word in line for word in ("error", "Error", "Traceback", "exception", "failed"))
            and "Retrying (Retry" not in line][-40:]


def send(settings: HelixSettings, data: Any) -> None:
    produce_raw(settings, data.topic, encode(new_event(data, source="/tests/studio")), key=data.production_id.encode())


def records(settings: HelixSettings, topic: Topic) -> list[Any]:
    return read_topic(settings, topic, count=100_000, timeout=1.0)


def done(settings: HelixSettings, jobs: list[str]) -> bool:
    finished = {decode(r.value()).data.job_id for r in records(settings, Topic.JOBS_STATUS)
                if decode(r.value()).type in ("helix.job.completed", "helix.job.failed")}
    return set(jobs) <= finished


async def wait_for(check: Callable[[], bool], *, what: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(check):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def wait_for_async(count: Callable[[], Any], at_least: int, *, what: str, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await count() < at_least:
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)
