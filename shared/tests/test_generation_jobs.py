"""The generator kit's promises, on an in-memory store and bus (the real ones are exercised by
the writer and visual integration and fault tests): one outcome per job, retries reported
as progress, resume without duplicates, one failed request failing only itself."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from helix.assets import AssetKey, AssetNotFound, StoredAsset
from helix.events import Actor, AssetKind, CloudEvent, ScriptRequested, new_event
from helix.events.data import AssetCost, EventData, ModelRef
from helix.generation import GeneratedAsset, GeneratorKit, Job, JobGaveUp, asset_event_id
from helix.settings import HelixSettings

MODEL = ModelRef(id="tiny", revision="sha256:abc")


@dataclass
class MemoryStore:
    """The asset store's put/versions/sidecar/get semantics, in memory; can fail on demand."""

    objects: dict[str, bytes] = field(default_factory=dict)
    fail_next: int = 0
    puts: int = 0

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("store away")

    def versions(self, production_id: str, kind: Any, asset_id: str) -> list[StoredAsset]:
        self._maybe_fail()
        prefix = AssetKey.build(production_id, kind, asset_id, 1, "bin").prefix
        found = []
        for key, data in self.objects.items():
            parsed = AssetKey.parse(key)
            if key.startswith(prefix) and parsed.ext not in ("meta.json", "preview.png"):
                found.append(StoredAsset(parsed, hashlib.sha256(data).hexdigest(), len(data), "application/json"))
        return sorted(found, key=lambda s: s.key.version)

    def put(self, *, production_id: str, kind: Any, asset_id: str, data: bytes, media_type: str, ext: str,
            provenance: dict[str, Any] | None = None, preview: bytes | None = None, manifest: bytes | None = None) -> StoredAsset:
        existing = self.versions(production_id, kind, asset_id)
        digest = hashlib.sha256(data).hexdigest()
        for stored in existing:
            if stored.sha256 == digest:
                return StoredAsset(stored.key, stored.sha256, stored.size_bytes, media_type, reused=True)
        self._maybe_fail()
        self.puts += 1
        key = AssetKey.build(production_id, kind, asset_id, len(existing) + 1, ext)
        self.objects[str(key.sidecar())] = json.dumps({"provenance": provenance or {}}).encode()
        self.objects[str(key)] = data
        return StoredAsset(key, digest, len(data), media_type)

    def sidecar(self, key: AssetKey) -> dict[str, Any]:
        return json.loads(self.objects[str(key.sidecar())])

    def get(self, key: AssetKey) -> bytes:
        if str(key) not in self.objects:
            raise AssetNotFound(str(key))
        return self.objects[str(key)]


@dataclass
class MemoryBus:
    published: list[tuple[str | None, EventData]] = field(default_factory=list)

    async def publish(self, data: EventData, *, event_id: str | None = None) -> None:
        self.published.append((event_id, data))

    def types(self, job_id: str) -> list[str]:
        return [d.event_type.rsplit(".", 1)[-1] for _, d in self.published if getattr(d, "job_id", None) == job_id
                and d.event_type.startswith("helix.job.")]


def settings(**overrides: Any) -> HelixSettings:
    values: dict[str, Any] = {"retry_attempts": 3, "retry_backoff_initial_s": 0.001, "retry_backoff_max_s": 0.002, "store_outage_s": 5.0}
    return HelixSettings(**{**values, **overrides})


def kit(store: MemoryStore, bus: MemoryBus, **overrides: Any) -> GeneratorKit:
    return GeneratorKit(service="tests", store=store, bus=bus, settings=settings(**overrides))  # type: ignore[arg-type]


def request(job_id: str = "job-1") -> CloudEvent[ScriptRequested]:
    return new_event(ScriptRequested(production_id="lighthouse", job_id=job_id, requested_by=Actor(subject="dana"), logline="A storm."),
                     source="/tests")


def asset(asset_id: str, body: bytes) -> GeneratedAsset:
    return GeneratedAsset(kind=AssetKind.SCRIPT, asset_id=asset_id, data=body, media_type="application/json", ext="json", model=MODEL,
                          inputs={"prompt": "p"}, parameters={"temperature": 0.8}, cost=AssetCost(model_seconds=0.5))


def storing(generated: GeneratedAsset) -> Any:
    async def work(job: Job) -> None:
        await job.store(generated)

    return work


async def test_a_job_is_accepted_progresses_and_completes_once() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job) -> None:
        await job.store(asset("a1", b"one"))
        await job.progress("half", 0.5)
        await job.store(asset("a2", b"two"))

    await kit(store, bus).run(request(), work)
    assert bus.types("job-1") == ["accepted", "progress", "completed"]
    completed = bus.published[-1][1]
    assert completed.asset_ids == ["a1", "a2"]  # type: ignore[attr-defined]
    generated = [d for _, d in bus.published if d.event_type == "helix.asset.generated"]
    assert [g.asset_id for g in generated] == ["a1", "a2"]  # type: ignore[attr-defined]
    assert generated[0].cost.model_seconds == 0.5 and generated[0].job_id == "job-1"  # type: ignore[attr-defined]
    assert generated[0].requested_by.subject == "dana"  # type: ignore[attr-defined]


