"""Kafka consumers that project events into the read model and on to live streams.

One consumer per topic, all in group "gateway". A handler writes first and fans out
after the commit, so a live client never sees what the read model does not yet hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

from helix.bus import DEFAULT_TRANSIENT, HelixBus
from helix.events import (
    AssetGenerated,
    CloudEvent,
    EventData,
    JobAccepted,
    JobCompleted,
    JobFailed,
    JobProgress,
    ReviewApproved,
    ReviewRejected,
    ReviewRevisionRequested,
    Topic,
    encode,
)
from helix_gateway.fanout import Fanout, LiveEvent
from helix_gateway.readmodel import ReadModel

GROUP = "gateway"
# A locked or restarting database is worth retrying; the bus backs off between attempts.
TRANSIENT = (*DEFAULT_TRANSIENT, OperationalError)

_REVIEW_STATUS: dict[type[EventData], str] = {
    ReviewApproved: "approved",
    ReviewRejected: "rejected",
    ReviewRevisionRequested: "revision_requested",
}


def live(event: CloudEvent[Any]) -> LiveEvent:
    return LiveEvent(id=event.id, type=event.type, data=encode(event).decode())


def register_projections(bus: HelixBus, read_model: ReadModel, fanout: Fanout) -> None:
    @bus.consumer(Topic.JOBS_STATUS, group=GROUP, handles=(JobAccepted, JobProgress, JobFailed, JobCompleted), transient=TRANSIENT)
    async def project_job_status(event: CloudEvent[Any]) -> None:
        """Job lifecycle into the jobs table; live to the production's streams."""
        await read_model.apply_job_status(event.data)
        fanout.publish(event.data.production_id, live(event))

    @bus.consumer(Topic.ASSETS_GENERATED, group=GROUP, handles=(AssetGenerated,), transient=TRANSIENT)
    async def project_asset(event: CloudEvent[Any]) -> None:
        """Every generated asset version into the assets table (review status pending)."""
        await read_model.apply_asset_generated(event)

    @bus.consumer(Topic.REVIEW_DECISIONS, group=GROUP, handles=tuple(_REVIEW_STATUS), transient=TRANSIENT)
    async def project_decision(event: CloudEvent[Any]) -> None:
        """Review decisions onto their asset versions; live to the production's streams."""
        await read_model.apply_decision(event.data, _REVIEW_STATUS[type(event.data)])
        fanout.publish(event.data.production_id, live(event))
