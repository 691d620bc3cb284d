"""Ingest: every `helix.asset.generated` becomes one screened review item.

Works a whole poll at a time: one query for known assets, the objects read from the
asset store concurrently, every item screened and inserted in one transaction.
Idempotent: an asset version already known (redelivery, duplicate publish, replay) is
skipped, and the unique constraint on (asset id, version) backs that up under races.
Store outages raise, so the bus retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import structlog
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from helix.assets import AssetIntegrityError, AssetNotFound, AssetStore, InvalidAssetKey
from helix.bus import DEFAULT_TRANSIENT
from helix.events import AssetGenerated, CloudEvent
from helix.provenance import signable
from helix_review.checks import DEFAULT_CHECKS, Check, ScreeningContext, risk_score
from helix_review.checks.base import ReferenceEmbedding, open_severities
from helix_review.db import Consent, ConsentReference, Finding, Performer, Policy, ReviewItem, utcnow
from helix_review.metrics import ITEMS_INGESTED

TEXT_TYPES = ("text/", "application/json", "application/x-fountain")
Read = tuple[bytes | None, str | None, bytes | None]  # (bytes, the sha256 the store recorded, a sidecar C2PA manifest)


log = structlog.get_logger("helix.review")


class Ingestor:
    def __init__(self, sessions: sessionmaker, store: AssetStore, *, max_scan_bytes: int = 2_000_000,
                 checks: tuple[Check, ...] = DEFAULT_CHECKS, store_concurrency: int = 16, store_outage_s: float = 120.0,
                 likeness_models: tuple[str, ...] = ()) -> None:
        self.sessions = sessions
        self.likeness_models = likeness_models  # performers' references embedded by these encoders go to the screening
        self.store_outage_s = store_outage_s  # how long a batch waits for the asset store before the bus's retries take over
        self.store = store
        self.max_scan_bytes = max_scan_bytes
        self.checks = checks
        self._io = ThreadPoolExecutor(store_concurrency, thread_name_prefix="review-store")

    async def handle_batch(self, events: list[CloudEvent[AssetGenerated]]) -> None:
        """The bus handler for asset events (consumer group `review`)."""
        known = await asyncio.to_thread(self._known, [(e.data.asset_id, e.data.version) for e in events])
        todo: dict[tuple[str, int], CloudEvent[AssetGenerated]] = {}
        for event in events:
            key = (event.data.asset_id, event.data.version)
            if key not in known:
                todo.setdefault(key, event)  # two events for one asset version: the first wins
        if not todo:
            ITEMS_INGESTED.labels(outcome="duplicate").inc(len(events))
            return
        reads = await self._read_all([e.data for e in todo.values()])
        created = await asyncio.to_thread(self._screen_and_store, list(zip(todo.values(), reads, strict=True)))
        ITEMS_INGESTED.labels(outcome="created").inc(created)
        ITEMS_INGESTED.labels(outcome="duplicate").inc(len(events) - created)

    async def _read_all(self, assets: list[AssetGenerated]) -> list[Read]:
        """Every asset's bytes, waiting out an asset store outage (up to `store_outage_s`, as
        the generators do) rather than spending the bus's few retries on it."""
        loop = asyncio.get_running_loop()
        waiting_since: float | None = None
        retrying = AsyncRetrying(stop=stop_after_delay(self.store_outage_s), wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
                                 retry=retry_if_exception_type(DEFAULT_TRANSIENT), reraise=True)
        async for attempt in retrying:
            with attempt:
                try:
                    reads = await asyncio.gather(*(loop.run_in_executor(self._io, self._read, a) for a in assets))
                except DEFAULT_TRANSIENT as exc:
                    if waiting_since is None:
                        waiting_since = loop.time()
                        log.warning("review.store_unavailable", error=f"{type(exc).__name__}: {exc}"[:300], assets=len(assets))
                    raise
        if waiting_since is not None:
            log.warning("review.store_back", waited_s=round(loop.time() - waiting_since, 1))
        return reads

    def close(self) -> None:
        self._io.shutdown(wait=False)

    def _known(self, keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
        with self.sessions() as s:
            query = select(ReviewItem.asset_id, ReviewItem.asset_version).where(
                tuple_(ReviewItem.asset_id, ReviewItem.asset_version).in_(keys)
            )
            return {(a, v) for a, v in s.execute(query)}

    def _read(self, asset: AssetGenerated) -> Read:
        try:
            data, stored = self.store.read(asset.object_key)
        except (AssetNotFound, InvalidAssetKey):
            return None, None, None
        except AssetIntegrityError as exc:
            return None, exc.stored.sha256 if exc.stored else None, None
        manifest = None
        if signable(asset.media_type):
            with contextlib.suppress(AssetNotFound):
                manifest = self.store.get(stored.key.manifest())
        return data, stored.sha256, manifest

    def _screen_and_store(self, batch: list[tuple[CloudEvent[AssetGenerated], Read]]) -> int:
        """Screen and insert every item in one transaction; on a conflict, one by one."""
        with self.sessions() as s:
            s.add_all(self._screen(s, batch))
            try:
                s.commit()
                return len(batch)
            except IntegrityError:
                s.rollback()
        created = 0
        for one in batch:  # a racing ingest inserted some of them: keep the rest
            with self.sessions() as s:
                s.add_all(self._screen(s, [one]))
                try:
                    s.commit()
                    created += 1
                except IntegrityError:
                    s.rollback()
        return created

    def _screen(self, s: Session, batch: list[tuple[CloudEvent[AssetGenerated], Read]]) -> list[ReviewItem]:
        now = utcnow()
        performers = list(s.scalars(select(Performer)))
        references = self._references(s)
        consents = list(s.scalars(select(Consent).where(Consent.revoked_at.is_(None))))
        productions = {e.data.production_id for e, _ in batch}
        policies = {p.production_id: p for p in s.scalars(select(Policy).where(Policy.production_id.in_(productions)))}
        by_sha: dict[str, list[tuple[str, str, str]]] = {}
        query = select(ReviewItem.sha256, ReviewItem.asset_id, ReviewItem.asset_version, ReviewItem.status).where(
            ReviewItem.sha256.in_({e.data.sha256 for e, _ in batch})
        )
        for sha, asset_id, version, status in s.execute(query):
            by_sha.setdefault(sha, []).append((asset_id, str(version), status))
        items = []
        for event, (content, stored_sha, manifest) in batch:
            asset = event.data
            ctx = ScreeningContext(
                asset=asset, content=content, text=self._searchable_text(asset, content), stored_sha256=stored_sha, now=now,
                performers=performers, consents=consents, policy=policies.get(asset.production_id), references=references,
                same_content=[d for d in by_sha.get(asset.sha256, []) if d[0] != asset.asset_id][:5], manifest=manifest,
            )
            drafts = [d for check in self.checks for d in check.run(ctx)]
            item = ReviewItem(
                id=uuid.uuid4().hex, event_id=event.id, asset_id=asset.asset_id, asset_version=asset.version,
                production_id=asset.production_id, kind=asset.kind.value, object_key=asset.object_key, sha256=asset.sha256,
                media_type=asset.media_type, size_bytes=asset.size_bytes,
                requested_by=asset.requested_by.subject if asset.requested_by else None,
                event_json=event.model_dump_json(), priority=-risk_score(open_severities(drafts)), created_at=now,
            )
            item.findings = [
                Finding(id=uuid.uuid4().hex, check=d.check, severity=int(d.severity), message=d.message, subject=d.subject,
                        blocks_approval=d.blocks_approval, open=d.covered_by is None, consent_id=d.covered_by,
                        resolved_by="consent" if d.covered_by else None, resolved_at=now if d.covered_by else None,
                        resolution_reason=f"covered by consent {d.covered_by}" if d.covered_by else None)
                for d in drafts
            ]
            by_sha.setdefault(asset.sha256, []).append((asset.asset_id, str(asset.version), "pending"))  # duplicates within a batch
            items.append(item)
        return items

    def _references(self, s: Session) -> list[ReferenceEmbedding]:
        if not self.likeness_models:
            return []
        rows = s.execute(select(ConsentReference.consent_id, ConsentReference.embedding_model, ConsentReference.embedding, Consent.performer,
                                Consent.performer_key).join(Consent).where(ConsentReference.embedding_model.in_(self.likeness_models)))
        return [ReferenceEmbedding(model=model, performer=performer, performer_key=key, consent_id=consent_id, embedding=embedding)
                for consent_id, model, embedding, performer, key in rows if embedding and model]

    def _searchable_text(self, asset: AssetGenerated, content: bytes | None) -> str:
        parts = [json.dumps(asset.inputs, ensure_ascii=False), json.dumps(asset.parameters, ensure_ascii=False)]
        if content is not None and len(content) <= self.max_scan_bytes and asset.media_type.startswith(TEXT_TYPES):
            parts.append(content.decode("utf-8", "replace"))
        return "\n".join(parts)
