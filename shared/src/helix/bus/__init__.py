"""The Kafka bus: publish Helix events, consume them at least once, dead-letter the bad ones."""

from helix.bus.admin import ensure_topics
from helix.bus.bus import DEFAULT_TRANSIENT, DLQ_HEADER_PREFIX, HelixBus, TransientError
from helix.bus.dedupe import ProcessedEvents

__all__ = ["DEFAULT_TRANSIENT", "DLQ_HEADER_PREFIX", "HelixBus", "ProcessedEvents", "TransientError", "ensure_topics"]
