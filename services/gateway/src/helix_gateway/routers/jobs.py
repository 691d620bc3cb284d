"""Jobs: the lifecycle of one generation request, as the services report it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from helix_gateway.fields import ApiId
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.security import AnyRole, ensure_sees_production
from helix_gateway.state import Gateway, VisibleProduction

router = APIRouter(tags=["jobs"], responses=problem_responses(401, 403, 404, 422))


class JobView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    job_id: str
    production_id: str
    request_type: str | None = Field(None, description="CloudEvents type of the request, e.g. helix.writer.script.requested")
    status: str = Field(description="requested, accepted, progress, failed or completed")
    fraction: float | None = Field(None, description="Progress from 0 to 1")
    step: str | None = None
    error: str | None = None
    service: str | None = Field(None, description="The service that last reported on the job")
    asset_ids: list[str]
    requested_by: str | None = None
    request_event_id: str | None = None
    created_at: datetime
    updated_at: datetime


class JobList(BaseModel):
    items: list[JobView]


@router.get("/productions/{production_id}/jobs", summary="A production's jobs, the most recently updated first",
            responses=problem_responses(404))
async def list_jobs(
    production: VisibleProduction,
    gw: Gateway,
    status: Annotated[Literal["requested", "accepted", "progress", "failed", "completed"] | None, Query(description="Only jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JobList:
    jobs = await gw.read_model.jobs(production.production_id, status=status, limit=limit)
    return JobList(items=[JobView.model_validate(j) for j in jobs])


@router.get("/jobs/{job_id}", summary="A job's status")
async def get_job(
    job_id: Annotated[ApiId, Path(description="Job id")],
    gw: Gateway,
    principal: AnyRole,
) -> JobView:
    job = await gw.read_model.job(job_id)
    if job is None:
        raise ProblemError(404, f"no job {job_id!r}")
    ensure_sees_production(principal, job.production_id)
    return JobView.model_validate(job)
