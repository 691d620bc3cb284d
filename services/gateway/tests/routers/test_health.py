"""Probes and metrics, open to every caller: liveness always, readiness only while the read
model's database answers, the bus is connected and the broker is not known to be away."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from helix.bus.health import BROKER
from helix_gateway.state import GatewayState


async def test_the_process_is_alive_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_the_database_and_the_bus_are(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BROKER, "reachable", None)  # not probed yet: not a reason to refuse traffic
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready", "checks": {"database": "ok", "bus": "ok"}}


async def test_not_ready_while_the_bus_connects(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    gateway.bus_ready = asyncio.Event()
    response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["detail"] == "not ready: bus connecting"


async def test_not_ready_when_the_database_fails(
    client: httpx.AsyncClient, gateway: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse() -> None:
        raise ConnectionRefusedError("database away")

    monkeypatch.setattr(gateway.read_model, "ping", refuse)
    response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["detail"] == "not ready: database failed: ConnectionRefusedError"


async def test_not_ready_when_the_broker_is_known_to_be_away(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BROKER, "reachable", False)
    monkeypatch.setattr(BROKER, "describe", lambda: "unreachable since then (refused)")
    response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["detail"] == "not ready: broker unreachable since then (refused)"


async def test_metrics_are_served_in_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'helix_gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
