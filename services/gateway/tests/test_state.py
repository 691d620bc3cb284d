"""What a running gateway holds: productions and assets checked for their caller (403 before
404, so an outsider learns nothing), a bus that connects in the background until Kafka
answers, and a stop that ends streams and closes every client."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from helix.auth import Principal, Role
from helix_gateway.fanout import CLOSED_EVENT
from helix_gateway.problems import ProblemError
from helix_gateway.state import GatewayState, _visible_asset, visible_production

from .conftest import add_asset, add_production, review_of


def reviewer(*productions: str) -> Principal:
    return Principal(subject="rhea", roles=frozenset({Role.REVIEWER}), productions=productions)


class FlakyBus:
    """Refuses to start `failures` times, then starts; counts stops."""

    def __init__(self, failures: int) -> None:
        self.failures, self.starts, self.stops = failures, 0, 0
        self.processed = SimpleNamespace(engine=SimpleNamespace(dispose=lambda: None))

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise ConnectionError("Kafka is away")

    async def stop(self) -> None:
        self.stops += 1


async def status_of(call: Any) -> int:
    with pytest.raises(ProblemError) as caught:
        await call
    return caught.value.status


async def test_an_unassigned_caller_learns_nothing_of_what_exists(gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse")
    assert await status_of(visible_production(gateway, reviewer("harbour"), "lighthouse")) == 403
    assert await status_of(visible_production(gateway, reviewer("harbour"), "nowhere")) == 403
    assert await status_of(visible_production(gateway, reviewer("nowhere"), "nowhere")) == 404
    assert (await visible_production(gateway, reviewer("lighthouse"), "lighthouse")).production_id == "lighthouse"


async def test_an_asset_is_found_first_then_checked_for_its_caller(gateway: GatewayState) -> None:
    await add_asset(gateway, "lighthouse", "script-a")
    await add_asset(gateway, "lighthouse", "script-a", version=2)
    with pytest.raises(ProblemError) as caught:
        await _visible_asset("script-a", gateway, reviewer("lighthouse"), 9)
    assert caught.value.status == 404 and caught.value.detail == "no asset 'script-a' version 9"
    assert await status_of(_visible_asset("script-a", gateway, reviewer("harbour"))) == 403
    asset, versions = await _visible_asset("script-a", gateway, reviewer("lighthouse"))
    assert asset.version == 2 and versions == [1, 2]


async def test_the_bus_connects_in_the_background_after_refusals(gateway: GatewayState) -> None:
    bus = FlakyBus(failures=1)
    gateway.bus, gateway.bus_ready = bus, asyncio.Event()  # type: ignore[assignment]
    await asyncio.wait_for(gateway._connect_bus(), 5)
    assert gateway.bus_ready.is_set() and (bus.starts, bus.stops) == (2, 1)  # a half-started bus is stopped before the retry


async def test_stopping_ends_streams_the_connection_attempt_and_the_clients(gateway: GatewayState) -> None:
    bus = FlakyBus(failures=10_000)
    gateway.bus, gateway.bus_ready = bus, asyncio.Event()  # type: ignore[assignment]
    gateway._bus_task = asyncio.create_task(gateway._connect_bus())
    subscription = gateway.fanout.subscribe("lighthouse")
    await asyncio.sleep(0.05)
    await gateway.stop()
    assert gateway._bus_task.cancelled() and not gateway.bus_ready.is_set()
    assert [e.type async for e in subscription.events()] == [CLOSED_EVENT]
    assert review_of(gateway).closed and bus.stops >= 1
