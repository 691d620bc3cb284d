"""The process shell every generator shares: asset store, bus, kit and document reader, the
consumer of its requests topic and of review decisions, and the start/stop order of its
model engine and gRPC server. A generator's `app.py` adds only what is its own (models,
domain steps, reactions, servicers).

    requests topic ──► RequestConsumer ──► kit.run(job) ──► steps[type(request)](job)
    decisions topic ──► record the approval ──► react(decision, typed asset id)
                                                  └─► requests this service makes of itself,
                                                      published on its own requests topic

A reaction is a request: the decisions consumer records what review decided and publishes
the requests the decision calls for (event id derived from the decision, the decision named
as `caused_by`); it never runs a job. The work then shows as lag on the requests topic (what
the autoscaler reads), batches with every other request, and survives restarts like any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, Self

import structlog

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.bus.fence import Fence
from helix.events import (
    CloudEvent,
    DecisionRef,
    EventData,
    GenerationRequest,
    ReviewApproved,
    ReviewDecision,
    ReviewRejected,
    ReviewRevisionRequested,
    Topic,
)
from helix.generation.approvals import Approvals, status_of
from helix.generation.assets import derived_event_id
from helix.generation.ids import ImageAssetId, LocaleAssetId, ScriptAssetId, parse_asset_id
from helix.generation.jobs import GeneratorKit, Job
from helix.generation.reader import Documents
from helix.settings import HelixSettings
from helix.threads import prioritise_control

log = structlog.get_logger("helix.generation")
DECISIONS = (ReviewApproved, ReviewRejected, ReviewRevisionRequested)
TypedAssetId = ScriptAssetId | ImageAssetId | LocaleAssetId
Step = Callable[[Job[Any]], Awaitable[list[str] | None]]
# What a service does when review decides: the requests it makes of itself (none: nothing).
React = Callable[[CloudEvent[ReviewDecision], TypedAssetId | None], Awaitable[list[GenerationRequest]]]


class Engine(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def cause(event: CloudEvent[ReviewDecision]) -> DecisionRef:
    """The decision a reaction's request names as its cause."""
    decision = event.data
    return DecisionRef(decision_id=decision.decision_id, event_id=event.id, asset_id=decision.asset_id,
                       asset_version=decision.asset_version, outcome=status_of(decision))


class GeneratorService:
    def __init__(self, settings: HelixSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.store = AssetStore(settings)
        self.bus = HelixBus(settings, source=f"/helix/{name}")
        self.kit = GeneratorKit(service=name, store=self.store, bus=self.bus, settings=settings)
        self.approvals = Approvals(settings.effective_database_url())
        self.documents = Documents(self.store, self.approvals, store_outage_s=settings.store_outage_s)
        self.grpc_address = ""
        self.requests_topic: Topic | None = None
        self.steps: dict[type[GenerationRequest], Step] = {}
        self._server: Any = None
        self._engines: tuple[Engine, ...] = ()

    def listen(self, requests_topic: Topic, steps: Mapping[type[GenerationRequest], Step], *, react: React,
               decided: tuple[type[ReviewDecision], ...]) -> None:
        """Requests, each a job of its own as it arrives (`steps` by request type); review
        decisions as they come in a poll: each is recorded (`approvals`), then those of the
        `decided` types go to `react`, side by side, and the requests it returns are published.
        A reaction that fails is retried alone or dead-lettered; the others are not run again."""
        self.requests_topic = requests_topic
        self.steps = dict(steps)

        async def run(event: CloudEvent[Any], fence: Fence) -> None:
            await self.kit.run(event, steps[type(event.data)], fence=fence)

        self.bus.request_consumer(requests_topic, group=f"{self.name}-requests", handles=tuple(steps), run=run)

        async def react_to(event: CloudEvent[Any]) -> None:
            if isinstance(event.data, decided):
                await self.publish_reactions(event, await react(event, parse_asset_id(event.data.asset_id)))

        async def on_decisions(events: list[CloudEvent[Any]]) -> list[BaseException | None]:
            # Approvals are recorded in the order review made them; the reactions of a poll run
            # side by side (forty storyboards approved at once are forty reads, not a queue).
            await self.approvals.record_all([event.data for event in events])
            outcomes = await asyncio.gather(*(react_to(event) for event in events), return_exceptions=True)
            return [outcome if isinstance(outcome, BaseException) else None for outcome in outcomes]

        on_decisions.__doc__ = react.__doc__
        self.bus.batch_consumer(Topic.REVIEW_DECISIONS, group=self.name, handles=DECISIONS)(on_decisions)

    async def handle(self, event: CloudEvent[Any]) -> None:
        """One request straight to its step, with no bus in between (tests, benchmarks)."""
        await self.kit.run(event, self.steps[type(event.data)])

    async def publish_reactions(self, event: CloudEvent[ReviewDecision], requests: list[GenerationRequest]) -> None:
        """Each request once however often the decision is redelivered: its event id comes from
        the decision's and the job's."""
        for request in requests:
            if request.topic is not self.requests_topic:
                raise RuntimeError(f"{self.name} reacts with requests of its own, not {request.event_type}")
            await self.bus.publish(request, event_id=reaction_event_id(event.id, request.job_id))
            log.info("reaction.requested", decision_id=event.data.decision_id, type=request.event_type, job_id=request.job_id)

    async def start_serving(self, *engines: Engine, grpc_address: str, models: dict[str, str],
                            add: Callable[[Any], object]) -> None:
        """Engines first (consumers hand them work at once), then the bucket, the bus, the gRPC server.
        The engine's model threads and the process's default pool run below the control path
        (`helix.threads`): a busy generator still accepts a request at once."""
        from helix.grpc import start_server

        prioritise_control(asyncio.get_running_loop(), nice=self.settings.bulk_nice)
        self._engines = engines
        for engine in engines:
            await engine.start()
        await asyncio.to_thread(self.store.ensure_bucket)
        await self.bus.start()
        self._server, self.grpc_address = await start_server(self.name, address=grpc_address, models=models, add=add)

    async def start(self) -> None:
        raise NotImplementedError  # each generator starts its engine and gRPC server (`start_serving`)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop taking work; running jobs get `jobs_drain_s` to finish; then the engines stop."""
        if self._server is not None:
            await self._server.stop(grace=2)
        await self.bus.stop()
        for engine in self._engines:
            await engine.stop()


def reaction_event_id(decision_event_id: str, job_id: str) -> str:
    return derived_event_id("reaction", decision_event_id, job_id)


__all__ = ["DECISIONS", "Engine", "EventData", "GeneratorService", "React", "Step", "TypedAssetId", "cause", "reaction_event_id"]
