"""The projections: job status, asset and decision events into the read model, and job status
and decisions live to the production's subscribers after the write. Run on the core's
MemoryBus, registered through the bus's `consumer` decorator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from helix.events import CloudEvent, EventData, JobCompleted, JobProgress, ReviewRevisionRequested, Topic
from helix.events.examples import example
from helix.testing import MemoryBus
from helix_gateway.fanout import Fanout
from helix_gateway.projection import GROUP, TRANSIENT, register_projections
from helix_gateway.readmodel import ReadModel
from helix_gateway.state import GatewayState

from .conftest import T0, asset_event, later


class ConsumingBus(MemoryBus):
    """MemoryBus with HelixBus's `consumer` decorator; keeps what each registration asked for."""

    registrations: list[tuple[Topic, str, tuple[type[EventData], ...], tuple[type[BaseException], ...]]]

    def consumer(
        self,
        topic: Topic,
        *,
        group: str,
        handles: tuple[type[EventData], ...] = (),
        transient: tuple[type[BaseException], ...] = (),
    ) -> Callable[[Any], Any]:
        def register(handler: Callable[[CloudEvent[Any]], Awaitable[None]]) -> Any:
            self.registrations = [*getattr(self, "registrations", []), (topic, group, handles, transient)]

            async def only_handled(event: CloudEvent[Any]) -> None:
                if isinstance(event.data, handles):
                    await handler(event)

            self.subscribe(topic, group, only_handled)
            return handler

        return register


@pytest.fixture
def wired(gateway: GatewayState) -> tuple[ConsumingBus, ReadModel, Fanout]:
    bus, fanout = ConsumingBus(), Fanout(queue_size=8)
    register_projections(bus, gateway.read_model, fanout)  # type: ignore[arg-type]
    return bus, gateway.read_model, fanout


def test_one_consumer_per_topic_in_the_gateway_group_retrying_a_busy_database(
    wired: tuple[ConsumingBus, ReadModel, Fanout],
) -> None:
    bus, _, _ = wired
    assert sorted(topic for topic, *_ in bus.registrations) == sorted(
        [Topic.JOBS_STATUS, Topic.ASSETS_GENERATED, Topic.REVIEW_DECISIONS]
    )
    assert all(group == GROUP == "gateway" and transient == TRANSIENT for _, group, _, transient in bus.registrations)
    assert OperationalError in TRANSIENT


async def test_job_status_is_projected_then_streamed(wired: tuple[ConsumingBus, ReadModel, Fanout]) -> None:
    bus, model, fanout = wired
    mine, other = fanout.subscribe("lighthouse"), fanout.subscribe("harbour")
    progress = await bus.publish(example(JobProgress, job_id="job-7", at=later(1), step="scenes", fraction=0.5))
    await bus.publish(example(JobCompleted, job_id="job-7", at=later(2), asset_ids=["script-0001"]))
    job = await model.job("job-7")
    assert job is not None and (job.status, job.asset_ids) == ("completed", ["characters-0001", "script-0001"])
    live = [mine.queue.get_nowait() for _ in range(2)]
    assert [e.type for e in live] == ["helix.job.progress", "helix.job.completed"] and live[0].id == progress.id
    assert json.loads(live[0].data)["data"]["step"] == "scenes"
    assert other.queue.empty()


async def test_assets_are_projected_without_going_live(wired: tuple[ConsumingBus, ReadModel, Fanout]) -> None:
    bus, model, fanout = wired
    subscription = fanout.subscribe("lighthouse")
    event = asset_event(asset_id="frame-1", kind="frame", media_type="image/png")
    await bus.publish(event.data, event_id=event.id)
    found = await model.asset("frame-1")
    assert found is not None and found[0].review_status == "pending" and found[0].event["id"] == event.id  # type: ignore[index]
    assert subscription.queue.empty()


async def test_a_decision_sets_the_review_status_and_goes_live(wired: tuple[ConsumingBus, ReadModel, Fanout]) -> None:
    bus, model, fanout = wired
    subscription = fanout.subscribe("lighthouse")
    event = asset_event(asset_id="frame-1", kind="frame", media_type="image/png", at=T0)
    await bus.publish(event.data)
    decided = example(ReviewRevisionRequested, asset_id="frame-1", kind="frame", decided_at=later(3), notes="darker sky")
    await bus.publish(decided)
    asset = (await model.asset("frame-1"))[0]  # type: ignore[index]
    assert (asset.review_status, asset.review_notes) == ("revision_requested", "darker sky")
    assert subscription.queue.get_nowait().type == "helix.review.revision_requested"
