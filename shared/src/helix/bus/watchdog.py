"""Whether each Kafka consumer is still a working member of its group, and what to do if not.

After a broker restart, librdkafka almost always rejoins on its own. Not always: in the
system fault suite a consumer now and then stayed out of its group for good, its group
coordinator requests queued and timing out every minute ("GroupCoordinator: Timed out 0
in-flight, 0 retry-queued, 1 out-queue") while the broker answered everyone else. The
service looked alive and read nothing again. Nothing inside the client brings it back; a new
consumer does (the group hands it the partitions from their committed offsets, and the
dedupe store skips what was already handled).

`ConsumerWatch` reads librdkafka's own statistics (`statistics.interval.ms`, delivered to
`stats_cb` inside each poll). A sample is healthy when the member is in its group (state
`up`, join state `steady`), its group coordinator connection is up and no request to the
coordinator timed out since the sample before. A consumer none of whose samples was healthy
for `wedged_after_s`, while the broker has been reachable all that time, is wedged; so is
one that has not polled at all for that long while its owner was not busy handling
messages. The owner (the bus, or a request consumer) then replaces the consumer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("helix.bus")

COORDINATOR = "GroupCoordinator"  # librdkafka's name for the logical coordinator connection


@dataclass
class _Client:
    seen_at: float  # the last sample (samples come only while the consumer polls)
    healthy_at: float  # the last healthy sample, or when the client was first seen
    coordinator_timeouts: int = 0
    detail: str = ""


def healthy(stats: dict[str, Any], timeouts_before: int) -> tuple[bool, int, str]:
    """Whether one statistics sample shows a working group member; the coordinator's request
    time-out count; and what was wrong, in words."""
    cgrp = stats.get("cgrp") or {}
    coordinator = (stats.get("brokers") or {}).get(COORDINATOR) or {}
    timeouts = int(coordinator.get("req_timeouts", 0))
    problems = []
    if cgrp.get("state") != "up" or cgrp.get("join_state") != "steady":
        problems.append(f"group state {cgrp.get('state')}/{cgrp.get('join_state')}")
    if coordinator and coordinator.get("state") != "UP":
        problems.append(f"coordinator connection {coordinator.get('state')}")
    if timeouts > timeouts_before:
        problems.append(f"{timeouts - timeouts_before} coordinator request(s) timed out")
    return not problems, timeouts, "; ".join(problems)


class ConsumerWatch:
    """The health of every consumer client of one owner, by client name, from its statistics.

    A replaced client is retired for good: while it closes (a wedged one may take long) it
    still serves its statistics, and they must not count for, or against, anyone."""

    def __init__(self, wedged_after_s: float, *, one_client: str | None = None) -> None:
        """`one_client`: the owner has one consumer at a time, judged under this name from the
        moment it is made (`expect`), so that one wedged before its first sample is seen too."""
        self.wedged_after_s = wedged_after_s
        self.one_client = one_client
        self._clients: dict[str, _Client] = {}
        self._retired: set[str] = set()
        self._lock = threading.Lock()  # stats arrive on the clients' poll threads

    def expect(self) -> None:
        """A new consumer of a `one_client` owner (the one before it retired): judged from now,
        as if it had just polled, until its first sample names it."""
        assert self.one_client is not None
        now = time.monotonic()
        with self._lock:
            self._retired.update(name for name in self._clients if name != self.one_client)
            self._clients = {self.one_client: _Client(seen_at=now, healthy_at=now)}

    def on_stats(self, raw: str) -> None:
        """librdkafka's `stats_cb`: never raises (an exception here would break the poll)."""
        try:
            stats = json.loads(raw)
            if stats.get("type") != "consumer":
                return
            name = str(stats.get("name", ""))
            now = time.monotonic()
            with self._lock:
                if name in self._retired:
                    return
                client = self._clients.get(name)
                if client is None and self.one_client is not None and self.one_client in self._clients:
                    client = self._clients[name] = self._clients.pop(self.one_client)  # the expected one's first sample
                if client is None:
                    client = self._clients[name] = _Client(seen_at=now, healthy_at=now)
                ok, client.coordinator_timeouts, client.detail = healthy(stats, client.coordinator_timeouts)
                client.seen_at = now
                if ok:
                    client.healthy_at = now
        except Exception:
            log.exception("bus.consumer_stats_unreadable")

    def wedged(self, *, broker_reachable_since: float | None, busy: bool, now: float | None = None) -> dict[str, str]:
        """The clients that have not been working members for `wedged_after_s`, with why.

        `broker_reachable_since`: when the broker was last seen coming back (None while it is
        away: nobody is judged then). `busy`: the owner is inside a handler, so a client that
        has not polled is waiting for it, not stuck."""
        now = time.monotonic() if now is None else now
        if broker_reachable_since is None or now - broker_reachable_since < self.wedged_after_s:
            return {}
        found = {}
        with self._lock:
            for name, client in self._clients.items():
                if now - client.seen_at >= self.wedged_after_s:
                    if not busy:
                        found[name] = f"no poll for {now - client.seen_at:.0f} s"
                elif now - client.healthy_at >= self.wedged_after_s:
                    found[name] = f"not a working member for {now - client.healthy_at:.0f} s ({client.detail})"
        return found

    def forget(self, names: list[str] | None = None) -> None:
        """Stop judging these clients (all, by default), for good: they have been replaced."""
        with self._lock:
            for name in list(self._clients) if names is None else names:
                self._clients.pop(name, None)
                self._retired.add(name)
