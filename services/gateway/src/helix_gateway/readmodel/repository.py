"""Reads and writes of the read model. SQLAlchemy is synchronous here: each call runs in a
worker thread so the event loop keeps serving requests and consuming events.

Projection writes are idempotent upserts on the rows' own keys: the bus dedupes event ids,
but a crash between a write and the bus's bookkeeping redelivers the event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from helix.events import AssetGenerated, CloudEvent, JobAccepted, JobCompleted, JobFailed, JobProgress, JobStatus, ReviewDecision
from helix_gateway.readmodel.tables import Asset, Job, Production

T = TypeVar("T")

# A job's status only moves forward: a late or replayed event never reopens a finished job.
_STATUS_RANK = {"requested": 0, "accepted": 1, "progress": 2, "failed": 3, "completed": 3}


class ReadModel:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in a transaction; a racing insert of the same key is retried once as an update."""
        for attempt in (1, 2):
            try:
                with self._sessions.begin() as session:
                    return fn(session)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # --- health ------------------------------------------------------------------------

    def _ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def ping(self) -> None:
        await self._run(self._ping)

    # --- productions -------------------------------------------------------------------

    async def add_production(self, production: Production) -> None:
        await self._run(self._write, lambda s: s.add(production))

    def _production(self, production_id: str) -> Production | None:
        with self._sessions() as session:
            return session.get(Production, production_id)

    async def production(self, production_id: str) -> Production | None:
        return await self._run(self._production, production_id)

    def _productions(self, visible: list[str] | None, after: tuple[datetime, str] | None, limit: int) -> list[Production]:
        query = select(Production)
        if visible is not None:
            query = query.where(Production.production_id.in_(visible))
        if after is not None:
            at, pid = after
            query = query.where(or_(Production.created_at < at, and_(Production.created_at == at, Production.production_id < pid)))
        query = query.order_by(Production.created_at.desc(), Production.production_id.desc()).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    async def productions(self, *, visible: list[str] | None, after: tuple[datetime, str] | None, limit: int) -> list[Production]:
        """Newest first. `visible` limits to these production ids (None: all)."""
        return await self._run(self._productions, visible, after, limit)

    # --- jobs --------------------------------------------------------------------------

    async def add_job(self, job: Job) -> None:
        await self._run(self._write, lambda s: s.add(job))

    def _job(self, job_id: str) -> Job | None:
        with self._sessions() as session:
            return session.get(Job, job_id)

    async def job(self, job_id: str) -> Job | None:
        return await self._run(self._job, job_id)

    def _jobs(self, production_id: str, status: str | None, limit: int) -> list[Job]:
        query = select(Job).where(Job.production_id == production_id)
        if status is not None:
            query = query.where(Job.status == status)
        with self._sessions() as session:
            return list(session.scalars(query.order_by(Job.updated_at.desc(), Job.job_id).limit(limit)))

    async def jobs(self, production_id: str, *, status: str | None = None, limit: int = 100) -> list[Job]:
        """A production's jobs, the most recently updated first."""
        return await self._run(self._jobs, production_id, status, limit)

    async def fail_job(self, job_id: str, error: str, at: datetime) -> None:
        def write(session: Session) -> None:
            job = session.get(Job, job_id)
            if job is not None and _STATUS_RANK[job.status] < _STATUS_RANK["failed"]:
                job.status, job.error, job.updated_at = "failed", error, at

        await self._run(self._write, write)

    async def apply_job_status(self, data: JobStatus) -> None:
        await self._run(self._write, lambda s: _apply_job_status(s, data))

    # --- assets ------------------------------------------------------------------------

    def _assets(self, production_id: str, kind: str | None, after: tuple[datetime, str, int] | None, limit: int) -> list[Asset]:
        query = select(Asset).where(Asset.production_id == production_id, Asset.event.is_not(None))
        if kind is not None:
            query = query.where(Asset.kind == kind)
        if after is not None:
            at, asset_id, version = after
            query = query.where(
                or_(
                    Asset.created_at < at,
                    and_(Asset.created_at == at, Asset.asset_id < asset_id),
                    and_(Asset.created_at == at, Asset.asset_id == asset_id, Asset.version < version),
                )
            )
        query = query.order_by(Asset.created_at.desc(), Asset.asset_id.desc(), Asset.version.desc()).limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    async def assets(self, production_id: str, *, kind: str | None, after: tuple[datetime, str, int] | None, limit: int) -> list[Asset]:
        """A production's asset versions, newest first."""
        return await self._run(self._assets, production_id, kind, after, limit)

    def _asset(self, asset_id: str, version: int | None) -> tuple[Asset, list[int]] | None:
        with self._sessions() as session:
            rows = list(session.scalars(select(Asset).where(Asset.asset_id == asset_id, Asset.event.is_not(None)).order_by(Asset.version)))
        chosen = [r for r in rows if version is None or r.version == version]
        return (chosen[-1], [r.version for r in rows]) if chosen else None

    async def asset(self, asset_id: str, version: int | None = None) -> tuple[Asset, list[int]] | None:
        """One version of an asset (default: the newest known), and every known version number."""
        return await self._run(self._asset, asset_id, version)

    def _requesters(self, asset_id: str, version: int | None) -> set[str]:
        with self._sessions() as session:
            query = select(Asset).where(Asset.asset_id == asset_id)
            if version is not None:
                query = query.where(Asset.version == version)
            subjects: set[str] = set()
            for asset in session.scalars(query):
                generated = asset.generated()
                if generated is not None and generated.requested_by is not None:
                    subjects.add(generated.requested_by.subject)
                if asset.job_id and (job := session.get(Job, asset.job_id)) is not None and job.requested_by:
                    subjects.add(job.requested_by)
            return subjects

    async def requesters(self, asset_id: str, version: int | None = None) -> set[str]:
        """Who asked for this asset's generation, as far as the read model knows."""
        return await self._run(self._requesters, asset_id, version)

    def _production_assets(self, production_id: str) -> list[tuple[Asset, Job | None]]:
        with self._sessions() as session:
            rows = session.execute(
                select(Asset, Job).outerjoin(Job, Job.job_id == Asset.job_id)
                .where(Asset.production_id == production_id, Asset.event.is_not(None))
                .order_by(Asset.created_at, Asset.asset_id, Asset.version)
            ).all()
            return [(asset, job) for asset, job in rows]

    async def production_assets(self, production_id: str) -> list[tuple[Asset, Job | None]]:
        """Every known version of a production's assets, oldest first, with the job that made it."""
        return await self._run(self._production_assets, production_id)

    async def apply_asset_generated(self, event: CloudEvent[AssetGenerated]) -> None:
        await self._run(self._write, lambda s: _apply_asset_generated(s, event))

    async def apply_decision(self, data: ReviewDecision, review_status: str) -> None:
        await self._run(self._write, lambda s: _apply_decision(s, data, review_status))


