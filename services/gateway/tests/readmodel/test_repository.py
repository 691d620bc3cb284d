"""The read model on SQLite migrated by Alembic: keyset listings, job status that only moves
forward, asset versions and the decisions that may overtake them, and idempotent projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from helix.events import JobAccepted, JobCompleted, JobFailed, JobProgress, ReviewApproved, ReviewRejected
from helix.events.examples import example
from helix_gateway.readmodel import ReadModel
from helix_gateway.readmodel.tables import Job
from helix_gateway.state import GatewayState

from ..conftest import T0, add_asset, add_production, later


@pytest.fixture
def model(gateway: GatewayState) -> ReadModel:
    return gateway.read_model


def job_event(model_type: Any, minute: float, **fields: Any) -> Any:
    return example(model_type, production_id="lighthouse", job_id="job-1", at=later(minute), **fields)


def decision(
    model_type: Any = ReviewApproved, minute: float = 10, asset_id: str = "script-0001", version: int = 1, **fields: Any
) -> Any:
    return example(
        model_type, production_id="lighthouse", asset_id=asset_id, asset_version=version, decided_at=later(minute), **fields
    )


async def add_job(
    model: ReadModel,
    job_id: str = "job-1",
    *,
    status: str = "requested",
    minute: float = 0,
    requested_by: str | None = "dana",
    production_id: str = "lighthouse",
) -> None:
    await model.add_job(
        Job(
            job_id=job_id,
            production_id=production_id,
            status=status,
            asset_ids=[],
            requested_by=requested_by,
            created_at=later(minute),
            updated_at=later(minute),
        )
    )


async def test_the_database_answers_a_ping(model: ReadModel) -> None:
    await model.ping()


async def test_productions_newest_first_visible_ones_only_in_keyset_pages(gateway: GatewayState, model: ReadModel) -> None:
    for pid, minute in (("a", 0), ("b", 5), ("c", 5), ("d", 9)):
        await add_production(gateway, pid, at=later(minute))
    assert [p.production_id for p in await model.productions(visible=None, after=None, limit=10)] == ["d", "c", "b", "a"]
    assert [p.production_id for p in await model.productions(visible=None, after=(later(5), "c"), limit=10)] == ["b", "a"]
    assert [p.production_id for p in await model.productions(visible=["a", "c", "zz"], after=None, limit=1)] == ["c"]
    assert await model.productions(visible=[], after=None, limit=10) == []
    assert (await model.production("b")).title == "The Lighthouse"  # type: ignore[union-attr]
    assert await model.production("zz") is None


async def test_a_production_id_is_added_once(gateway: GatewayState) -> None:
    await add_production(gateway, "a")
    with pytest.raises(IntegrityError):
        await add_production(gateway, "a")


async def test_a_jobs_status_only_moves_forward(model: ReadModel) -> None:
    await add_job(model)
    await model.apply_job_status(
        job_event(JobAccepted, 1, request_type="helix.writer.script.requested", request_event_id="evt-1")
    )
    await model.apply_job_status(job_event(JobProgress, 2, step="characters", fraction=0.25, asset_ids=["a1"]))
    await model.apply_job_status(job_event(JobCompleted, 4, asset_ids=["a2", "a1"]))
    await model.apply_job_status(
        job_event(JobProgress, 3, step="late", fraction=0.5, asset_ids=["a3"])
    )  # arrives after completion
    await model.apply_job_status(job_event(JobAccepted, 5, request_type="other", request_event_id="evt-2"))
    job = await model.job("job-1")
    assert job is not None
    assert (job.status, job.fraction, job.step, job.updated_at) == ("completed", 1.0, "characters", later(4))
    assert job.asset_ids == ["a1", "a2", "a3"]  # what a late event names is still kept
    assert (job.request_type, job.request_event_id, job.service) == ("helix.writer.script.requested", "evt-1", "writer")


async def test_a_job_requested_directly_on_the_bus_is_created_by_its_first_status(model: ReadModel) -> None:
    await model.apply_job_status(job_event(JobFailed, 1, error="out of memory"))
    job = await model.job("job-1")
    assert job is not None and (job.status, job.error, job.created_at, job.requested_by) == (
        "failed",
        "out of memory",
        later(1),
        None,
    )


async def test_failing_a_job_never_reopens_a_finished_one(model: ReadModel) -> None:
    await add_job(model, "job-1")
    await add_job(model, "job-2", status="completed")
    await model.fail_job("job-1", "could not publish", later(3))
    await model.fail_job("job-2", "could not publish", later(3))
    await model.fail_job("job-unknown", "x", later(3))
    assert [(j.job_id, j.status, j.error) for j in sorted(await model.jobs("lighthouse"), key=lambda j: j.job_id)] == [
        ("job-1", "failed", "could not publish"),
        ("job-2", "completed", None),
    ]
    assert await model.job("job-unknown") is None


async def test_jobs_of_a_production_most_recently_updated_first(model: ReadModel) -> None:
    await add_job(model, "job-1", minute=0)
    await add_job(model, "job-2", minute=1)
    await add_job(model, "job-3", minute=2, production_id="harbour")
    await model.apply_job_status(
        example(JobProgress, production_id="lighthouse", job_id="job-1", at=later(5), step="s", fraction=0.5)
    )
    assert [j.job_id for j in await model.jobs("lighthouse")] == ["job-1", "job-2"]
    assert [j.job_id for j in await model.jobs("lighthouse", status="requested")] == ["job-2"]
    assert [j.job_id for j in await model.jobs("lighthouse", limit=1)] == ["job-1"]


async def test_asset_versions_newest_first_by_kind_in_keyset_pages(gateway: GatewayState, model: ReadModel) -> None:
    await add_asset(gateway, asset_id="script-a", at=later(0))
    await add_asset(gateway, asset_id="script-a", version=2, at=later(1))
    await add_asset(gateway, asset_id="frame-b", at=later(1), kind="frame", media_type="image/png")
    await add_asset(gateway, "harbour", asset_id="frame-c", at=later(2), kind="frame", media_type="image/png")
    await model.apply_decision(decision(asset_id="frame-late"), "approved")  # no asset event yet: not listed
    listed = [(a.asset_id, a.version) for a in await model.assets("lighthouse", kind=None, after=None, limit=10)]
    assert listed == [("script-a", 2), ("frame-b", 1), ("script-a", 1)]
    after: tuple[datetime, str, int] = (later(1), "script-a", 2)
    assert [(a.asset_id, a.version) for a in await model.assets("lighthouse", kind=None, after=after, limit=10)] == [
        ("frame-b", 1),
        ("script-a", 1),
    ]
    assert [a.asset_id for a in await model.assets("lighthouse", kind="frame", after=None, limit=10)] == ["frame-b"]


async def test_one_asset_version_and_every_version_number(gateway: GatewayState, model: ReadModel) -> None:
    for version in (1, 2, 3):
        await add_asset(gateway, asset_id="script-a", version=version, at=later(version))
    await model.apply_decision(decision(asset_id="script-a", version=4), "rejected")  # decided before its event arrived
    newest, versions = await model.asset("script-a")  # type: ignore[misc]
    assert newest.version == 3 and versions == [1, 2, 3]
    second, _ = await model.asset("script-a", 2)  # type: ignore[misc]
    assert second.version == 2 and second.generated() is not None and second.generated().version == 2  # type: ignore[union-attr]
    assert await model.asset("script-a", 4) is None and await model.asset("nope") is None


async def test_requesters_come_from_the_event_and_from_the_job(gateway: GatewayState, model: ReadModel) -> None:
    await add_job(model, "job-1", requested_by="dana")
    await add_asset(
        gateway, asset_id="frame-a", job_id="job-1", requested_by={"subject": "sam"}, kind="frame", media_type="image/png"
    )
    await add_asset(gateway, asset_id="frame-a", version=2, job_id=None, kind="frame", media_type="image/png")
    assert await model.requesters("frame-a") == {"dana", "sam"}
    assert await model.requesters("frame-a", 2) == set()
    assert await model.requesters("unknown") == set()


async def test_a_productions_assets_oldest_first_with_their_jobs(gateway: GatewayState, model: ReadModel) -> None:
    await add_job(model, "job-1")
    await add_asset(gateway, asset_id="frame-b", at=later(2), job_id="job-1", kind="frame", media_type="image/png")
    await add_asset(gateway, asset_id="script-a", at=later(1), job_id="job-9")
    await add_asset(gateway, "harbour", asset_id="script-z", at=later(0))
    rows = await model.production_assets("lighthouse")
    assert [(a.asset_id, j.job_id if j else None) for a, j in rows] == [("script-a", None), ("frame-b", "job-1")]


async def test_an_asset_event_delivered_twice_is_one_row(gateway: GatewayState, model: ReadModel) -> None:
    event = await add_asset(gateway, asset_id="script-a")
    await model.apply_asset_generated(event)
    assert len(await model.assets("lighthouse", kind=None, after=None, limit=10)) == 1


async def test_a_decision_that_overtook_its_asset_is_kept_when_the_asset_arrives(gateway: GatewayState, model: ReadModel) -> None:
    await model.apply_decision(decision(ReviewRejected, asset_id="script-a", notes="off", review_seconds=12.5), "rejected")
    await add_asset(gateway, asset_id="script-a", at=T0)
    asset, _ = await model.asset("script-a")  # type: ignore[misc]
    assert (asset.review_status, asset.decided_by, asset.review_notes, asset.review_seconds) == (
        "rejected",
        "rhea@studio.example",
        "off",
        12.5,
    )
    assert asset.object_key == "productions/lighthouse/script/script-0001/v1.fountain"


async def test_an_older_decision_replayed_does_not_overwrite_a_newer_one(gateway: GatewayState, model: ReadModel) -> None:
    await add_asset(gateway, asset_id="script-a")
    await model.apply_decision(decision(asset_id="script-a", minute=20, decision_id="dec-new"), "approved")
    await model.apply_decision(decision(ReviewRejected, asset_id="script-a", minute=10, decision_id="dec-old"), "rejected")
    asset, _ = await model.asset("script-a")  # type: ignore[misc]
    assert (asset.review_status, asset.decision_id, asset.decided_at) == ("approved", "dec-new", later(20))
    await model.apply_decision(decision(ReviewRejected, asset_id="script-a", minute=30, decision_id="dec-newest"), "rejected")
    assert (await model.asset("script-a"))[0].review_status == "rejected"  # type: ignore[index]
