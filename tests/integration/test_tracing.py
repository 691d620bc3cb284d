"""One trace across a produce -> Kafka -> consume hop (W3C traceparent in the headers)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helix.bus import HelixBus
from helix.events import CloudEvent, JobAccepted, Topic
from helix.events.examples import example
from helix.settings import HelixSettings
from helix.telemetry import current_trace_ids, setup_tracing
from tests.integration.kafka_helpers import eventually, read_topic

pytestmark = pytest.mark.infra


async def test_one_trace_id_across_produce_and_consume(settings: HelixSettings) -> None:
    spans = InMemorySpanExporter()
    provider = setup_tracing(settings, extra_processors=(SimpleSpanProcessor(spans),), set_global=False)
    bus = HelixBus(settings, source="/helix/tests", tracer_provider=provider)
    in_handler: list[dict[str, str]] = []

    @bus.consumer(Topic.JOBS_STATUS, group="traced")
    async def handle(event: CloudEvent[Any]) -> None:
        in_handler.append(current_trace_ids())

    async with bus:
        with provider.get_tracer("test").start_as_current_span("gateway.request") as root:
            await bus.publish(example(JobAccepted))
        await eventually(lambda: bool(in_handler), what="consume")
    trace_id = format(root.get_span_context().trace_id, "032x")

    assert in_handler[0]["trace_id"] == trace_id, "the handler runs inside the producer's trace"
    headers = dict(read_topic(settings, Topic.JOBS_STATUS, count=1)[0].headers())
    assert headers["traceparent"].decode().split("-")[1] == trace_id
    kinds = {s.kind for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id}
    assert {trace.SpanKind.PRODUCER, trace.SpanKind.CONSUMER} <= kinds
