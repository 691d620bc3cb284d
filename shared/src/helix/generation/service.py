"""The process shell every generator shares: asset store, bus and kit, the consumers of its
requests topic and of review decisions, and the start/stop order of its model engine and
gRPC server. A generator's `app.py` adds only what is its own (models, domain, servicers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.bus.bus import BatchHandler, Handler
from helix.events import CloudEvent, EventData, ReviewApproved, ReviewRejected, ReviewRevisionRequested, Topic
from helix.generation.approvals import Approvals
from helix.generation.jobs import GeneratorKit
from helix.settings import HelixSettings

DECISIONS = (ReviewApproved, ReviewRejected, ReviewRevisionRequested)


class Engine(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class GeneratorService:
    def __init__(self, settings: HelixSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.store = AssetStore(settings)
        self.bus = HelixBus(settings, source=f"/helix/{name}")
        self.kit = GeneratorKit(service=name, store=self.store, bus=self.bus, settings=settings)
        self.approvals = Approvals(settings.effective_database_url())
        self.grpc_address = ""
        self._server: Any = None
        self._engine: Engine | None = None

    def listen(self, requests_topic: Topic, requests: BatchHandler, handles: tuple[type[EventData], ...], *,
               decisions: Handler, decided: tuple[type[EventData], ...]) -> None:
        """Requests in batches (the kit gives each its own outcome); review decisions one by one:
        each is recorded (`approvals`), then those of the `decided` types go to `decisions`."""
        self.bus.batch_consumer(requests_topic, group=self.name, handles=handles)(requests)

        async def on_decision(event: CloudEvent[Any]) -> None:
            await self.approvals.record(event.data)
            if isinstance(event.data, decided):
                await decisions(event)

        on_decision.__doc__ = decisions.__doc__
        self.bus.consumer(Topic.REVIEW_DECISIONS, group=self.name, handles=DECISIONS)(on_decision)

    async def start_serving(self, engine: Engine, *, grpc_address: str, models: dict[str, str],
                            add: Callable[[Any], object]) -> None:
        """Engine first (consumers hand it work at once), then the bucket, the bus, the gRPC server."""
        from helix.grpc import start_server

        self._engine = engine
        await engine.start()
        await asyncio.to_thread(self.store.ensure_bucket)
        await self.bus.start()
        self._server, self.grpc_address = await start_server(self.name, address=grpc_address, models=models, add=add)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=2)
        await self.bus.stop()
        if self._engine is not None:
            await self._engine.stop()
