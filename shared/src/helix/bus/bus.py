"""The Helix Kafka bus: FastStream's confluent-kafka broker with Helix's delivery rules.

Delivery rules (DESIGN.md, "Reliability rules"):
- producers: `acks=all` and idempotence on;
- consumers commit only after the handler's work is done (FastStream's `AckPolicy.MANUAL`;
  its default commits before the handler runs, which loses work on a crash);
- messages are taken in small batches (one dedupe query, one bulk mark and one offset
  commit per batch), handled one by one in partition order, each in its own trace span;
- a message that cannot be decoded or validated, or whose type nobody knows, goes to
  `helix.dlq.v1` with its reason, and the consumer goes on with the next one;
- transient handler failures retry with exponential backoff, a bounded number of times,
  then dead-letter; any other handler error dead-letters at once;
- an event id already handled by this consumer group is acknowledged and skipped (a crash
  mid-batch redelivers the batch's handled events: handlers must be idempotent, as
  DESIGN.md asks, and the dedupe store makes that rare);
- if the bus itself cannot finish (DLQ or dedupe store unreachable), the message is
  rewound and tried again after a pause: never committed past.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
import urllib3.exceptions
from confluent_kafka import Message
from faststream import AckPolicy
from faststream.confluent import KafkaBroker, KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from helix.bus.admin import ensure_topics
from helix.bus.dedupe import ProcessedEvents
from helix.bus.health import BROKER, fold_client_noise
from helix.bus.messages import header_text
from helix.bus.requests import RequestConsumer, RunJob
from helix.bus.watchdog import ConsumerWatch
from helix.events.data import EventData
from helix.events.envelope import CONTENT_TYPE, CloudEvent, DecodeError, decode, encode, new_event
from helix.events.topics import TOPIC_DESCRIPTIONS, Topic
from helix.metrics import CONSUMERS_REPLACED, DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_PUBLISHED, HANDLE_SECONDS, HANDLER_RETRIES
from helix.settings import HelixSettings

log = structlog.get_logger("helix.bus")

Handler = Callable[[CloudEvent[Any]], Awaitable[None]]
# A batch handler may return one outcome per event (None: handled; an exception: that
# event alone failed); returning None means the whole batch was handled.
BatchOutcomes = list[BaseException | None]
BatchHandler = Callable[[list[CloudEvent[Any]]], Awaitable[BatchOutcomes | None]]
DLQ_HEADER_PREFIX = "helix-dlq-"


class TransientError(Exception):
    """Raise from a handler for a failure worth retrying (a dependency is briefly away)."""


DEFAULT_TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    urllib3.exceptions.HTTPError,  # the S3 client's transport errors: MinIO restarting
)


@dataclass(frozen=True)
class _Consumer:
    topic: str
    group: str
    handler: Handler  # one event; for batch consumers, the batch handler called with [event]
    handles: tuple[type[EventData], ...]
    transient: tuple[type[BaseException], ...]
    batch_handler: BatchHandler | None = None



class HelixBus:
    """Publish Helix events and consume them with at-least-once, idempotent handlers.

    >>> bus = HelixBus(settings, source="/helix/review")
    >>> @bus.consumer(Topic.ASSETS_GENERATED, group="review", handles=(AssetGenerated,))
    ... async def on_asset(event: CloudEvent[AssetGenerated]) -> None: ...
    >>> async with bus:  # creates topics, starts consumers
    ...     await bus.publish(JobAccepted(...))
    """

    def __init__(
        self,
        settings: HelixSettings,
        *,
        source: str,
        processed: ProcessedEvents | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.processed = processed or ProcessedEvents(settings.effective_database_url())
        self.tracer = trace.get_tracer("helix.bus", tracer_provider=tracer_provider)
        self._chores: list[asyncio.Task[None]] = []
        self._request_consumers: list[RequestConsumer] = []
        fold_client_noise()  # the clients' "connection refused" storms become two lines (helix.bus.health)
        self.watch = ConsumerWatch(settings.consumer_wedged_after_s)  # are the subscribers still in their groups?
        self._handling = 0  # batches being handled now (a subscriber that has not polled meanwhile is waiting, not stuck)
        config: dict[str, Any] = {k: v for k, v in settings.kafka_client_config().items() if k != "bootstrap.servers"}
        config |= {"statistics.interval.ms": int(settings.consumer_stats_every_s * 1000), "stats_cb": self.watch.on_stats}
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=source.strip("/").replace("/", "-") or "helix",
            acks="all",
            enable_idempotence=True,
            config=config,  # type: ignore[arg-type]  # librdkafka keys and the stats callback; FastStream's TypedDict lists only some
            # FastStream logs through std logging (JSON via helix.logs); its per-message
            # lines are debug: Helix logs the outcomes that matter itself.
            logger=logging.getLogger("helix.bus.faststream"),
            log_level=logging.DEBUG,
            description="Helix event bus",
        )

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(ensure_topics, self.settings)
        await self.broker.start()
        for consumer in self._request_consumers:
            await consumer.start()
        self._chores = [asyncio.create_task(self._prune_processed(), name="helix-dedupe-pruner"),
                        asyncio.create_task(BROKER.probe_forever(self.settings.kafka_client_config(), self.settings.broker_probe_every_s),
                                            name="helix-broker-probe"),
                        asyncio.create_task(self._watch_subscribers(), name="helix-consumer-watch")]

    async def stop(self, *, drain_s: float | None = None) -> None:
        """Stop consuming; running jobs get `drain_s` (default `jobs_drain_s`) to finish."""
        for consumer in self._request_consumers:
            await consumer.stop(self.settings.jobs_drain_s if drain_s is None else drain_s)
        chores, self._chores = self._chores, []
        for task in chores:
            task.cancel()
        for task in chores:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.broker.stop()

    async def _prune_processed(self) -> None:
        """Drop processed-event ids older than `dedupe_keep_s`, every `dedupe_prune_every_s`."""
        while True:
            try:
                cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.dedupe_keep_s)
                pruned = await asyncio.to_thread(self.processed.prune, cutoff)
                if pruned:
                    log.info("bus.dedupe_pruned", ids=pruned, older_than=cutoff.isoformat())
            except Exception as exc:  # the database is away: try again next round
                log.warning("bus.dedupe_prune_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(self.settings.dedupe_prune_every_s)

    async def _watch_subscribers(self) -> None:
        """Replace the subscribers when one of them has dropped out of its group for good."""
        while True:
            await asyncio.sleep(self.settings.consumer_stats_every_s)
            if self._handling:
                continue  # a handler is running: judge between batches
            wedged = self.watch.wedged(broker_reachable_since=BROKER.since if BROKER.reachable else None, busy=False)
            if wedged:
                log.warning("kafka.consumer_wedged", consumers=wedged, action="replacing this bus's subscribers with new consumers")
                await self.replace_subscribers()

    async def replace_subscribers(self) -> None:
        """A new consumer for every subscriber: each rejoins its group and goes on from the
        committed offsets (what was handled and not yet committed is skipped by the dedupe store).
        The clients' names are not tied to subscribers, so all of them are replaced; the old
        ones are retired first (their statistics, while they close, count for no one)."""
        self.watch.forget()
        for subscriber in self.broker.subscribers:
            try:
                await asyncio.wait_for(subscriber.stop(), timeout=self.settings.consumer_session_timeout_ms / 1000)
            except Exception as exc:  # a wedged consumer may not even close: leave it behind
                log.warning("bus.consumer_left_behind", subscriber=str(subscriber), error=f"{type(exc).__name__}: {exc}"[:200])
            await subscriber.start()
            CONSUMERS_REPLACED.labels(owner=self.source).inc()

    async def __aenter__(self) -> HelixBus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- producing ---------------------------------------------------------------------

    async def publish(self, data: EventData, *, event_id: str | None = None) -> CloudEvent[Any]:
        """Wrap `data` in a CloudEvent from this service and publish it to its topic."""
        event = new_event(data, source=self.source, event_id=event_id)
        await self.publish_event(event)
        return event

    async def publish_event(self, event: CloudEvent[Any]) -> None:
        """Publish and wait for the broker's acknowledgement (acks=all)."""
        topic = self.settings.topic(event.data.topic)
        with self.tracer.start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=_span_attributes(topic, event)
        ):
            headers: dict[str, str] = {}
            propagate.inject(headers)  # W3C traceparent: the consumer continues this trace
            await self.publish_encoded(event.data.topic, encode(event), key=event.data.production_id, headers=headers)
        EVENTS_PUBLISHED.labels(topic=event.data.topic, type=event.type).inc()

    async def publish_encoded(self, topic: Topic | str, value: bytes, *, key: str, headers: dict[str, str] | None = None) -> None:
        """Publish an already encoded CloudEvent (e.g. from an outbox), headers as given."""
        await self.broker.publish(
            value, self.settings.topic(str(topic)), key=key, headers={"content-type": CONTENT_TYPE, **(headers or {})}
        )

    # --- consuming ---------------------------------------------------------------------

    def consumer(
        self,
        topic: Topic,
        *,
        group: str,
        handles: tuple[type[EventData], ...] = (),
        transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT,
    ) -> Callable[[Handler], Handler]:
        """Register `handler` for `topic` in consumer `group`, called once per event.

        `handles` limits the handler to some event types of the topic; others are
        acknowledged and skipped (they are valid, just not this consumer's business).
        """

        def register(handler: Handler) -> Handler:
            self._subscribe(topic, _Consumer(self.settings.topic(topic), group, handler, handles, transient))
            return handler

        return register

    def batch_consumer(
        self,
        topic: Topic,
        *,
        group: str,
        handles: tuple[type[EventData], ...] = (),
        transient: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT,
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Like `consumer`, but the handler gets all fresh events of a poll at once (for
        handlers that can do their I/O in bulk, or run requests side by side). If the batch
        fails with anything but a transient error, each event is retried alone, so only a
        poison event dead-letters. A handler that returns one outcome per event settles each
        event on its own instead: a failed one is retried alone (transient) or dead-lettered,
        and the others are not run again."""

        def register(handler: BatchHandler) -> BatchHandler:
            async def one(event: CloudEvent[Any]) -> None:
                outcomes = await handler([event])
                if outcomes and outcomes[0] is not None:
                    raise outcomes[0]

            self._subscribe(topic, _Consumer(self.settings.topic(topic), group, one, handles, transient, handler))
            return handler

        return register

    def request_consumer(self, topic: Topic, *, group: str, handles: tuple[type[EventData], ...], run: RunJob,
                         max_in_flight: int | None = None) -> RequestConsumer:
        """Register the consumer of a generator's requests topic: each request a job of its own,
        run as it arrives, fenced to this consumer (see `helix.bus.requests`)."""
        consumer = RequestConsumer(self, topic, group=group, handles=handles, run=run,
                                   max_in_flight=max_in_flight or self.settings.jobs_max_in_flight)
        self._request_consumers.append(consumer)
        return consumer

    def _subscribe(self, topic: Topic, spec: _Consumer) -> None:
        async def on_batch(msg: KafkaMessage) -> None:
            await self._on_batch(spec, msg)

        handler = spec.batch_handler or spec.handler
        on_batch.__name__ = handler.__name__
        self.broker.subscriber(
            spec.topic,
            group_id=spec.group,
            ack_policy=AckPolicy.MANUAL,
            batch=True,
            max_records=self.settings.consumer_batch_max,
            polling_interval=self.settings.consumer_poll_interval_s,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            title=f"{spec.group}:{topic}",
            description=(handler.__doc__ or TOPIC_DESCRIPTIONS.get(topic, "")).strip(),
        )(on_batch)

    async def _on_batch(self, spec: _Consumer, msg: KafkaMessage) -> None:
        raw = msg.raw_message  # a batch subscriber gets a tuple
        records: tuple[Message, ...] = raw if isinstance(raw, tuple) else (raw,)
        self._handling += 1
        try:
            await self._process_batch(spec, records)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The bus itself could not finish (DLQ or dedupe store down): commit nothing.
            # Rewind every partition of the batch and try again after a pause.
            log.exception("bus.infrastructure_error", topic=spec.topic, group=spec.group, first_offset=records[0].offset())
            await asyncio.sleep(self.settings.retry_backoff_max_s)
            await msg.nack()
            return
        finally:
            self._handling -= 1
        await msg.ack()

    async def decode_all(self, records: Sequence[Message], *, group: str, handles: tuple[type[EventData], ...],
                         undecodable: Callable[[Message, str], Awaitable[None]] | None = None) -> list[tuple[Message, CloudEvent[Any]]]:
        """The events of a poll this consumer handles: what cannot be decoded or validated goes
        to the DLQ with its reason (then to `undecodable`), other types are skipped."""
        decoded: list[tuple[Message, CloudEvent[Any]]] = []
        for raw in records:
            try:
                event = decode(raw.value())
            except DecodeError as exc:
                await self.dead_letter(raw, group=group, kind=exc.kind, reason=str(exc))
                if undecodable is not None:
                    await undecodable(raw, str(exc))
                EVENTS_CONSUMED.labels(group=group, type="-", outcome="dead_lettered").inc()
                continue
            if handles and not isinstance(event.data, handles):
                EVENTS_CONSUMED.labels(group=group, type=event.type, outcome="skipped").inc()
                continue
            decoded.append((raw, event))
        return decoded

    async def _process_batch(self, spec: _Consumer, records: tuple[Message, ...]) -> None:
        decoded = await self.decode_all(records, group=spec.group, handles=spec.handles)
        already = await self.processed.seen_many(spec.group, [e.id for _, e in decoded])
        fresh: list[tuple[Message, CloudEvent[Any]]] = []
        for raw, event in decoded:
            if event.id in already:
                log.info("bus.duplicate", event_id=event.id, type=event.type, group=spec.group)
                EVENTS_CONSUMED.labels(group=spec.group, type=event.type, outcome="duplicate").inc()
                continue
            already.add(event.id)  # a copy later in the same batch is a duplicate too
            fresh.append((raw, event))
        outcomes = await self._handle_all(spec, fresh) if spec.batch_handler is not None and len(fresh) > 1 else None
        if outcomes is None:
            outcomes = [await self._handle(spec, raw, event) for raw, event in fresh]
        for (_, event), outcome in zip(fresh, outcomes, strict=True):
            EVENTS_CONSUMED.labels(group=spec.group, type=event.type, outcome=outcome).inc()
        await self.processed.mark_many(spec.group, [e.id for (_, e), o in zip(fresh, outcomes, strict=True) if o == "handled"])

    async def _handle_all(self, spec: _Consumer, fresh: list[tuple[Message, CloudEvent[Any]]]) -> list[str] | None:
        """One call of a batch handler for the whole poll: each event's outcome, or None to
        send each event its own way."""
        assert spec.batch_handler is not None
        links = [trace.Link(trace.get_current_span(propagate.extract(header_text(raw))).get_span_context()) for raw, _ in fresh]
        with self.tracer.start_as_current_span(
            f"process {spec.topic}", kind=SpanKind.CONSUMER, links=links,
            attributes={"messaging.system": "kafka", "messaging.destination.name": spec.topic,
                        "messaging.consumer.group.name": spec.group, "messaging.batch.message_count": len(fresh)},
        ):
            events = [event for _, event in fresh]
            results: list[BatchOutcomes | None] = []

            handler = spec.batch_handler
            assert handler is not None  # a batch consumer is registered with its handler

            async def call() -> None:
                results.append(await handler(events))

            try:
                await self._with_retries(spec, events[0].type, call)
            except Exception:
                log.warning("bus.batch_failed_retrying_one_by_one", group=spec.group, size=len(fresh), exc_info=True)
                return None
        per_event = results[-1]
        if per_event is None:
            return ["handled"] * len(fresh)
        if len(per_event) != len(fresh):
            raise RuntimeError(f"batch handler {spec.topic} returned {len(per_event)} outcomes for {len(fresh)} events")
        outcomes = []
        for (raw, event), failure in zip(fresh, per_event, strict=True):
            if failure is None:
                outcomes.append("handled")
            elif isinstance(failure, spec.transient):
                outcomes.append(await self._handle(spec, raw, event))  # that event alone, with retries
            else:
                await self.dead_letter(raw, group=spec.group, kind="handler_error", reason=f"{type(failure).__name__}: {failure}")
                outcomes.append("dead_lettered")
        return outcomes

    async def _handle(self, spec: _Consumer, raw: Message, event: CloudEvent[Any]) -> str:
        """Run the handler in the producer's trace, with bounded retries; dead-letter on failure."""
        parent = propagate.extract(header_text(raw))
        attributes = {
            **_span_attributes(spec.topic, event),
            "messaging.consumer.group.name": spec.group,
            "messaging.kafka.offset": raw.offset(),
            "messaging.destination.partition.id": str(raw.partition()),
        }
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"process {spec.topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        ) as span:
            try:
                await self._with_retries(spec, event.type, lambda: spec.handler(event))
                return "handled"
            except spec.transient as exc:
                kind, reason = "handler_transient", f"transient failure persisted after {self.settings.retry_attempts} attempts: {exc!r}"
            except Exception as exc:
                log.exception("bus.handler_failed", event_id=event.id, type=event.type, group=spec.group)
                kind, reason = "handler_error", f"{type(exc).__name__}: {exc}"
            finally:
                HANDLE_SECONDS.labels(group=spec.group, type=event.type).observe(time.perf_counter() - started)
            span.set_status(Status(StatusCode.ERROR, reason[:200]))
            await self.dead_letter(raw, group=spec.group, kind=kind, reason=reason)
            return "dead_lettered"

    async def _with_retries(self, spec: _Consumer, event_type: str, call: Callable[[], Awaitable[None]]) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retry_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.settings.retry_backoff_initial_s,
                jitter=self.settings.retry_backoff_initial_s,
                max=self.settings.retry_backoff_max_s,
            ),
            retry=retry_if_exception_type(spec.transient),
            before_sleep=lambda state: HANDLER_RETRIES.labels(group=spec.group, type=event_type).inc(),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await call()

    async def dead_letter(self, raw: Message, *, group: str, kind: str, reason: str) -> None:
        """Send the original message to the DLQ: value and key untouched, headers kept,
        and `helix-dlq-*` headers saying where it came from and why it failed."""
        headers = header_text(raw, "utf-8", "replace")
        headers.update(
            {
                f"{DLQ_HEADER_PREFIX}reason": reason[:4000],
                f"{DLQ_HEADER_PREFIX}kind": kind,
                f"{DLQ_HEADER_PREFIX}topic": raw.topic() or "",
                f"{DLQ_HEADER_PREFIX}partition": str(raw.partition()),
                f"{DLQ_HEADER_PREFIX}offset": str(raw.offset()),
                f"{DLQ_HEADER_PREFIX}group": group,
                f"{DLQ_HEADER_PREFIX}at": datetime.now(UTC).isoformat(),
            }
        )
        await self.broker.publish(raw.value() or b"", self.settings.topic(Topic.DLQ), key=raw.key(), headers=headers)
        DEAD_LETTERS.labels(group=group, kind=kind).inc()
        log.warning("bus.dead_lettered", kind=kind, reason=reason[:500], topic=raw.topic(), offset=raw.offset(), group=group)


def _span_attributes(topic: str, event: CloudEvent[Any]) -> dict[str, str]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.message.id": event.id,
        "cloudevents.event_type": event.type,
        "helix.production_id": event.data.production_id,
    }
