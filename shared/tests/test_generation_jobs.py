"""The generator kit's promises, on the core's in-memory store and bus (`helix.testing`; the real
ones are exercised by the integration and fault tests): one outcome per job, retries reported
as progress, resume without duplicates, explicit refusals, faults dead-lettered, fencing."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from helix.bus.fence import OwnershipLost
from helix.events import Actor, AssetGenerated, AssetKind, CloudEvent, JobFailed, JobProgress, ScriptRequested, new_event
from helix.events.data import AssetCost, ModelRef
from helix.generation import GeneratedAsset, GeneratorKit, Job, JobGaveUp, JobRefused, asset_event_id
from helix.settings import HelixSettings
from helix.testing import MemoryBus, MemoryStore

MODEL = ModelRef(id="tiny", revision="sha256:abc")


def settings(**overrides: Any) -> HelixSettings:
    values: dict[str, Any] = {"retry_attempts": 3, "retry_backoff_initial_s": 0.001, "retry_backoff_max_s": 0.002, "store_outage_s": 5.0,
                              "c2pa_enabled": False}
    return HelixSettings(**{**values, **overrides})


def kit(store: MemoryStore, bus: MemoryBus, **overrides: Any) -> GeneratorKit:
    return GeneratorKit(service="tests", store=store, bus=bus, settings=settings(**overrides))


def request(job_id: str = "job-1") -> CloudEvent[ScriptRequested]:
    return new_event(ScriptRequested(production_id="lighthouse", job_id=job_id, requested_by=Actor(subject="dana"), logline="A storm."),
                     source="/tests")


def asset(asset_id: str, body: bytes) -> GeneratedAsset:
    return GeneratedAsset(kind=AssetKind.SCRIPT, asset_id=asset_id, data=body, media_type="application/json", ext="json", model=MODEL,
                          inputs={"prompt": "p"}, parameters={"temperature": 0.8}, cost=AssetCost(model_seconds=0.5))


def storing(generated: GeneratedAsset) -> Any:
    async def work(job: Job[Any]) -> None:
        await job.store(generated)

    return work


def outcomes(bus: MemoryBus, job_id: str) -> list[str]:
    """The job's lifecycle events in order (copies under one event id count once)."""
    seen, out = set(), []
    for event in bus.published:
        if event.type.startswith("helix.job.") and getattr(event.data, "job_id", None) == job_id and event.id not in seen:
            seen.add(event.id)
            out.append(event.type.rsplit(".", 1)[-1])
    return out


def generated(bus: MemoryBus) -> list[CloudEvent[Any]]:
    return [e for e in bus.published if isinstance(e.data, AssetGenerated)]


async def test_a_job_is_accepted_progresses_and_completes_once() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job[Any]) -> None:
        await job.store(asset("a1", b"one"))
        await job.progress("half", 0.5)
        await job.store(asset("a2", b"two"))

    await kit(store, bus).run(request(), work)
    assert outcomes(bus, "job-1") == ["accepted", "progress", "completed"]
    assert bus.published[-1].data.asset_ids == ["a1", "a2"]
    first = generated(bus)[0].data
    assert [e.data.asset_id for e in generated(bus)] == ["a1", "a2"]
    assert first.cost.model_seconds == 0.5 and first.job_id == "job-1" and first.requested_by.subject == "dana"


async def test_a_retry_resumes_and_reports_progress_not_failure() -> None:
    store, bus = MemoryStore(), MemoryBus()
    made: list[str] = []

    async def work(job: Job[Any]) -> None:
        for name in ("title", "characters"):
            if await job.resumed(AssetKind.SCRIPT, name) is None:
                made.append(name)
                await job.store(asset(name, f"{name} {len(made)}".encode()))  # random output: never the same twice
            if name == "title" and job.attempt == 1:
                raise ConnectionError("broker restarting")

    await kit(store, bus).run(request(), work)
    assert made == ["title", "characters"], "the title stored before the failure was reused, not regenerated"
    assert store.puts == 2
    types = outcomes(bus, "job-1")
    assert "failed" not in types and types[-1] == "completed" and types.count("completed") == 1
    steps = [d.step for d in bus.of_type(JobProgress)]
    assert any("retrying" in step and "ConnectionError" in step for step in steps)
    title = [e for e in generated(bus) if e.data.asset_id == "title"]
    assert len(title) == 2 and title[0].id == title[1].id == asset_event_id("lighthouse", "title", 1), "announced again, same event id"


