"""The review process's wiring, built without servers: its settings reach the desk and the
ingestor, the ingestor runs every default check plus C2PA verification, the asset topic is
consumed by group `review`, and the queue gauges count pending items by risk band."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from helix.events import Topic
from helix.provenance import dev_chain
from helix_review.app import ReviewApp
from helix_review.checks import DEFAULT_CHECKS
from helix_review.db import migrate
from helix_review.settings import ReviewSettings

from .conftest import add_item


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ReviewApp]:
    chain = dev_chain(tmp_path / "c2pa")
    settings = ReviewSettings(
        database_url=f"sqlite:///{tmp_path / 'review.db'}",
        s3_access_key="key",
        s3_secret_key="secret",
        c2pa_chain=str(chain["chain"]),
        c2pa_key=str(chain["key"]),
        c2pa_trust_anchors=str(chain["root"]),
        review_lease_seconds=77,
        review_second_share=0.25,
        review_max_scan_bytes=1234,
        store_outage_s=9,
    )
    review = ReviewApp(settings)
    try:
        yield review
    finally:
        review.ingestor.close()
        review.engine.dispose()


def test_settings_reach_the_desk_and_the_ingestor(app: ReviewApp) -> None:
    assert (app.desk.decisions.lease_seconds, app.desk.second_reviews.lease_seconds, app.desk.decisions.second_share) == (
        77,
        77,
        0.25,
    )
    assert (app.ingestor.max_scan_bytes, app.ingestor.store_outage_s) == (1234, 9)
    assert app.relay.sessions is app.sessions is app.desk.sessions


def test_the_ingestor_runs_the_default_checks_and_verifies_provenance(app: ReviewApp) -> None:
    assert [c.name for c in app.ingestor.checks] == [*(c.name for c in DEFAULT_CHECKS), "provenance"]


def test_generated_assets_are_consumed_by_the_review_group(app: ReviewApp) -> None:
    [subscriber] = app.bus.broker.subscribers
    assert subscriber.group_id == "review"
    assert list(subscriber.topic_names) == [app.settings.topic(Topic.ASSETS_GENERATED)]


def test_queue_gauges_count_pending_items_by_risk_band(app: ReviewApp) -> None:
    migrate(app.engine)
    for priority in (0.0, -1.0, -5.0, -30.0, -100.0, -250.0):
        add_item(app.desk, priority=priority, age=timedelta(minutes=10))
    add_item(app.desk, priority=-30.0, status="approved", age=timedelta(hours=5))  # decided: not counted
    app._measure_queue()
    assert {
        band: REGISTRY.get_sample_value("helix_review_queue_depth", {"risk": band})
        for band in ("low", "medium", "high", "critical")
    } == {"low": 2, "medium": 1, "high": 1, "critical": 2}
    assert 600 <= REGISTRY.get_sample_value("helix_review_oldest_pending_seconds") < 700
