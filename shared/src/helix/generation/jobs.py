"""Running a generation job: one small, documented way for every generator (writer, visual, localize).

    kit = GeneratorKit(service="visual", store=store, bus=bus, settings=settings)

    async def render(job: Job[SceneRequested]) -> list[str]:   # the service's domain step
        if (done := await job.resumed(AssetKind.SCENE, asset_id)) is None:
            image = ...                                        # generate
            await job.store(GeneratedAsset(...))               # store + announce, one call
        return job.asset_ids

    await kit.run(event, render, fence=fence)                  # the request consumer calls this

What the kit promises, so that no generator has to get it right on its own:
- **Lifecycle**: `accepted` once per job, `progress` as the steps go (throttled where asked),
  then exactly one outcome: `completed` with the job's assets, or `failed` with the reason
  and an honest `retriable`. A completed job carries no error from an attempt that failed.
- **Retries are progress, not failure**: a transient failure (store or broker briefly away)
  is retried with backoff, inside the store call first (nothing is regenerated while the
  store comes back) and then as a whole job; each retry is reported as progress. `failed`
  is published once, when the job gives up.
- **Resume, never duplicate**: a job retried, or redelivered after a crash, finds what it
  already stored (`Job.resumed`: the version of that asset this job stored) and reuses it,
  announcing it again under the same event id, so consumers see it once. The store itself
  returns a job's earlier version when the same job stores the same asset again (a new
  signature changes the bytes, not the work).
- **Fenced to its owner**: before every store and announcement the job confirms its
  consumer still owns the request (`helix.bus.fence`); a job whose partition moved stops
  at once and publishes nothing more: the new owner resumes it.
- **One failed request fails only itself**: each request is its own job; `Job.gather` runs
  a job's concurrent steps so that one failing cancels its siblings; after a job failed
  nothing more is published for it.
- **Refusal is explicit**: a step raises `JobRefused` when the request cannot be done as
  asked (bad input, a parent that is missing or not approved): the job fails (not
  retriable) and the request is acknowledged. Anything else — a bug, a corrupt stored
  document — fails the job as retriable and raises `JobGaveUp`, which the request consumer
  dead-letters with the reason, so an operator can replay it after the fix (the job then
  resumes). Giving up after transient failures does the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from helix.assets import AssetIntegrityError, AssetNotFound, Store, StoredAsset, UploadKey
from helix.bus import DEFAULT_TRANSIENT
from helix.bus.fence import UNFENCED, Fence, OwnershipLost
from helix.bus.protocol import Publisher
from helix.events import CloudEvent
from helix.events.data import (
    Actor,
    AssetKind,
    EventData,
    GenerationRequest,
    JobAccepted,
    JobCompleted,
    JobFailed,
    JobProgress,
    StagedUpload,
)
from helix.generation.assets import (
    C2paRecord,
    GeneratedAsset,
    Provenance,
    asset_event_id,
    derived_event_id,
    event_from,
    provenance_of,
)
from helix.provenance import ContentCredentials, Signed, TrainingMining, signable
from helix.settings import HelixSettings

log = structlog.get_logger("helix.generation")
T = TypeVar("T")
R = TypeVar("R", bound=GenerationRequest)
R_co = TypeVar("R_co", bound=GenerationRequest, covariant=True)
Work = Callable[["Job[Any]"], Awaitable[list[str] | None]]

__all__ = ["GeneratorKit", "Job", "JobClosed", "JobGaveUp", "JobRefused", "Work"]  # the kit's API (helix.generation re-exports it)


class JobRefused(Exception):
    """The request cannot be done as asked (bad input, a parent asset that is missing or not
    approved): the job fails with this reason, not retriable, and the request is acknowledged."""


class JobGaveUp(Exception):
    """A job failed for good after retries (or on a bug): its request goes to the DLQ with this reason."""


class JobClosed(RuntimeError):
    """Something tried to publish for a job that has already failed."""


class Job(Generic[R]):
    """One request being worked: its lifecycle events, its stored assets, its resume state."""

    def __init__(self, kit: GeneratorKit, event: CloudEvent[Any], fence: Fence = UNFENCED) -> None:
        self.kit = kit
        self.event = event
        self.request: R = event.data
        self.job_id: str = self.request.job_id
        self.production_id: str = self.request.production_id
        self.fence = fence
        self.asset_ids: list[str] = []  # what this job stored (or found it had stored), in order
        self.attempt = 1
        self.fraction = 0.0
        self._failed = False
        self._last_progress = 0.0
        self._store_waiting = False

    # --- lifecycle -------------------------------------------------------------------------

    async def progress(self, step: str, fraction: float | None = None, *, throttle_s: float = 0.0) -> None:
        """Publish `step` (with the job's fraction done); with `throttle_s`, at most that often."""
        now = time.monotonic()
        if throttle_s and now - self._last_progress < throttle_s:
            return
        self._check_open()
        self._last_progress = now
        if fraction is not None:
            self.fraction = max(0.0, min(1.0, fraction))
        await self.kit.publish(JobProgress(production_id=self.production_id, job_id=self.job_id, service=self.kit.service,
                                           at=datetime.now(UTC), step=step[:500], fraction=round(self.fraction, 3),
                                           asset_ids=self.asset_ids[-100:]))

    async def gather(self, *steps: Coroutine[Any, Any, T]) -> list[T]:
        """Run concurrent steps of this job; the first failure cancels the others and is raised."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(step) for step in steps]
        except BaseExceptionGroup as grouped:
            raise _first(grouped) from None
        return [task.result() for task in tasks]

    def _check_open(self) -> None:
        if self._failed:
            raise JobClosed(f"job {self.job_id} has failed: nothing more is published for it")
        if self.fence.lost:
            raise OwnershipLost(f"job {self.job_id}: this replica no longer owns its request")

    # --- assets ----------------------------------------------------------------------------

    async def resumed(self, kind: AssetKind, asset_id: str) -> tuple[StoredAsset, bytes] | None:
        """The version of `asset_id` this job stored in an earlier attempt (a retry, or a
        redelivery after a crash), with its bytes; None when this job has not stored it.
        A found version is announced again (same event id: consumers see it once)."""
        self._check_open()
        found = await self.kit.retrying_store(self, lambda: _version_by_job(self.kit.store, self.production_id, kind, asset_id,
                                                                             self.job_id))
        if found is None:
            return None
        stored, data, provenance = found
        log.info("job.resumed_asset", job_id=self.job_id, asset_id=asset_id, version=stored.key.version)
        await self._announce(stored, provenance)
        return stored, data

    async def staged(self, upload: StagedUpload) -> bytes:
        """The bytes of a person's upload the gateway staged for this request, checked against
        the sha256 the request carries; `JobRefused` when it is missing, altered, or another
        production's."""
        key = UploadKey.parse(upload.key)
        if key.production_id != self.production_id:
            raise JobRefused(f"the upload {upload.key} belongs to another production than {self.production_id}")
        try:
            return await self.kit.retrying_store(self, lambda: self.kit.store.staged(key, upload.sha256))
        except AssetNotFound:
            raise JobRefused(f"the staged upload {upload.key} is not in the store (never staged, or removed)") from None
        except AssetIntegrityError as exc:
            raise JobRefused(str(exc)) from None

    async def store(self, asset: GeneratedAsset) -> StoredAsset:
        """Store one generated asset (signed with Content Credentials if it is media, with its
        sidecar and preview) and publish its `helix.asset.generated`."""
        self._check_open()
        provenance = provenance_of(asset, job_id=self.job_id, generated_by=self.kit.actor, generated_at=datetime.now(UTC),
                                   requested_by=self.request.requested_by, caused_by=self.request.caused_by)
        data, manifest = asset.data, None
        if self.kit.credentials is not None and signable(asset.media_type) and asset.model is not None:
            signed = await self.kit.retrying_store(self, lambda: self.kit.sign(self, asset))
            data, manifest = signed.data, signed.sidecar
            provenance.c2pa = C2paRecord(embedded=manifest is None, manifest=signed.label,
                                         digital_source_type="composite" if _composite(asset) else "trainedAlgorithmicMedia")
        sidecar = provenance.model_dump(mode="json")

        def put() -> tuple[StoredAsset, Provenance]:
            stored = self.kit.store.put(production_id=self.production_id, kind=asset.kind, asset_id=asset.asset_id, data=data,
                                        media_type=asset.media_type, ext=asset.ext, provenance=sidecar, preview=asset.preview,
                                        manifest=manifest, job_id=self.job_id)
            # Stored before (the same bytes, or by this job on another attempt or replica):
            # announce that version as it was.
            return stored, (_provenance(self.kit.store, stored) if stored.reused else provenance)

        await self.fence.confirm()  # a replica that lost the request writes nothing
        stored, announced = await self.kit.retrying_store(self, put)
        await self._announce(stored, announced)
        return stored

    async def _announce(self, stored: StoredAsset, provenance: Provenance) -> None:
        self._check_open()
        await self.fence.confirm()
        await self.kit.publish(event_from(stored, provenance),
                               event_id=asset_event_id(self.production_id, stored.key.asset_id, stored.key.version))
        if stored.key.asset_id not in self.asset_ids:
            self.asset_ids.append(stored.key.asset_id)


DATA_USE_TTL_S = 30.0  # how long a generator trusts a production's data-use choice before reading it again


class GeneratorKit:
    """The generator plumbing a service shares across its jobs (one per process)."""

    def __init__(self, *, service: str, store: Store, bus: Publisher, settings: HelixSettings,
                 transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT) -> None:
        self.service = service
        self.store = store
        self.bus = bus
        self.settings = settings
        self.transient = transient
        self.actor = Actor(subject=service, kind="service")
        self.credentials: ContentCredentials | None = ContentCredentials(settings) if settings.c2pa_enabled else None
        self._data_uses: dict[str, tuple[float, TrainingMining | None]] = {}  # production -> (read at, its choice)

    def training_mining(self, production_id: str) -> TrainingMining | None:
        """The production's training-and-mining choice (`DataUse`), read from the store at most
        every `DATA_USE_TTL_S` per production; None when it made none (the deployment's default)."""
        now = time.monotonic()
        cached = self._data_uses.get(production_id)
        if cached is not None and now - cached[0] < DATA_USE_TTL_S:
            return cached[1]
        found = self.store.data_use(production_id)
        use = found.training_mining if found is not None else None
        self._data_uses[production_id] = (now, use)
        return use

    def sign(self, job: Job[Any], asset: GeneratedAsset) -> Signed:
        """Content Credentials for a media asset; a revision names the version it revises as its ingredient."""
        assert self.credentials is not None
        ingredients = []
        if asset.revises_version is not None:
            for stored in self.store.versions(job.production_id, asset.kind, asset.asset_id):
                if stored.key.version == asset.revises_version:
                    ingredients.append((f"{asset.asset_id} v{stored.key.version}", self.store.get(stored.key), stored.media_type))
        return self.credentials.sign(
            asset.data, asset.media_type, title=asset.asset_id, model=asset.model.id if asset.model else None,
            revision=asset.model.revision if asset.model else None, parameters={**asset.parameters, "seed": asset.seed},
            generation={"asset_id": asset.asset_id, "job_id": job.job_id, "production_id": job.production_id, "seed": asset.seed,
                        "model": asset.model.model_dump() if asset.model else None, "parents": list(asset.parents)},
            composite=_composite(asset), ingredients=ingredients, training_mining_use=self.training_mining(job.production_id))

    async def publish(self, data: EventData, *, event_id: str | None = None) -> None:
        await self.bus.publish(data, event_id=event_id)

    async def run_all(self, events: list[CloudEvent[Any]], work: Work) -> list[BaseException | None]:
        """Each request as its own job, concurrently; one outcome per request (tests, scripts)."""
        results = await asyncio.gather(*(self.run(event, work) for event in events), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def run(self, event: CloudEvent[Any], work: Work, *, fence: Fence = UNFENCED) -> None:
        """One job from accepted to its one outcome (see the module's promises)."""
        job: Job[Any] = Job(self, event, fence)
        request: GenerationRequest = job.request
        await fence.confirm()
        await self.publish(JobAccepted(production_id=job.production_id, job_id=job.job_id, service=self.service, at=datetime.now(UTC),
                                       request_type=event.type, request_event_id=event.id, caused_by=request.caused_by),
                           event_id=derived_event_id("job", job.job_id, "accepted", event.id))
        attempts = self.settings.retry_attempts
        while True:
            try:
                done = await work(job)
                break
            except (asyncio.CancelledError, OwnershipLost):
                raise  # the new owner resumes it: nothing more is said here
            except JobRefused as exc:  # the request cannot be done as asked: the job says why, the request is done
                log.info("job.refused", job_id=job.job_id, reason=_describe(exc))
                await self._fail(job, str(exc) or type(exc).__name__, retriable=False)
                return
            except self.transient as exc:
                if job.attempt >= attempts:
                    await self._fail(job, f"gave up after {attempts} attempts: {_describe(exc)}", retriable=True)
                    raise JobGaveUp(f"job {job.job_id}: {_describe(exc)}") from exc
                await job.progress(f"retrying (attempt {job.attempt + 1} of {attempts}) after: {_describe(exc)}")
                await asyncio.sleep(min(self.settings.retry_backoff_max_s, self.settings.retry_backoff_initial_s * 2 ** job.attempt))
                job.attempt += 1
            except Exception as exc:  # a bug or a corrupt document: fixed by a person, then replayed from the DLQ
                log.exception("job.failed", job_id=job.job_id)
                await self._fail(job, f"{_describe(exc)} (a fault, not the request: replay it from the DLQ once fixed)", retriable=True)
                raise JobGaveUp(f"job {job.job_id}: {_describe(exc)}") from exc
        asset_ids = list(dict.fromkeys(done if done is not None else job.asset_ids))
        await fence.confirm()
        await self.publish(JobCompleted(production_id=request.production_id, job_id=job.job_id, service=self.service,
                                        at=datetime.now(UTC), asset_ids=asset_ids[:1000]),
                           event_id=derived_event_id("job", job.job_id, "completed"))

    async def _fail(self, job: Job[Any], reason: str, *, retriable: bool) -> None:
        job._failed = True
        await job.fence.confirm()
        await self.publish(JobFailed(production_id=job.production_id, job_id=job.job_id, service=self.service, at=datetime.now(UTC),
                                     error=reason[:2000], retriable=retriable),
                           event_id=derived_event_id("job", job.job_id, "failed", job.event.id))

    async def retrying_store(self, job: Job[Any], call: Callable[[], T]) -> T:
        """`call` (asset store I/O) in a thread, retried with backoff while the store is away,
        up to `store_outage_s`; the wait is reported once as job progress."""
        retrying = AsyncRetrying(
            stop=stop_after_delay(self.settings.store_outage_s),
            wait=wait_exponential_jitter(multiplier=self.settings.retry_backoff_initial_s, max=self.settings.retry_backoff_max_s),
            retry=retry_if_exception_type(self.transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await asyncio.to_thread(call)
                    except self.transient as exc:
                        if not job._store_waiting:
                            job._store_waiting = True
                            log.warning("job.store_unavailable", job_id=job.job_id, error=_describe(exc))
                            await job.progress(f"waiting for the asset store: {_describe(exc)}")
                        raise
        finally:
            job._store_waiting = False
        raise AssertionError("unreachable")  # pragma: no cover


def _composite(asset: GeneratedAsset) -> bool:
    """Revisions of an earlier version, dubbed tracks made of many lines, animatics cut from
    generated frames and tracks: composed with (or of) generated media."""
    return asset.revises_version is not None or asset.kind in (AssetKind.VOICEOVER, AssetKind.ANIMATIC)


def _provenance(store: Store, stored: StoredAsset) -> Provenance:
    return Provenance.model_validate(store.sidecar(stored.key).get("provenance") or {})


def _version_by_job(store: Store, production_id: str, kind: AssetKind, asset_id: str,
                    job_id: str) -> tuple[StoredAsset, bytes, Provenance] | None:
    """The newest version of an asset that `job_id` stored: the object's metadata names its
    job; versions written before that was recorded are looked up in their sidecars."""
    try:
        versions = store.versions(production_id, kind, asset_id)
    except AssetNotFound:
        return None
    for stored in reversed(versions):
        if stored.job_id is not None and stored.job_id != job_id:
            continue
        try:
            provenance = _provenance(store, stored)
        except AssetNotFound:
            continue
        if provenance.job_id == job_id:
            return stored, store.get(stored.key), provenance
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _first(group: BaseExceptionGroup) -> BaseException:
    """The first real failure in a (nested) exception group; cancellations only if nothing else."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