async def test_a_redelivered_job_finds_what_it_stored_and_another_job_does_not() -> None:
    store, bus = MemoryStore(), MemoryBus()
    await kit(store, bus).run(request("job-1"), storing(asset("shared-id", b"first")))
    found: dict[str, Any] = {}

    async def look(job: Job[Any]) -> None:
        found[job.job_id] = await job.resumed(AssetKind.SCRIPT, "shared-id")

    await kit(store, bus).run(request("job-1"), look)
    await kit(store, bus).run(request("job-2"), look)
    assert found["job-1"] is not None and found["job-1"][1] == b"first"
    assert found["job-2"] is None


async def test_a_jobs_rerun_with_other_bytes_is_that_jobs_version_not_a_new_one() -> None:
    """Each signing writes a new C2PA manifest: the same work, other bytes. A job (on another
    attempt or another replica) that stores an asset it already stored gets its version back."""
    store, bus = MemoryStore(), MemoryBus()
    await kit(store, bus).run(request("job-1"), storing(asset("frame", b"signed once")))
    await kit(store, bus).run(request("job-1"), storing(asset("frame", b"signed twice")))
    await kit(store, bus).run(request("job-2"), storing(asset("frame", b"another job's work")))
    versions = store.versions("lighthouse", AssetKind.SCRIPT, "frame")
    assert [v.key.version for v in versions] == [1, 2] and [v.job_id for v in versions] == ["job-1", "job-2"]
    assert store.get(versions[0].key) == b"signed once"
    ids = {e.id for e in generated(bus) if e.data.job_id == "job-1"}
    assert ids == {asset_event_id("lighthouse", "frame", 1)}, "the re-run announces the first version under its event id"


async def test_the_store_away_for_a_while_is_waited_for_once() -> None:
    store, bus = MemoryStore(), MemoryBus()
    store.fail_next = 3
    await kit(store, bus).run(request(), storing(asset("a1", b"one")))
    assert store.puts == 1
    steps = [d.step for d in bus.of_type(JobProgress)]
    assert len([s for s in steps if s.startswith("waiting for the asset store")]) == 1
    assert outcomes(bus, "job-1")[-1] == "completed"


async def test_a_refused_request_fails_its_job_once_and_is_not_retried() -> None:
    store, bus = MemoryStore(), MemoryBus()
    calls = 0

    async def work(job: Job[Any]) -> None:
        nonlocal calls
        calls += 1
        raise JobRefused("no script script-x in production lighthouse")

    await kit(store, bus).run(request(), work)  # returns: the request is done, its answer is "failed"
    assert calls == 1
    assert outcomes(bus, "job-1") == ["accepted", "failed"]
    (failed,) = bus.of_type(JobFailed)
    assert failed.error == "no script script-x in production lighthouse" and failed.retriable is False


@pytest.mark.parametrize("fault", [ValueError("a model built wrongly in code"), KeyError("content"), RuntimeError("a bug")])
async def test_anything_but_a_refusal_is_a_fault_failed_retriably_and_dead_lettered(fault: Exception) -> None:
    """pydantic's ValidationError, a JSON error, a missing key: bugs or corrupt documents, fixed by
    a person and replayed from the DLQ — never acknowledged as bad input."""
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job[Any]) -> None:
        raise fault

    with pytest.raises(JobGaveUp, match=type(fault).__name__):
        await kit(store, bus).run(request(), work)
    (failed,) = bus.of_type(JobFailed)
    assert failed.retriable is True and "replay" in failed.error and outcomes(bus, "job-1") == ["accepted", "failed"]


async def test_giving_up_on_a_transient_failure_says_retriable_and_dead_letters() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job[Any]) -> None:
        raise TimeoutError("broker gone")

    with pytest.raises(JobGaveUp, match="broker gone"):
        await kit(store, bus, retry_attempts=2).run(request(), work)
    types = outcomes(bus, "job-1")
    assert types.count("failed") == 1 and "completed" not in types
    assert bus.of_type(JobFailed)[0].retriable is True


