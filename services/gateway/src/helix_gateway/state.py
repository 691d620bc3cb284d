"""What a running gateway holds: the read model, the bus, the review client, the store.

Built in the application's lifespan. The bus connects in the background and retries
until Kafka answers, so the HTTP server (and its liveness probe) is up while `/readyz`
says not ready yet.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Annotated

import structlog
from fastapi import Depends, Request

from helix.assets import AssetStore
from helix.auth import Principal, TokenVerifier
from helix.bus import HelixBus, ProcessedEvents
from helix_gateway.fanout import Fanout
from helix_gateway.fields import AssetId, ProductionId, Version
from helix_gateway.problems import ProblemError
from helix_gateway.projection import register_projections
from helix_gateway.readmodel import ReadModel, make_engine, migrate, normalize_url
from helix_gateway.readmodel.tables import Asset, Production
from helix_gateway.review_client import ReviewClient
from helix_gateway.security import AnyRole, ensure_sees_production
from helix_gateway.settings import GatewaySettings

log = structlog.get_logger("helix.gateway")

SOURCE = "/helix/gateway"


@dataclass
class GatewayState:
    settings: GatewaySettings
    read_model: ReadModel
    bus: HelixBus
    review: ReviewClient
    store: AssetStore
    fanout: Fanout
    verifier: TokenVerifier
    bus_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _bus_task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: GatewaySettings) -> GatewayState:
        url = settings.effective_database_url()
        engine = make_engine(url)
        await asyncio.to_thread(migrate, engine)
        read_model = ReadModel(engine)
        fanout = Fanout(settings.sse_queue_size)
        processed = await asyncio.to_thread(ProcessedEvents, normalize_url(url))
        bus = HelixBus(settings, source=SOURCE, processed=processed)
        register_projections(bus, read_model, fanout)
        state = cls(
            settings=settings,
            read_model=read_model,
            bus=bus,
            review=ReviewClient(settings.review_grpc_address, timeout=settings.review_timeout_s),
            store=AssetStore(settings),
            fanout=fanout,
            verifier=TokenVerifier(settings),
        )
        state._bus_task = asyncio.create_task(state._connect_bus(), name="gateway-bus-connect")
        return state

    async def _connect_bus(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.bus.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("gateway.bus_unavailable", error=str(exc)[:500], retry_in_s=delay)
                with contextlib.suppress(Exception):
                    await self.bus.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.bus_ready.set()
            log.info("gateway.bus_started")
            return

    async def stop(self) -> None:
        if self._bus_task is not None and not self._bus_task.done():
            self._bus_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bus_task
        self.fanout.close()
        with contextlib.suppress(Exception):
            await self.bus.stop()
        await self.review.close()
        self.read_model.engine.dispose()
        self.bus.processed.engine.dispose()


def get_gateway(request: Request) -> GatewayState:
    return request.app.state.gateway


Gateway = Annotated[GatewayState, Depends(get_gateway)]


async def visible_production(gw: GatewayState, principal: Principal, production_id: str) -> Production:
    """The production, for a caller assigned to it: 403 first (an unassigned caller learns
    nothing of what exists), then 404 for a production that does not exist. Every route under
    /productions/{id} answers through it."""
    ensure_sees_production(principal, production_id)
    production = await gw.read_model.production(production_id)
    if production is None:
        raise ProblemError(404, f"no production {production_id!r}")
    return production


async def _visible_production(production_id: ProductionId, gw: Gateway, principal: AnyRole) -> Production:
    return await visible_production(gw, principal, production_id)


async def _visible_asset(asset_id: AssetId, gw: Gateway, principal: AnyRole, version: Version = None) -> tuple[Asset, list[int]]:
    found = await gw.read_model.asset(asset_id, version)
    if found is None:
        raise ProblemError(404, f"no asset {asset_id!r}" + (f" version {version}" if version else ""))
    ensure_sees_production(principal, found[0].production_id)
    return found


# A route's production, or asset version (and every version number), checked for its caller.
VisibleProduction = Annotated[Production, Depends(_visible_production)]
VisibleAsset = Annotated[tuple[Asset, list[int]], Depends(_visible_asset)]
