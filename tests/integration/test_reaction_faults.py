"""Reactions and replicas under faults, as processes on the real broker and store.

- A decision delivered three times, and each generator (writer, visual, localize) `kill -9`ed
  after its reaction's request is on the bus but before the job finished: one request, one
  job, one outcome, one version of every asset.
- Two visual replicas in one consumer group; one is stalled (SIGSTOP) past the session
  timeout while it works, the other takes its partitions and finishes the work, then the
  stalled one wakes up mid-job: one version of every asset, one announcement of each (one
  review item), one outcome per job, and the woken replica stored and announced nothing for
  work it no longer owned.
"""

from __future__ import annotations

import asyncio
import os
import signal
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helix.assets import AssetStore
from helix.bus import ensure_topics
from helix.documents import ScriptDocument, StoryboardDocument
from helix.events import (
    Actor,
    CloudEvent,
    ReviewApproved,
    SceneRequested,
    Topic,
    decode,
    encode,
    new_event,
)
from helix.settings import HelixSettings
from helix.story import DialogueLine, Place, SceneScript, Script, Shot, Storyboard
from helix_dev.infra.process import free_port
from helix_localize.settings import LocalizeSettings
from tests.integration.kafka_helpers import produce_raw, read_topic
from tests.integration.processes import ServiceProcess
from tests.integration.test_generator_faults import DANA, visual_service, wait_for, writer_service

pytestmark = [pytest.mark.infra, pytest.mark.slow]
PRODUCTION = "lighthouse"
RHEA = Actor(subject="rhea", roles=["reviewer"])
SCRIPT = "script-j0"


def script_document() -> Script:
    lines = [("MARA", "Forty years, and the light has never failed."), ("TOM", "It will tonight, if we do nothing."),
             ("MARA", "Then we do something."), ("TOM", "The storm is too strong."), ("MARA", "So are we.")]
    scenes = [SceneScript(scene_id=f"s{n}", place="Lamp room", plot_element="rising_action", beat=f"beat {n}",
                          dialogue=[DialogueLine(line_id=f"s{n}-l{i}", speaker=s, text=t) for i, (s, t) in enumerate(lines, start=1)])
              for n in range(1, 13)]  # enough scenes that the storyboards outlast the moment the service is killed
    return Script(production_id=PRODUCTION, logline="A keeper and the last storm.", title="The Last Light", target_locales=["de-DE"],
                  characters=[], places=[Place(name="Lamp room", description="the top of the tower")], scenes=scenes)


def store_json(store: AssetStore, kind: str, asset_id: str, body: str) -> None:
    store.put(production_id=PRODUCTION, kind=kind, asset_id=asset_id, data=body.encode(), media_type="application/json", ext="json")


def decision(asset_id: str, kind: str) -> CloudEvent[ReviewApproved]:
    return new_event(ReviewApproved(production_id=PRODUCTION, decision_id=f"ok-{asset_id}", asset_id=asset_id, kind=kind,
                                    reviewer=RHEA, decided_at=datetime.now(UTC)), source="/helix/review")


def records(settings: HelixSettings, topic: Topic) -> list[CloudEvent[Any]]:
    return [decode(r.value()) for r in read_topic(settings, topic, count=100_000, timeout=3)]


def jobs_status(settings: HelixSettings) -> dict[str, dict[str, set[str]]]:
    """job id -> lifecycle event type -> the distinct event ids of that type."""
    status: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for event in records(settings, Topic.JOBS_STATUS):
        status[event.data.job_id][event.type.rsplit(".", 1)[-1]].add(event.id)
    return status


def stored_versions(settings: HelixSettings) -> dict[str, list[int]]:
    store = AssetStore(settings)
    found: dict[str, list[int]] = defaultdict(list)
    for event in records(settings, Topic.ASSETS_GENERATED):
        found[event.data.asset_id] = [v.key.version for v in store.versions(PRODUCTION, event.data.kind, event.data.asset_id)]
    return found


