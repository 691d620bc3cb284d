"""The ledger's arithmetic on read-model rows built in memory (the endpoint runs on the real
stack in tests/integration/test_reports.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helix.events import AssetGenerated, new_event
from helix.events.examples import example
from helix_gateway.ledger import build_ledger, finished_minutes
from helix_gateway.readmodel.tables import Asset, Job

from .conftest import storyboard_document

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def asset(asset_id: str, kind: str, *, at: float, model_seconds: float, job: str | None = "job-1", status: str = "pending",
          decided_after: float | None = None, review_seconds: float | None = None, version: int = 1) -> Asset:
    created = T0 + timedelta(seconds=at)
    return Asset(asset_id=asset_id, version=version, production_id="p", kind=kind, object_key=f"k/{asset_id}/{version}",
                 media_type="application/json", review_status=status, job_id=job, created_at=created,
                 decided_at=created + timedelta(seconds=decided_after) if decided_after is not None else None, review_seconds=review_seconds,
                 event=new_event(example(AssetGenerated, production_id="p", asset_id=asset_id, kind=kind, version=version,
                                         cost={"model_seconds": model_seconds, "gpu_seconds": model_seconds / 2, "device": "cuda"},
                                         model={"id": "m", "revision": "r"}), source="/tests").model_dump(mode="json"))


def job(job_id: str = "job-1", at: float = 0.0) -> Job:
    return Job(job_id=job_id, production_id="p", status="completed", asset_ids=[], created_at=T0 + timedelta(seconds=at), updated_at=T0)


def test_queue_time_is_the_wait_before_the_first_generation_shared_by_the_job() -> None:
    j = job(at=0)
    rows = [(asset("a", "script", at=12, model_seconds=2), j), (asset("b", "script", at=20, model_seconds=8), j)]
    ledger = build_ledger("p", rows, 0.0)
    # generation started at 10 s (12 - 2) for a; 12 s for b: the job waited 10 s before it, split over 2 assets
    assert [e.queue_seconds for e in ledger.entries] == [5.0, 5.0]
    assert ledger.total.queue_seconds == 10.0
    assert ledger.total.model_seconds == 10.0 and ledger.total.gpu_seconds == 5.0


def test_review_time_and_totals_per_kind_and_per_finished_minute() -> None:
    rows = [
        (asset("a", "frame", at=5, model_seconds=1, status="approved", decided_after=600, review_seconds=30), job()),
        (asset("b", "frame", at=6, model_seconds=1, status="rejected", decided_after=300, review_seconds=10), job()),
        (asset("c", "subtitles", at=7, model_seconds=3, job=None), None),
    ]
    ledger = build_ledger("p", rows, finished_minutes=2.0)
    frames = ledger.by_kind["frame"]
    assert frames.assets == 2 and frames.review_wait_seconds == 900.0 and frames.review_seconds == 40.0
    assert ledger.by_kind["subtitles"].review_wait_seconds == 0.0  # pending: no wait counted yet
    assert ledger.total.assets == 3
    assert ledger.per_finished_minute is not None
    assert ledger.per_finished_minute.model_seconds == pytest.approx(ledger.total.model_seconds / 2)
    assert build_ledger("p", rows, 0.0).per_finished_minute is None


def test_finished_minutes_sum_the_newest_approved_storyboards() -> None:
    def board(asset_id: str, version: int, status: str) -> Asset:
        return Asset(asset_id=asset_id, version=version, production_id="p", kind="storyboard", object_key=f"{asset_id}/{version}",
                     review_status=status, created_at=T0)

    bodies = {"s1/1": storyboard_document("p", 100), "s1/2": storyboard_document("p", 30, 30),
              "s2/1": storyboard_document("p", 60), "s3/1": storyboard_document("p", 999)}
    rows = [(board("s1", 1, "approved"), None), (board("s1", 2, "approved"), None), (board("s2", 1, "approved"), None),
            (board("s3", 1, "rejected"), None)]
    assert finished_minutes(rows, bodies.__getitem__) == pytest.approx(2.0)
