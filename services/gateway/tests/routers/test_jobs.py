"""Jobs: a production's jobs, most recently updated first and by state, and one job, for those
who may see its production."""

from __future__ import annotations

import httpx

from helix.events import JobProgress
from helix.events.examples import example
from helix_gateway.readmodel.tables import Job
from helix_gateway.state import GatewayState

from ..conftest import add_production, auth, later

LIGHTHOUSE = auth("dana", "director", productions=["lighthouse"])


async def add_job(gateway: GatewayState, job_id: str, minute: float, production_id: str = "lighthouse") -> None:
    await gateway.read_model.add_job(
        Job(
            job_id=job_id,
            production_id=production_id,
            status="requested",
            asset_ids=[],
            requested_by="dana",
            request_type="helix.writer.script.requested",
            created_at=later(minute),
            updated_at=later(minute),
        )
    )


async def test_a_productions_jobs_by_state_most_recent_first(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse")
    for n, job_id in enumerate(("job-1", "job-2", "job-3")):
        await add_job(gateway, job_id, n)
    await gateway.read_model.apply_job_status(example(JobProgress, job_id="job-1", at=later(9), step="scenes", fraction=0.5))
    listed = (await client.get("/productions/lighthouse/jobs", headers=LIGHTHOUSE)).json()["items"]
    assert [j["job_id"] for j in listed] == ["job-1", "job-3", "job-2"]
    assert (listed[0]["status"], listed[0]["step"], listed[0]["fraction"], listed[0]["service"]) == (
        "progress",
        "scenes",
        0.5,
        "writer",
    )
    waiting = (
        await client.get("/productions/lighthouse/jobs", params={"status": "requested", "limit": 1}, headers=LIGHTHOUSE)
    ).json()
    assert [j["job_id"] for j in waiting["items"]] == ["job-3"]
    assert (await client.get("/productions/lighthouse/jobs", params={"status": "lost"}, headers=LIGHTHOUSE)).status_code == 422


async def test_jobs_of_a_production_one_may_not_see(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway, "harbour")
    assert (await client.get("/productions/harbour/jobs", headers=LIGHTHOUSE)).status_code == 403
    assert (await client.get("/productions/lighthouse/jobs", headers=LIGHTHOUSE)).status_code == 404


async def test_one_job_found_then_checked(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_job(gateway, "job-1", 0)
    await add_job(gateway, "job-9", 0, production_id="harbour")
    job = await client.get("/jobs/job-1", headers=LIGHTHOUSE)
    assert job.status_code == 200
    assert {k: job.json()[k] for k in ("job_id", "production_id", "status", "requested_by", "asset_ids")} == {
        "job_id": "job-1",
        "production_id": "lighthouse",
        "status": "requested",
        "requested_by": "dana",
        "asset_ids": [],
    }
    assert (await client.get("/jobs/job-9", headers=LIGHTHOUSE)).status_code == 403
    assert (await client.get("/jobs/job-404", headers=LIGHTHOUSE)).status_code == 404
    assert (await client.get("/jobs/job-1")).status_code == 401
