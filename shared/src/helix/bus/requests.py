"""The consumer of a generator's requests topic: long jobs side by side, the group kept, the work fenced.

A generation job takes from a second to many minutes (a dub, a video clip on a GPU). The
event consumers (`HelixBus.consumer`) handle a poll at a time, which is right for quick
handlers and wrong here: a request that arrives while a batch runs would wait for the whole
batch, and a batch that outlasts `max.poll.interval.ms` gets its consumer evicted. So:

- **Jobs run as they arrive**, up to `jobs_max_in_flight` at once (requests of many
  storyboards and locales share the engines' batches). At capacity the partitions are
  paused and the consumer keeps polling: it stays in its group however long a job takes.
- **Commits follow the work**: per partition, the offset committed is that of the oldest
  request still running, so a crash redelivers exactly the unfinished ones (the kit resumes
  them). A finished request's event id is recorded (`ProcessedEvents`), so a redelivered
  copy is skipped.
- **Work is fenced to its owner**: partitions are assigned cooperatively (a rebalance moves
  only the partitions that change hands). When one is revoked or lost, its jobs are cancelled
  and their `Fence` reports it; before any store or announcement a job confirms with the
  group coordinator (a synchronous offset commit, which only a current member can make)
  that it still owns its request. A replica that stalled past the session timeout and wakes
  up cannot store or announce anything for work that moved. A refused confirmation (a new
  group generation, a rebalance, the coordinator away) only makes the job wait: the
  partition is given up when the group revokes or loses it, never on a refused commit.
- **Bad messages and given-up jobs are dead-lettered** with the reason (`helix.dlq.v1`); a
  request whose data does not validate also ends its job as failed, with the reason, so no
  job stays "requested" for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from helix.bus.fence import OwnershipLost
from helix.bus.health import BROKER
from helix.bus.messages import error_code, header_text, position
from helix.bus.watchdog import ConsumerWatch
from helix.events.data import ID_PATTERN, EventData, JobFailed
from helix.events.envelope import CloudEvent
from helix.events.topics import Topic
from helix.metrics import CONSUMERS_REPLACED, EVENTS_CONSUMED, HANDLE_SECONDS, JOBS_IN_FLIGHT

if TYPE_CHECKING:
    from helix.bus.bus import HelixBus

log = structlog.get_logger("helix.bus.requests")

# The job: runs one request to its outcome under a fence; raises to have the request
# dead-lettered (`JobGaveUp`), `OwnershipLost` when it stopped because its partition moved.
RunJob = Callable[[CloudEvent[Any], "PartitionFence"], Awaitable[None]]
# Errors that say this consumer is no longer the member that owned the partition.
_COMMIT_STUCK_S = 30.0  # a fence commit that has not answered by then is asked again
# A fence commit refused for one of these says "not now", not "not yours": the group changed
# generation, is rebalancing, or its coordinator is away (a broker restart). The job waits at
# the fence until a commit goes through or the group revokes or loses the partition.
_NOT_NOW = {
    KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION, KafkaError.FENCED_INSTANCE_ID, KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.NOT_COORDINATOR,
    KafkaError.REQUEST_TIMED_OUT, KafkaError.NETWORK_EXCEPTION,
    KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._WAIT_COORD, KafkaError._ALL_BROKERS_DOWN,
}


class PartitionFence:
    """The fence of every job from one partition (see `helix.bus.fence`)."""

    def __init__(self, owner: RequestConsumer, key: tuple[str, int]) -> None:
        self.owner = owner
        self.key = key
        self._lost = threading.Event()  # set from the consumer thread's rebalance callbacks

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def mark_lost(self) -> None:
        self._lost.set()

    async def confirm(self) -> None:
        if self.lost:
            raise OwnershipLost(f"partition {self.key[1]} of {self.key[0]} moved to another consumer")
        await self.owner.confirm_membership(self)
        if self.lost:  # a rebalance callback ran meanwhile
            raise OwnershipLost(f"partition {self.key[1]} of {self.key[0]} moved to another consumer")


@dataclass
class _Partition:
    fence: PartitionFence
    running: dict[int, asyncio.Task[None]] = field(default_factory=dict)  # offset -> job
    blocked: set[int] = field(default_factory=set)  # offsets stopped unfinished (shutdown): never committed past
    next_offset: int | None = None  # one past the newest offset taken
    committed: int | None = None

    def safe_offset(self) -> int | None:
        """The offset to commit: the oldest unfinished request, else one past the newest taken."""
        pending = [*self.running, *self.blocked]
        return min(pending) if pending else self.next_offset


class RequestConsumer:
    def __init__(self, bus: HelixBus, topic: Topic, *, group: str, handles: tuple[type[EventData], ...], run: RunJob,
                 max_in_flight: int) -> None:
        self.bus = bus
        self.settings = bus.settings
        self.topic = self.settings.topic(topic)
        self.group = group
        self.handles = handles
        self.run = run
        self.max_in_flight = max_in_flight
        self._consumer: Consumer | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._partitions: dict[tuple[str, int], _Partition] = {}
        self._lock = threading.Lock()  # the partition table: the consumer thread's callbacks and the event loop share it
        self._stopping = False
        self._paused = False
        self._event_ids: dict[str, PartitionFence] = {}  # running event id -> its fence (a copy in the topic is a duplicate)
        self._poller = ThreadPoolExecutor(1, thread_name_prefix=f"{group}-poll")  # consume() and the rebalance callbacks
        self._committer = ThreadPoolExecutor(1, thread_name_prefix=f"{group}-commit")  # the fence's synchronous commits
        self._confirming: asyncio.Task[None] | None = None
        self._confirmed_at = 0.0
        self.watch = ConsumerWatch(self.settings.consumer_wedged_after_s, one_client=group)  # is the consumer still in its group?
        self._watching: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._consumer = self._new_consumer()
        self._loop_task = asyncio.create_task(self._poll_forever(self._consumer), name=f"helix-requests-{self.group}")
        self._watching = asyncio.create_task(self._watch_forever(), name=f"helix-requests-watch-{self.group}")

    def _new_consumer(self) -> Consumer:
        config: dict[str, Any] = {
            **self.settings.kafka_client_config(),
            "group.id": self.group,
            "client.id": f"{self.group}-{id(self):x}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.settings.consumer_session_timeout_ms,
            "max.poll.interval.ms": self.settings.consumer_max_poll_interval_ms,
            "partition.assignment.strategy": "cooperative-sticky",
            "statistics.interval.ms": int(self.settings.consumer_stats_every_s * 1000),
            "stats_cb": self.watch.on_stats,
        }
        consumer = Consumer(config, logger=None)
        self.watch.expect()
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        return consumer

    async def _watch_forever(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.settings.consumer_stats_every_s)
            wedged = self.watch.wedged(broker_reachable_since=BROKER.since if BROKER.reachable else None, busy=False)
            if wedged and not self._stopping:
                log.warning("kafka.consumer_wedged", group=self.group, consumers=wedged, action="replacing the consumer")
                self.replace_consumer()

    def replace_consumer(self) -> None:
        """A new consumer in place of one that dropped out of its group for good. Its partitions
        are given up first, as if the group had taken them (their jobs stop and can publish
        nothing); the new consumer is assigned them again from the committed offsets. The old
        one is closed behind its last poll, on its own poll thread, and never waited for: a wedged
        client may hang, and closing it while it polls on another thread is not safe."""
        old, old_poller = self._consumer, self._poller
        self._lose(list(self._partitions))
        if self._loop_task is not None:
            self._loop_task.cancel()  # it may be waiting on the old consumer's poll thread
        self._poller = ThreadPoolExecutor(1, thread_name_prefix=f"{self.group}-poll")
        self._committer = ThreadPoolExecutor(1, thread_name_prefix=f"{self.group}-commit")
        self._paused = False
        self._consumer = self._new_consumer()
        self._loop_task = asyncio.create_task(self._poll_forever(self._consumer), name=f"helix-requests-{self.group}")
        CONSUMERS_REPLACED.labels(owner=self.group).inc()
        if old is not None:
            old_poller.submit(_close_quietly, old)
        old_poller.shutdown(wait=False)

    async def stop(self, grace_s: float = 30.0) -> None:
        """Stop taking requests, give running jobs `grace_s` to finish, commit, leave the group."""
        self._stopping = True
        if self._watching is not None:
            self._watching.cancel()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        running = [t for p in self._partitions.values() for t in p.running.values()]
        if running:
            log.info("requests.draining", group=self.group, jobs=len(running), grace_s=grace_s)
            _, late = await asyncio.wait(running, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._poller, self._commit_sync, consumer, list(self._partitions))
            await loop.run_in_executor(self._poller, consumer.close)
        self._poller.shutdown(wait=False)
        self._committer.shutdown(wait=False)

    @property
    def in_flight(self) -> int:
        return sum(len(p.running) for p in self._partitions.values())

    # --- the poll loop -------------------------------------------------------------------------

    async def _poll_forever(self, consumer: Consumer) -> None:
        while not self._stopping and consumer is self._consumer:
            room = self.max_in_flight - self.in_flight
            self._pause(room <= 0)
            try:
                messages = await asyncio.get_running_loop().run_in_executor(
                    self._poller, consumer.consume, max(1, min(room, self.settings.consumer_batch_max)),
                    self.settings.consumer_poll_interval_s if room > 0 else 0.2)
            except KafkaException as exc:
                log.warning("requests.poll_failed", group=self.group, error=str(exc)[:300])
                await asyncio.sleep(1.0)
                continue
            except Exception:
                # confluent-kafka raises SystemError from consume() when a callback left a Python
                # error behind (confluent-kafka-python #865, seen after a broker restart). The
                # consumer itself is fine; a poll loop that died here left its partitions unread.
                log.exception("requests.poll_crashed", group=self.group)
                await asyncio.sleep(1.0)
                continue
            fresh = [m for m in messages if self._usable(m)]
            if fresh:
                try:
                    await self._take(fresh)
                except Exception:  # the DLQ or the dedupe store is away: rewind, try again after a pause
                    log.exception("requests.infrastructure_error", group=self.group)
                    await self._rewind(fresh)
                    await asyncio.sleep(self.settings.retry_backoff_max_s)
            self._commit_async()

    def _usable(self, message: Message) -> bool:
        code = error_code(message)
        if code is None:
            return True
        if code != KafkaError._PARTITION_EOF:
            log.warning("requests.consume_error", group=self.group, error=str(message.error())[:300])
        return False

    def _pause(self, full: bool) -> None:
        """At capacity every assigned partition is paused (newly assigned ones too); polling goes on."""
        assert self._consumer is not None
        if not full and not self._paused:
            return
        assignment = self._consumer.assignment()
        try:
            (self._consumer.pause if full else self._consumer.resume)(assignment)
        except KafkaException as exc:  # a partition changed hands meanwhile: next round
            log.debug("requests.pause_deferred", error=str(exc)[:200])
            return
        self._paused = full

    async def _take(self, messages: list[Message]) -> None:
        """Decode, dead-letter what cannot be read, skip duplicates, start a job per request.
        Offsets advance only once every message of the poll is settled (a failure rewinds)."""
        decoded = await self.bus.decode_all(messages, group=self.group, handles=self.handles, undecodable=self._fail_undecodable)
        seen = await self.bus.processed.seen_many(self.group, [e.id for _, e in decoded])
        for raw in messages:
            if (part := self._partition_of(raw)) is not None:
                part.next_offset = max(part.next_offset or 0, position(raw)[2] + 1)
        for raw, event in decoded:
            running = self._event_ids.get(event.id)
            if event.id in seen or (running is not None and not running.lost):
                log.info("bus.duplicate", event_id=event.id, type=event.type, group=self.group)
                EVENTS_CONSUMED.labels(group=self.group, type=event.type, outcome="duplicate").inc()
                continue
            part = self._partition_of(raw)
            if part is None:
                continue  # revoked between the poll and here: the next owner has it
            self._event_ids[event.id] = part.fence
            part.running[position(raw)[2]] = asyncio.create_task(self._job(raw, event, part), name=f"job-{event.id}")
        JOBS_IN_FLIGHT.labels(group=self.group).set(self.in_flight)

    async def _job(self, raw: Message, event: CloudEvent[Any], part: _Partition) -> None:
        """One request, in the producer's trace; its outcome settles its offset."""
        started = time.perf_counter()
        parent = propagate.extract(header_text(raw))
        outcome = "handled"
        with self.bus.tracer.start_as_current_span(
            f"process {self.topic}", context=parent, kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": self.topic, "messaging.message.id": event.id,
                        "messaging.consumer.group.name": self.group, "cloudevents.event_type": event.type,
                        "messaging.kafka.offset": raw.offset(), "messaging.destination.partition.id": str(raw.partition())},
        ) as span:
            try:
                await self.run(event, part.fence)
            except (OwnershipLost, asyncio.CancelledError):
                outcome = "lost"
            except Exception as exc:  # the job gave up (or the bus could not even start it): the DLQ has it, with why
                outcome = "dead_lettered"
                span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
                try:
                    await self.bus.dead_letter(raw, group=self.group, kind="handler_error", reason=f"{type(exc).__name__}: {exc}")
                except Exception:
                    log.exception("requests.dead_letter_failed", event_id=event.id)
                    outcome = "lost"  # not committed past: redelivered
            finally:
                HANDLE_SECONDS.labels(group=self.group, type=event.type).observe(time.perf_counter() - started)
        await self._settle(raw, event, part, outcome)

    async def _settle(self, raw: Message, event: CloudEvent[Any], part: _Partition, outcome: str) -> None:
        EVENTS_CONSUMED.labels(group=self.group, type=event.type, outcome=outcome).inc()
        if outcome != "lost":
            with contextlib.suppress(Exception):  # a failed mark only means a later copy is resumed, not redone
                await self.bus.processed.mark_many(self.group, [event.id])
        with self._lock:
            offset = position(raw)[2]
            part.running.pop(offset, None)
            if outcome == "lost" and not part.fence.lost:
                part.blocked.add(offset)  # stopped unfinished while still ours: redelivered after a restart
        if self._event_ids.get(event.id) is part.fence:
            del self._event_ids[event.id]
        JOBS_IN_FLIGHT.labels(group=self.group).set(self.in_flight)

    async def _fail_undecodable(self, raw: Message, reason: str) -> None:
        """A request whose data does not validate still names its job: end it as failed, with why."""
        try:
            data = json.loads(raw.value() or b"{}").get("data") or {}
            production_id, job_id = str(data.get("production_id", "")), str(data.get("job_id", ""))
        except (ValueError, AttributeError):
            return
        if not (re.fullmatch(ID_PATTERN, production_id) and re.fullmatch(ID_PATTERN, job_id)):
            return
        await self.bus.publish(JobFailed(production_id=production_id, job_id=job_id, service=self.group.removesuffix("-requests"),
                                         at=datetime.now(UTC), error=f"the request was refused: {reason}"[:2000], retriable=False))

    async def _rewind(self, messages: list[Message]) -> None:
        assert self._consumer is not None
        firsts: dict[tuple[str, int], int] = {}
        for m in messages:
            topic, partition, offset = position(m)
            firsts[(topic, partition)] = min(firsts.get((topic, partition), offset), offset)
        for (topic, partition), offset in firsts.items():
            with contextlib.suppress(KafkaException):
                self._consumer.seek(TopicPartition(topic, partition, offset))

    def _partition_of(self, raw: Message) -> _Partition | None:
        with self._lock:
            topic, partition, _offset = position(raw)
            return self._partitions.get((topic, partition))

    # --- commits and the fence -------------------------------------------------------------------

    def _offsets(self, keys: list[tuple[str, int]]) -> list[TopicPartition]:
        offsets = []
        with self._lock:
            for key in keys:
                part = self._partitions.get(key)
                safe = part.safe_offset() if part else None
                if part is not None and safe is not None and safe != part.committed:
                    offsets.append(TopicPartition(key[0], key[1], safe))
        return offsets

    def _commit_async(self) -> None:
        if self._consumer is None:
            return
        offsets = self._offsets(list(self._partitions))
        if offsets:
            try:
                self._consumer.commit(offsets=offsets, asynchronous=True)
            except KafkaException as exc:
                log.info("requests.commit_deferred", group=self.group, error=str(exc)[:200])
                return
            with self._lock:
                for tp in offsets:
                    if (part := self._partitions.get((tp.topic, tp.partition))) is not None:
                        part.committed = tp.offset

    def _commit_sync(self, consumer: Consumer, keys: list[tuple[str, int]]) -> None:
        offsets = self._offsets(keys)
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                log.info("requests.commit_failed", group=self.group, error=str(exc)[:200])

    async def confirm_membership(self, fence: PartitionFence) -> None:
        """Ask the group coordinator whether this consumer is still the member it was: a
        synchronous commit of the partition's safe offset (only a current member's commit is
        accepted). Concurrent confirmations share one round trip."""
        asked = time.monotonic()
        while not fence.lost:
            if self._confirmed_at >= asked:
                return
            if self._confirming is None or self._confirming.done():
                self._confirming = asyncio.create_task(self._confirm_round(fence.key))
            try:
                await asyncio.shield(self._confirming)
            except _Unconfirmed:
                await asyncio.sleep(0.5)  # wait for the group to say whose it is
        raise OwnershipLost(f"partition {fence.key[1]} of {fence.key[0]} moved to another consumer")

    async def _confirm_round(self, key: tuple[str, int]) -> None:
        consumer = self._consumer
        if consumer is None:
            raise OwnershipLost("the consumer has stopped")
        started = time.monotonic()
        with self._lock:
            part = self._partitions.get(key)
            safe = part.safe_offset() if part else None
        if part is None:
            raise OwnershipLost(f"partition {key[1]} of {key[0]} is not assigned here")
        if safe is None:
            self._confirmed_at = started
            return
        try:
            offsets = [TopicPartition(key[0], key[1], safe)]
            committing = asyncio.get_running_loop().run_in_executor(self._committer, lambda: consumer.commit(offsets=offsets, asynchronous=False))
            await asyncio.wait_for(committing, timeout=_COMMIT_STUCK_S)
        except TimeoutError:
            # A synchronous commit can hang past a broker restart (confluent-kafka-python #1801):
            # leave its thread behind and ask again on a fresh one.
            log.warning("requests.commit_stuck", group=self.group, partition=key[1], after_s=_COMMIT_STUCK_S)
            self._committer = ThreadPoolExecutor(1, thread_name_prefix=f"{self.group}-commit")
            raise _Unconfirmed() from None
        except KafkaException as exc:
            code = exc.args[0].code() if exc.args and isinstance(exc.args[0], KafkaError) else None
            if code in _NOT_NOW:
                # Not proof that the partition moved: a cooperative rebalance bumps the group's
                # generation and keeps most partitions where they are, and after a broker restart
                # the member rejoins. Only the group's own word (revoked, or lost, delivered by
                # the consumer's poll) takes a partition away; until it comes or a commit goes
                # through, the job writes nothing. Dropping the partition here while the consumer
                # still held it skipped every later request on it.
                log.warning("requests.fenced", group=self.group, partition=key[1], error=str(exc)[:200])
                raise _Unconfirmed() from None
            raise  # anything else (an authorization failure): the job fails like on any fault
        self._confirmed_at = started

    # --- rebalances (called from the consumer's thread, inside consume()) -----------------------------

    # An exception must never leave a callback: librdkafka cannot see it, the rebalance is left
    # half done (a lost partition never unassigned, the member never rejoining) and the next
    # consume() raises SystemError. Each callback logs what went wrong and finishes its work.

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is not self._consumer:
            return  # a replaced consumer closing: its partitions were given up when it was replaced
        try:
            self._assign(consumer, partitions)
        except Exception:
            log.exception("requests.assign_callback_failed", group=self.group)

    # No rebalance callback lets an exception out: librdkafka then leaves the rebalance half
    # done, consume() raises SystemError (confluent-kafka-python #865) and the consumer is never
    # assigned a partition again. A broker restart left a service idle with requests unread so.

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is not self._consumer:
            return
        keys = [(tp.topic, tp.partition) for tp in partitions]
        try:
            # What finished here is not redone by the next owner. Asynchronously: a synchronous
            # commit inside the callback can hang while the coordinator is away, and with it
            # the whole consumer.
            offsets = self._offsets(keys)
            if offsets:
                consumer.commit(offsets=offsets, asynchronous=True)
        except Exception as exc:
            log.info("requests.commit_failed", group=self.group, error=str(exc)[:200])
        self._lose_in_callback(keys)
        log.info("requests.revoked", group=self.group, partitions=sorted(k[1] for k in keys))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if consumer is not self._consumer:
            return
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._lose_in_callback(keys)
        log.warning("requests.partitions_lost", group=self.group, partitions=sorted(k[1] for k in keys))

    def _lose_in_callback(self, keys: list[tuple[str, int]]) -> None:
        try:
            self._lose(keys)
        except Exception:
            log.exception("requests.lose_callback_failed", group=self.group)

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with self._lock:
            for tp in partitions:
                key = (tp.topic, tp.partition)
                self._partitions[key] = _Partition(PartitionFence(self, key))
        # A partition paused at capacity, then lost and assigned again, comes back still paused:
        # start every new one resumed (the poll loop pauses them again if it is at capacity).
        with contextlib.suppress(KafkaException):
            consumer.resume(partitions)
        log.info("requests.assigned", group=self.group, partitions=sorted(tp.partition for tp in partitions))

    def _lose(self, keys: list[tuple[str, int]]) -> None:
        """The partitions are someone else's now: their jobs stop and can publish nothing more."""
        with self._lock:
            parts = [self._partitions.pop(key) for key in keys if key in self._partitions]
        for part in parts:
            part.fence.mark_lost()
            # A copy: this runs in the poll thread while the event loop adds and ends jobs (a
            # dict changed during iteration raised here, inside a rebalance callback).
            for task in list(part.running.values()):
                if self._loop is not None and not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(task.cancel)


class _Unconfirmed(Exception):
    pass


def _close_quietly(consumer: Consumer) -> None:
    try:
        consumer.close()
    except Exception as exc:
        log.info("requests.old_consumer_close_failed", error=str(exc)[:200])