def localize_service(settings: HelixSettings, models: dict[str, Path], folder: Path) -> ServiceProcess:
    values = {**settings.model_dump(), "service_name": "localize", "database_url": f"sqlite:///{folder / 'localize.db'}",
              "localize_translation_models": {"*": str(models["marian"])}, "localize_voices": {"*": str(models["vits"])},
              "localize_device": "cpu", "localize_grpc_address": "127.0.0.1:0", "localize_shorten_with_writer": False,
              "store_outage_s": 120.0, "retry_attempts": 5}
    return ServiceProcess("helix_localize", LocalizeSettings(**values), folder / "localize.log")


@pytest.fixture(scope="module")
def all_models(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from helix_dev.models.tiny_localize import build_tiny_marian, build_tiny_vits

    folder = tmp_path_factory.mktemp("localize-models")
    return {**models, "marian": build_tiny_marian(folder / "marian"), "vits": build_tiny_vits(folder / "vits")}


# --- a decision redelivered, the generator killed mid-reaction ------------------------------------


def writer_case(settings: HelixSettings, store: AssetStore) -> CloudEvent[Any]:
    store_json(store, "script", f"{SCRIPT}-script", ScriptDocument(level="script", script_id=SCRIPT, content=script_document())
               .model_dump_json())
    return decision(f"{SCRIPT}-script", "script")  # the writer draws its storyboards


def visual_case(settings: HelixSettings, store: AssetStore) -> CloudEvent[Any]:
    shots = [Shot(shot_id=f"s1-shot{n}", shot_type="wide", camera="static", subjects=[f"C{n % 3}"], action="waits", location=f"L{n % 2}",
                  duration_s=2) for n in range(1, 9)]
    board = Storyboard(production_id=PRODUCTION, script_id=SCRIPT, scene_id="s1", shots=shots)
    store_json(store, "storyboard", f"{SCRIPT}-storyboard-s1", StoryboardDocument(level="storyboard-s1", script_id=SCRIPT, content=board)
               .model_dump_json())
    return decision(f"{SCRIPT}-storyboard-s1", "storyboard")  # the visual service draws its frames


def localize_case(settings: HelixSettings, store: AssetStore) -> CloudEvent[Any]:
    return writer_case(settings, store)  # the localize service localizes the approved script for de-DE


CASES = {"writer": (writer_service, writer_case), "visual": (visual_service, visual_case), "localize": (localize_service, localize_case)}


@pytest.mark.parametrize("generator", sorted(CASES))
async def test_a_redelivered_decision_and_a_kill_mid_reaction_make_one_job(generator: str, settings: HelixSettings,
                                                                            all_models: dict[str, Path], tmp_path: Path) -> None:
    start_service, make_case = CASES[generator]
    store = AssetStore(settings)
    store.ensure_bucket()
    ensure_topics(settings)
    approved = make_case(settings, store)
    requests_topic = {"writer": Topic.WRITER_REQUESTS, "visual": Topic.VISUAL_REQUESTS, "localize": Topic.LOCALIZE_REQUESTS}[generator]
    for _ in range(2):  # delivered twice before the service even starts
        produce_raw(settings, Topic.REVIEW_DECISIONS, encode(approved), key=PRODUCTION.encode())
    first = start_service(settings, all_models, tmp_path).start()
    try:
        await wait_for(lambda: bool(read_topic(settings, Topic.ASSETS_GENERATED, count=1, timeout=0.5)), what="the reaction's first asset",
                       timeout=180)
        first.kill()
    finally:
        first.kill()
    status = jobs_status(settings)
    (job,) = [j for j, s in status.items() if "accepted" in s]
    assert not status[job].get("completed"), "killed mid-job"
    produce_raw(settings, Topic.REVIEW_DECISIONS, encode(approved), key=PRODUCTION.encode())  # and once more, while it was down
    with start_service(settings, all_models, tmp_path):
        await wait_for(lambda: bool(jobs_status(settings)[job].get("completed")), what="the job to finish after the restart", timeout=300)
        await asyncio.sleep(5)  # anything more now would be a duplicate
    requests = [e for e in records(settings, requests_topic)]
    assert len({e.id for e in requests}) == 1 and {e.data.job_id for e in requests} == {job}, "one request, however often decided"
    assert requests[0].data.caused_by.decision_id == approved.data.decision_id, "the request names the decision it answers"
    status = jobs_status(settings)
    assert list(status) == [job], f"one job: {list(status)}"
    assert {k: len(v) for k, v in status[job].items() if k != "progress"} == {"accepted": 1, "completed": 1}, status[job]
    versions = stored_versions(settings)
    assert versions and all(v == [1] for v in versions.values()), f"one version of every asset: {versions}"
    announced = Counter((e.data.asset_id, e.data.version) for e in records(settings, Topic.ASSETS_GENERATED) if e.data.job_id == job)
    assert announced and all(e.data.caused_by.decision_id == approved.data.decision_id
                             for e in records(settings, Topic.ASSETS_GENERATED)), "lineage says why the job ran"


# --- two replicas, one stalled past the session timeout --------------------------------------------------


def in_flight(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("helix_jobs_in_flight{"))


async def test_a_replica_stalled_past_its_session_stores_nothing_for_work_that_moved(settings: HelixSettings, models: dict[str, Path],
                                                                                   tmp_path: Path) -> None:
    AssetStore(settings).ensure_bucket()
    ensure_topics(settings)
    ports = [free_port(), free_port()]
    replicas = []
    for n, port in enumerate(ports):  # each its own folder: log and database
        (tmp_path / f"r{n}").mkdir()
        replicas.append(visual_service(settings.model_copy(update={"metrics_port": port}), models, tmp_path / f"r{n}").start())
    jobs = []
    try:
        def joined(n: int) -> bool:
            log = tmp_path / f"r{n}" / "visual.log"
            return log.exists() and "requests.assigned" in log.read_text(errors="replace")

        await wait_for(lambda: joined(0) and joined(1), what="both replicas in the group", timeout=120)
        for n in range(24):  # many productions (keys): the work spreads over every partition, so over both replicas
            job = f"plate-{n:02d}"
            jobs.append(job)
            data = SceneRequested(production_id=f"p{n}", job_id=job, requested_by=DANA, prompt=f"harbour {n}", width=128, height=128,
                                  steps=40, seed=n)
            produce_raw(settings, Topic.VISUAL_REQUESTS, encode(new_event(data, source="/tests")), key=data.production_id.encode())
        await wait_for(lambda: any(in_flight(port) > 0 for port in ports), what="a replica at work", timeout=120)
        at_work = next(n for n, port in enumerate(ports) if in_flight(port) > 0)  # the partitions a replica holds are the group's choice
        stalled = replicas[at_work]
        assert stalled.proc is not None
        os.kill(stalled.proc.pid, signal.SIGSTOP)  # a long stall, or a network partition: past the 6 s session timeout
        await asyncio.sleep(15)
        os.kill(stalled.proc.pid, signal.SIGCONT)  # it wakes up mid-job
        await wait_for(lambda: all(jobs_status(settings)[j].get("completed") for j in jobs), what="every job done", timeout=300)
        await asyncio.sleep(8)  # the woken replica's chance to do harm
    finally:
        for service in replicas:
            if service.proc is not None and service.proc.poll() is None:
                os.kill(service.proc.pid, signal.SIGCONT)  # a stopped process cannot be terminated
            service.stop()
    status = jobs_status(settings)
    assert all(len(status[j].get("completed", ())) == 1 and not status[j].get("failed") for j in jobs), \
        {j: {k: len(v) for k, v in status[j].items()} for j in jobs}
    events = [e for e in records(settings, Topic.ASSETS_GENERATED)]
    per_asset = Counter(e.data.asset_id for e in {(e.data.asset_id, e.data.version): e for e in events}.values())
    assert len(per_asset) == len(jobs) and set(per_asset.values()) == {1}, "one version of each plate announced: one review item each"
    store = AssetStore(settings)
    assert all(len(store.versions(e.data.production_id, "scene", e.data.asset_id)) == 1 for e in events), "one version stored"
    log = (tmp_path / f"r{at_work}" / "visual.log").read_text(errors="replace")
    assert any(mark in log for mark in ("requests.fenced", "requests.partitions_lost", "requests.revoked")), \
        "the stalled replica learned that its partitions had moved"