async def test_a_retry_resumes_and_reports_progress_not_failure() -> None:
    store, bus = MemoryStore(), MemoryBus()
    generated: list[str] = []

    async def work(job: Job) -> None:
        for name in ("title", "characters"):
            if await job.resumed(AssetKind.SCRIPT, name) is None:
                generated.append(name)
                await job.store(asset(name, f"{name} {len(generated)}".encode()))  # random output: never the same twice
            if name == "title" and job.attempt == 1:
                raise ConnectionError("broker restarting")

    await kit(store, bus).run(request(), work)
    assert generated == ["title", "characters"], "the title stored before the failure was reused, not regenerated"
    assert store.puts == 2
    types = bus.types("job-1")
    assert "failed" not in types and types[-1] == "completed" and types.count("completed") == 1
    retry = [d.step for _, d in bus.published if d.event_type == "helix.job.progress"]  # type: ignore[attr-defined]
    assert any("retrying" in step and "ConnectionError" in step for step in retry)
    announced = [(i, d.asset_id) for i, d in bus.published if d.event_type == "helix.asset.generated"]  # type: ignore[attr-defined]
    assert announced.count(announced[0]) == 2, "the reused title is announced again under the same event id"
    assert announced[0][0] == asset_event_id("lighthouse", "title", 1)


async def test_a_redelivered_job_finds_what_it_stored_and_another_job_does_not() -> None:
    store, bus = MemoryStore(), MemoryBus()
    await kit(store, bus).run(request("job-1"), storing(asset("shared-id", b"first")))
    found: dict[str, Any] = {}

    async def look(job: Job) -> None:
        found[job.job_id] = await job.resumed(AssetKind.SCRIPT, "shared-id")

    await kit(store, bus).run(request("job-1"), look)
    await kit(store, bus).run(request("job-2"), look)
    assert found["job-1"] is not None and found["job-1"][1] == b"first"
    assert found["job-2"] is None


async def test_the_store_away_for_a_while_is_waited_for_once() -> None:
    store, bus = MemoryStore(fail_next=3), MemoryBus()
    await kit(store, bus).run(request(), storing(asset("a1", b"one")))
    assert store.puts == 1
    steps = [d.step for _, d in bus.published if d.event_type == "helix.job.progress"]  # type: ignore[attr-defined]
    assert len([s for s in steps if s.startswith("waiting for the asset store")]) == 1
    assert bus.types("job-1")[-1] == "completed"


async def test_bad_input_fails_the_job_once_and_is_not_retried() -> None:
    store, bus = MemoryStore(), MemoryBus()
    calls = 0

    async def work(job: Job) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("no script script-x in production lighthouse")

    await kit(store, bus).run(request(), work)  # returns: the request is done, its answer is "failed"
    assert calls == 1
    assert bus.types("job-1") == ["accepted", "failed"]
    failed = bus.published[-1][1]
    assert "no script script-x" in failed.error and failed.retriable is False  # type: ignore[attr-defined]


async def test_giving_up_on_a_transient_failure_says_retriable_and_dead_letters() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job) -> None:
        raise TimeoutError("broker gone")

    with pytest.raises(JobGaveUp, match="broker gone"):
        await kit(store, bus, retry_attempts=2).run(request(), work)
    types = bus.types("job-1")
    assert types.count("failed") == 1 and "completed" not in types
    assert bus.published[-1][1].retriable is True  # type: ignore[attr-defined]


async def test_one_failed_request_fails_only_itself() -> None:
    store, bus = MemoryStore(), MemoryBus()

    async def work(job: Job) -> None:
        if job.job_id == "bad":
            raise RuntimeError("a bug")
        await job.store(asset(f"a-{job.job_id}", job.job_id.encode()))

    outcomes = await kit(store, bus).run_all([request("good-1"), request("bad"), request("good-2")], work)
    assert outcomes[0] is None and outcomes[2] is None and isinstance(outcomes[1], JobGaveUp)
    assert bus.types("good-1")[-1] == bus.types("good-2")[-1] == "completed"
    assert bus.types("bad") == ["accepted", "failed"]


async def test_a_failing_step_cancels_its_siblings_and_nothing_is_published_after() -> None:
    store, bus = MemoryStore(), MemoryBus()
    finished: list[str] = []

    async def slow(job: Job) -> None:
        await asyncio.sleep(0.2)
        finished.append("slow")
        await job.store(asset("late", b"late"))

    async def failing(job: Job) -> None:
        await asyncio.sleep(0.01)
        raise ValueError("scene s3 does not exist")

    async def work(job: Job) -> None:
        await job.gather(slow(job), failing(job))

    await kit(store, bus).run(request(), work)
    await asyncio.sleep(0.3)
    assert finished == [], "the sibling was cancelled"
    assert bus.types("job-1")[-1] == "failed"
    assert not [d for _, d in bus.published if d.event_type == "helix.asset.generated"]


async def test_the_same_bytes_again_are_the_same_version_announced_as_first_stored() -> None:
    store, bus = MemoryStore(), MemoryBus()
    await kit(store, bus).run(request("job-1"), storing(asset("script", b"same")))
    await kit(store, bus).run(request("job-2"), storing(asset("script", b"same")))
    generated = [(i, d) for i, d in bus.published if d.event_type == "helix.asset.generated"]
    assert store.puts == 1
    assert generated[0][0] == generated[1][0], "one version, one event id"
    assert generated[1][1].job_id == "job-1"  # type: ignore[attr-defined]
