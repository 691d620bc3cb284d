"""Review metrics: queue depth by risk, time to decision, decisions per reviewer, oldest pending.

"Decisions per reviewer per hour" is `rate(helix_review_decisions_total[1h]) * 3600` by reviewer.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ITEMS_INGESTED = Counter("helix_review_items_ingested_total", "Asset events turned into review items", ["outcome"])
QUEUE_DEPTH = Gauge("helix_review_queue_depth", "Pending review items by risk band", ["risk"])
OLDEST_PENDING = Gauge("helix_review_oldest_pending_seconds", "Age of the oldest pending review item")
DECISIONS = Counter("helix_review_decisions_total", "Review decisions", ["reviewer", "outcome"])
TIME_TO_DECISION = Histogram(
    "helix_review_time_to_decision_seconds", "From ingest to decision",
    buckets=(60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600, 7 * 24 * 3600),
)
RISK_BANDS = (("low", 0, 5), ("medium", 5, 25), ("high", 25, 100), ("critical", 100, float("inf")))
