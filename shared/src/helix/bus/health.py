"""Whether this process reaches the Kafka broker, told once, not three thousand times.

With the broker gone, every Kafka client in a process reports every failed reconnect (a
few per second per client: "Connect to … failed: Connection refused", "1/1 brokers are
down"). Those lines say one thing. `BrokerHealth` turns them into two: one when the broker
goes (the first client error, with its text), one when it is back (how long it was away and
how many client errors were folded in). A probe (a metadata request, every few seconds)
notices both directions even when no client is talking; `helix_kafka_broker_reachable`
and the gateway's `/readyz` show the state.

One per process (`BROKER`): the client log filter and every bus of the process share it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

import structlog

from helix.metrics import BROKER_ERRORS_SUPPRESSED, BROKER_REACHABLE

log = structlog.get_logger("helix.bus")

# librdkafka's words for "cannot reach the broker", as its log lines and errors carry them.
UNREACHABLE = re.compile(
    r"Connection refused|brokers? (?:are|is) down|all brokers|_ALL_BROKERS_DOWN|_TRANSPORT|Connect to .* failed|"
    r"Disconnected|Failed to resolve|Connection reset|timed out|Broker transport failure",
    re.IGNORECASE)
CLIENT_LOGGERS = ("faststream.confluent._proxy", "confluent_kafka", "helix.bus.faststream")


class BrokerHealth:
    def __init__(self) -> None:
        self.reachable: bool | None = None  # None: not known yet
        self.since = time.monotonic()
        self.since_wall = datetime.now(UTC)
        self.folded = 0
        self.reason = ""

    def lost(self, reason: str) -> None:
        """A client error or a failed probe: the first is told, the rest are counted."""
        if self.reachable is False:
            self.folded += 1
            BROKER_ERRORS_SUPPRESSED.inc()
            return
        self.reachable, self.since, self.since_wall, self.folded, self.reason = False, time.monotonic(), datetime.now(UTC), 0, reason[:300]
        BROKER_REACHABLE.set(0)
        log.warning("kafka.broker_unreachable", reason=self.reason, note="repeated client errors are folded until it is back")

    def back(self) -> None:
        if self.reachable is False:
            log.warning("kafka.broker_reachable", after_s=round(time.monotonic() - self.since, 1), client_errors_folded=self.folded)
        if self.reachable is not True:
            self.since, self.since_wall = time.monotonic(), datetime.now(UTC)
        self.reachable, self.folded, self.reason = True, 0, ""
        BROKER_REACHABLE.set(1)

    def describe(self) -> str:
        if self.reachable is False:
            return f"unreachable since {self.since_wall.isoformat(timespec='seconds')} ({self.reason})"
        return "ok" if self.reachable else "not probed yet"

    async def probe_forever(self, config: dict[str, Any], every_s: float) -> None:
        """A metadata request every `every_s` (faster while the broker is away)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({**config, "logger": _QUIET})  # type: ignore[dict-item]  # librdkafka takes a logging.Logger here; the stubs list only scalars
        while True:
            try:
                await asyncio.to_thread(admin.list_topics, timeout=min(5.0, max(1.0, every_s)))
                self.back()
            except Exception as exc:
                self.lost(f"probe: {exc}")
            await asyncio.sleep(every_s if self.reachable else min(every_s, 1.0))


class ClientNoise(logging.Filter):
    """On the Kafka clients' loggers: connection errors go to `BROKER` instead of the log."""

    def __init__(self, health: BrokerHealth) -> None:
        super().__init__("helix-kafka-client-noise")
        self.health = health

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if UNREACHABLE.search(message):
            self.health.lost(message)
            return False
        return True


BROKER = BrokerHealth()
_QUIET = logging.getLogger("helix.bus.probe")
_QUIET.addFilter(ClientNoise(BROKER))


def fold_client_noise() -> None:
    """Install the filter on the Kafka client loggers (once per process)."""
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClientNoise) for f in logger.filters):
            logger.addFilter(ClientNoise(BROKER))
