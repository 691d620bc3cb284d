"""Prometheus metrics shared by every service, and the endpoint that serves them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS_CONSUMED = Counter(
    "helix_events_consumed_total",
    "Kafka messages a Helix consumer finished with, by outcome "
    "(handled, duplicate, skipped, dead_lettered)",
    ["group", "type", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "helix_event_handle_seconds", "Time in a handler, retries included", ["group", "type"]
)
HANDLER_RETRIES = Counter("helix_handler_retries_total", "Transient handler failures retried", ["group", "type"])
DEAD_LETTERS = Counter("helix_dead_letters_total", "Messages sent to the DLQ, by reason kind", ["group", "kind"])
JOBS_IN_FLIGHT = Gauge("helix_jobs_in_flight", "Requests being worked by this process's request consumer", ["group"])
EVENTS_PUBLISHED = Counter("helix_events_published_total", "Events published", ["topic", "type"])


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Expose /metrics on `port` (Kubernetes scrapes it; the pod port is not public)."""
    start_http_server(port, addr=addr)
BROKER_REACHABLE = Gauge("helix_kafka_broker_reachable", "1 while this process reaches the Kafka broker, 0 while it does not")
CONSUMERS_REPLACED = Counter("helix_kafka_consumers_replaced_total",
                             "Kafka consumers replaced after dropping out of their group for good (helix.bus.watchdog)", ["owner"])
BROKER_ERRORS_SUPPRESSED = Counter("helix_kafka_client_errors_suppressed_total",
                                   "Repeated Kafka client connection errors folded into one 'broker unreachable' line")
