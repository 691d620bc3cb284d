"""HTTP metrics and server spans for every request (a pure ASGI middleware, so streamed
responses such as Server-Sent Events pass through untouched)."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

REQUESTS = Counter("helix_gateway_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("helix_gateway_http_request_seconds", "Time to answer an HTTP request (whole stream for SSE)", ["method", "route"])

_tracer = trace.get_tracer("helix.gateway.http")


class ObservabilityMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        # A client's traceparent makes this request part of its trace (and the Kafka hops after it).
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status = 500
        started = time.perf_counter()

        async def send_and_observe(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with _tracer.start_as_current_span(
            f"{method} {scope['path']}", context=propagate.extract(carrier), kind=SpanKind.SERVER
        ) as span:
            try:
                await self.app(scope, receive, send_and_observe)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                span.update_name(f"{method} {template}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                REQUESTS.labels(method, template, str(status)).inc()
                LATENCY.labels(method, template).observe(time.perf_counter() - started)
