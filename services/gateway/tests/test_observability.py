"""Every request gets a server span named by its route template (joining the caller's trace
when it sends a traceparent) and is counted by method, route template and status."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from helix_gateway import observability
from helix_gateway.observability import ObservabilityMiddleware

from .conftest import traced

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    return traced(monkeypatch, observability)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.add_middleware(ObservabilityMiddleware)

    @app.get("/observed/{thing_id}")
    async def observed(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    @app.get("/observed-failure")
    async def failure() -> None:
        raise RuntimeError("boom")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as http:
        yield http


def counted(route: str, status: str, method: str = "GET") -> float:
    return (
        REGISTRY.get_sample_value("helix_gateway_http_requests_total", {"method": method, "route": route, "status": status})
        or 0.0
    )


async def test_a_request_is_one_server_span_named_by_its_route(client: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    before = counted("/observed/{thing_id}", "200")
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    assert (await client.get("/observed/a1", headers={"traceparent": traceparent})).status_code == 200
    await client.get("/observed/a2")
    first, second = spans.get_finished_spans()
    assert first.name == "GET /observed/{thing_id}" and first.kind is SpanKind.SERVER
    assert dict(first.attributes or {}) == {
        "http.request.method": "GET",
        "http.route": "/observed/{thing_id}",
        "http.response.status_code": 200,
    }
    assert format(first.context.trace_id, "032x") == TRACE_ID  # the caller's trace continues here
    assert format(second.context.trace_id, "032x") != TRACE_ID
    assert counted("/observed/{thing_id}", "200") == before + 2  # one series for every thing id
    assert (
        REGISTRY.get_sample_value("helix_gateway_http_request_seconds_count", {"method": "GET", "route": "/observed/{thing_id}"})
        >= 2
    )


async def test_failures_mark_the_span_as_an_error(client: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    before = counted("/observed-failure", "500")
    assert (await client.get("/observed-failure")).status_code == 500
    [span] = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert counted("/observed-failure", "500") == before + 1


async def test_paths_no_route_matches_share_one_series(client: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    before = counted("unmatched", "404")
    await client.get("/no/such/path/1")
    await client.get("/no/such/path/2")
    assert counted("unmatched", "404") == before + 2
    assert {s.name for s in spans.get_finished_spans()} == {"GET unmatched"}