async def test_one_failed_request_fails_only_itself() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job[Any]) -> None:
        if job.job_id == "bad":
            raise RuntimeError("a bug")
        await job.store(asset(f"a-{job.job_id}", job.job_id.encode()))

    results = await kit(store, bus).run_all([request("good-1"), request("bad"), request("good-2")], work)
    assert results[0] is None and results[2] is None and isinstance(results[1], JobGaveUp)
    assert outcomes(bus, "good-1")[-1] == outcomes(bus, "good-2")[-1] == "completed"
    assert outcomes(bus, "bad") == ["accepted", "failed"]


async def test_a_failing_step_cancels_its_siblings_and_nothing_is_published_after() -> None:
    store, bus = MemoryStore(), MemoryBus()
    finished: list[str] = []

    async def slow(job: Job[Any]) -> None:
        await asyncio.sleep(0.2)
        finished.append("slow")
        await job.store(asset("late", b"late"))

    async def failing(job: Job[Any]) -> None:
        await asyncio.sleep(0.01)
        raise JobRefused("scene s3 does not exist")

    async def work(job: Job[Any]) -> None:
        await job.gather(slow(job), failing(job))

    await kit(store, bus).run(request(), work)
    await asyncio.sleep(0.3)
    assert finished == [], "the sibling was cancelled"
    assert outcomes(bus, "job-1")[-1] == "failed"
    assert not generated(bus)


async def test_the_same_bytes_again_are_the_same_version_announced_as_first_stored() -> None:
    store, bus = MemoryStore(), MemoryBus()
    await kit(store, bus).run(request("job-1"), storing(asset("script", b"same")))
    await kit(store, bus).run(request("job-2"), storing(asset("script", b"same")))
    events = generated(bus)
    assert store.puts == 1
    assert events[0].id == events[1].id, "one version, one event id"
    assert events[1].data.job_id == "job-1"


class Fence:
    """A fence that is lost after `allowed` confirmations (the partition moved mid-job)."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.lost = False

    async def confirm(self) -> None:
        if self.allowed <= 0:
            self.lost = True
            raise OwnershipLost("moved")
        self.allowed -= 1


async def test_a_job_whose_request_moved_stores_and_announces_nothing_more() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job[Any]) -> None:
        await job.store(asset("a1", b"one"))
        await job.store(asset("a2", b"two"))

    # accepted (1), a1 stored (2) and announced (3); a2's store is refused.
    with pytest.raises(OwnershipLost):
        await kit(store, bus).run(request(), work, fence=Fence(allowed=3))
    assert [e.data.asset_id for e in generated(bus)] == ["a1"]
    assert store.versions("lighthouse", AssetKind.SCRIPT, "a2") == []
    assert outcomes(bus, "job-1") == ["accepted"], "no failed, no completed: the new owner says how the job ends"


async def test_each_manifest_carries_its_productions_training_and_mining_choice(tmp_path: Path) -> None:
    import c2pa

    from helix.provenance import DataUse, dev_chain

    paths = dev_chain(tmp_path / "chain")
    store, bus = MemoryStore(), MemoryBus()
    signing = kit(store, bus, c2pa_enabled=True, c2pa_chain=str(paths["chain"]), c2pa_key=str(paths["key"]),
                  c2pa_trust_anchors=str(paths["root"]))
    store.put_data_use(DataUse(production_id="lighthouse", training_mining="allowed"))
    picture = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(picture, format="PNG")
    image = GeneratedAsset(kind=AssetKind.FRAME, asset_id="frame-1", data=picture.getvalue(), media_type="image/png", ext="png", model=MODEL)

    async def uses(production_id: str, job_id: str) -> set[str]:
        event = new_event(ScriptRequested(production_id=production_id, job_id=job_id, requested_by=Actor(subject="dana"), logline="A storm."),
                          source="/tests")
        await signing.run(event, storing(image))
        stored = store.versions(production_id, AssetKind.FRAME, "frame-1")[-1]
        manifests = json.loads(c2pa.Reader("image/png", io.BytesIO(store.get(stored.key))).json())  # read by c2pa-rs
        (assertion,) = [a for a in manifests["manifests"][manifests["active_manifest"]]["assertions"]
                        if a["label"] == "cawg.training-mining"]
        return {entry["use"] for entry in assertion["data"]["entries"].values()}

    assert await uses("lighthouse", "job-1") == {"allowed"}
    assert await uses("harbour", "job-2") == {"notAllowed"}, "no choice made: the deployment's default"