# --- projections (run inside a transaction) ------------------------------------------------


def _apply_job_status(session: Session, data: JobStatus) -> None:
    job = session.get(Job, data.job_id, with_for_update=True)
    if job is None:  # a job some studio system requested directly on the bus
        job = Job(job_id=data.job_id, production_id=data.production_id, status="requested", asset_ids=[], created_at=data.at, updated_at=data.at)
        session.add(job)
    if isinstance(data, JobAccepted):
        job.request_type = job.request_type or data.request_type
        job.request_event_id = job.request_event_id or data.request_event_id
        status = "accepted"
    elif isinstance(data, JobProgress):
        status = "progress"
    elif isinstance(data, JobFailed):
        status = "failed"
    elif isinstance(data, JobCompleted):
        status = "completed"
    else:
        return
    asset_ids = getattr(data, "asset_ids", [])
    if asset_ids:
        job.asset_ids = list(dict.fromkeys([*job.asset_ids, *asset_ids]))
    if _STATUS_RANK[status] < _STATUS_RANK[job.status]:
        return  # stale: the job has moved on
    job.status = status
    job.service = data.service
    job.updated_at = max(job.updated_at, data.at)
    if isinstance(data, JobProgress):
        job.step, job.fraction = data.step, data.fraction
    elif isinstance(data, JobCompleted):
        job.fraction = 1.0
    elif isinstance(data, JobFailed):
        job.error = data.error


def _apply_asset_generated(session: Session, event: CloudEvent[AssetGenerated]) -> None:
    data = event.data
    asset = session.get(Asset, (data.asset_id, data.version), with_for_update=True)
    if asset is None:
        asset = Asset(asset_id=data.asset_id, version=data.version, review_status="pending")
        session.add(asset)
    asset.production_id = data.production_id
    asset.kind = data.kind.value
    asset.object_key = data.object_key
    asset.sha256 = data.sha256
    asset.media_type = data.media_type
    asset.size_bytes = data.size_bytes
    asset.job_id = data.job_id
    asset.event = event.model_dump(mode="json")
    asset.created_at = data.generated_at


def _apply_decision(session: Session, data: ReviewDecision, review_status: str) -> None:
    asset = session.get(Asset, (data.asset_id, data.asset_version), with_for_update=True)
    if asset is None:  # the decision overtook its asset event: keep it until that arrives
        asset = Asset(asset_id=data.asset_id, version=data.asset_version, production_id=data.production_id, kind=data.kind.value, created_at=data.decided_at)
        session.add(asset)
    if asset.decided_at is not None and data.decided_at < asset.decided_at:
        return  # an older decision, replayed
    asset.review_status = review_status
    asset.decision_id = data.decision_id
    asset.decided_by = data.reviewer.subject
    asset.decided_at = data.decided_at
    asset.review_notes = data.notes
    asset.review_seconds = data.review_seconds
