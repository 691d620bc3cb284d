"""The ingestor waits out an asset store outage instead of spending the bus's few retries
on it (a stand-in store that refuses a few reads, then answers; the real outage is in
tests/integration/test_system_faults.py)."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from helix.events import AssetGenerated
from helix.events.examples import example
from helix_review.ingest import Ingestor


class FlakyStore:
    """Refuses the first `failures` reads the way MinIO's client does while the server is away."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.reads = 0

    def read(self, key: str) -> tuple[bytes, Any]:
        self.reads += 1
        if self.reads <= self.failures:
            raise ConnectionError("Connection refused")
        return b"bytes", type("Stored", (), {"sha256": "ab" * 32, "key": key})()


async def test_reads_wait_for_the_store_to_come_back() -> None:
    store = FlakyStore(failures=3)
    ingestor = Ingestor(None, store, store_outage_s=30)  # type: ignore[arg-type]
    asset = example(AssetGenerated, media_type="application/json")
    with capture_logs() as logs:
        reads = await ingestor._read_all([asset])
    assert reads == [(b"bytes", "ab" * 32, None)] and store.reads == 4
    assert [e["event"] for e in logs] == ["review.store_unavailable", "review.store_back"]


async def test_an_outage_longer_than_the_wait_is_raised_for_the_bus_to_retry() -> None:
    ingestor = Ingestor(None, FlakyStore(failures=10_000), store_outage_s=0.5)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await ingestor._read_all([example(AssetGenerated, media_type="application/json")])
