"""The review service process: ingest consumer, gRPC API, outbox relay, metrics."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC

import structlog
from opentelemetry.trace import TracerProvider
from sqlalchemy import func, select

from helix.assets import AssetStore
from helix.bus import HelixBus, ProcessedEvents
from helix.events import AssetGenerated, Topic
from helix.grpc import SERVING, create_server
from helix.provenance import ContentCredentials
from helix.v1 import review_pb2, review_pb2_grpc
from helix_review.checks import DEFAULT_CHECKS, Check
from helix_review.checks.drift import CastDriftCheck, references_in
from helix_review.checks.provenance import ProvenanceCheck
from helix_review.checks.resemblance import LikenessResemblanceCheck
from helix_review.db import PENDING, ReviewItem, make_engine, migrate, session_factory, utcnow
from helix_review.desk import ReviewDesk
from helix_review.grpc_service import ReviewServicer
from helix_review.ingest import Ingestor
from helix_review.likeness import ClipImageEncoder, Likeness, SpeakerEncoder
from helix_review.metrics import OLDEST_PENDING, QUEUE_DEPTH, RISK_BANDS
from helix_review.outbox import OutboxRelay
from helix_review.settings import ReviewSettings

SERVICE_NAME = review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name


log = structlog.get_logger("helix.review")

class ReviewApp:
    """Wires the review service together; `start()`/`stop()` for processes and tests."""

    def __init__(self, settings: ReviewSettings, *, tracer_provider: TracerProvider | None = None) -> None:
        self.settings = settings
        url = settings.effective_database_url()
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self.store = AssetStore(settings)
        self.bus = HelixBus(settings, source="/helix/review", processed=ProcessedEvents(url), tracer_provider=tracer_provider)
        self.likeness = Likeness(image=ClipImageEncoder(settings.review_likeness_model) if settings.review_likeness_model else None,
                                 image_threshold=settings.review_likeness_threshold,
                                 voice=SpeakerEncoder(settings.review_voice_likeness_model) if settings.review_voice_likeness_model else None,
                                 voice_threshold=settings.review_voice_likeness_threshold)
        self.desk = ReviewDesk(self.sessions, settings, lease_seconds=settings.review_lease_seconds,
                               second_share=settings.review_second_share, likeness=self.likeness)
        checks: tuple[Check, ...] = (*DEFAULT_CHECKS, ProvenanceCheck(ContentCredentials(settings)))  # C2PA verified against the trust anchors
        if self.likeness.models():  # beyond names: images and voices compared with performers' references
            checks = (*checks, LikenessResemblanceCheck(self.likeness))
        if self.likeness.image is not None:  # frames that keep the cast: each character's region against its reference
            checks = (*checks, CastDriftCheck(self.likeness.image, settings.review_drift_threshold, references_in(self.store)))
        self.ingestor = Ingestor(self.sessions, self.store, max_scan_bytes=settings.review_max_scan_bytes, checks=checks,
                                 store_outage_s=settings.store_outage_s, likeness_models=tuple(self.likeness.models()))
        self.bus.batch_consumer(Topic.ASSETS_GENERATED, group="review", handles=(AssetGenerated,))(self.ingestor.handle_batch)
        self.relay = OutboxRelay(self.sessions, self.bus)
        self.grpc_address = ""
        self._server = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await asyncio.to_thread(migrate, self.engine)
        if (embedded := await asyncio.to_thread(self.desk.consents.embed_references)):  # added before this encoder was configured
            log.info("review.references_embedded", references=embedded, models=self.likeness.models())
        await self.bus.start()
        server, port, health = create_server("review", address=self.settings.review_grpc_address)
        review_pb2_grpc.add_ReviewServiceServicer_to_server(ReviewServicer(self.desk, on_decision=self.relay.wake.set, sla_seconds=self.settings.review_sla_seconds), server)
        await server.start()
        await health.set(SERVICE_NAME, SERVING)
        await health.set("", SERVING)
        self._server = server
        self.grpc_address = f"{self.settings.review_grpc_address.rsplit(':', 1)[0]}:{port}"
        if self.settings.review_outbox_relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        self._tasks.append(asyncio.create_task(self._refresh_gauges(), name="queue-gauges"))
        self._tasks.append(asyncio.create_task(self._sweep_consents(), name="consent-sweep"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._server is not None:
            await self._server.stop(grace=2)
        await self.bus.stop()
        self.ingestor.close()
        self.engine.dispose()

    async def _refresh_gauges(self, every_s: float = 15.0) -> None:
        while True:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._measure_queue)
            await asyncio.sleep(every_s)

    async def _sweep_consents(self) -> None:
        """Consents expire: the assets that relied on one are flagged again (and cannot be approved)."""
        while True:
            await asyncio.sleep(self.settings.review_consent_sweep_s)
            try:
                reopened = await asyncio.to_thread(self.desk.consents.recheck_consents)
                if reopened:
                    log.info("review.consents_lapsed", findings_reopened=reopened)
            except Exception:
                log.exception("review.consent_sweep_failed")

    def _measure_queue(self) -> None:
        with self.sessions() as s:
            pending = select(func.count()).select_from(ReviewItem).where(ReviewItem.status == PENDING)
            for band, low, high in RISK_BANDS:
                QUEUE_DEPTH.labels(risk=band).set(s.scalar(pending.where(ReviewItem.priority <= -low, ReviewItem.priority > -high)) or 0)
            oldest = s.scalar(select(func.min(ReviewItem.created_at)).where(ReviewItem.status == PENDING))
            if oldest is not None and oldest.tzinfo is None:  # SQLite's MIN() skips the column type
                oldest = oldest.replace(tzinfo=UTC)
            OLDEST_PENDING.set((utcnow() - oldest).total_seconds() if oldest else 0)
