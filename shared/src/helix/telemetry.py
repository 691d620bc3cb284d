"""OpenTelemetry tracing: one trace per production request across HTTP, Kafka and gRPC.

Kafka hops carry W3C `traceparent` headers (FastStream's telemetry middleware injects and
extracts them); exporters are chosen by settings: none, console, or OTLP.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from helix.settings import HelixSettings


def setup_tracing(
    settings: HelixSettings, *, extra_processors: tuple[SpanProcessor, ...] = (), set_global: bool = True
) -> TracerProvider:
    """A tracer provider for this service, with the exporter the settings name."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    if settings.otel_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint)))
    for processor in extra_processors:
        provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def current_trace_ids() -> dict[str, str]:
    """trace_id/span_id of the active span, for log lines ({} outside a span)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
