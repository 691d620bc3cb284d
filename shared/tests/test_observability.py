"""Structured logs carry the trace id; the metrics endpoint serves Helix's counters."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from helix.logs import configure_logging
from helix.metrics import DEAD_LETTERS, serve_metrics
from helix_dev.infra.process import free_port


def test_json_logs_include_the_active_trace(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("writer", level="INFO", json=True)
    try:
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("work") as span:
            structlog.get_logger("helix.test").info("asset.stored", asset_id="a1")
            logging.getLogger("some.library").info("std logging goes the same way")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert lines[0]["event"] == "asset.stored" and lines[0]["asset_id"] == "a1"
    assert lines[0]["service"] == "writer" and lines[0]["level"] == "info"
    assert all(line["trace_id"] == trace_id for line in lines)
    assert lines[1]["logger"] == "some.library"


def test_metrics_endpoint() -> None:
    port = free_port()
    serve_metrics(port, addr="127.0.0.1")
    DEAD_LETTERS.labels(group="metrics-test", kind="not_json").inc()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'helix_dead_letters_total{group="metrics-test",kind="not_json"} 1.0' in body
    assert "helix_events_consumed_total" in body
