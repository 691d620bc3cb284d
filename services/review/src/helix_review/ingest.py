"""Ingest: every `helix.asset.generated` becomes one screened review item.

Idempotent: an asset version already known (redelivery, duplicate publish, replay) is
skipped, and the unique constraint on (asset id, version) backs that up under races.
The object is read from the asset store to verify it; store outages raise so the bus
retries with backoff.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from helix.assets import AssetIntegrityError, AssetNotFound, AssetStore, InvalidAssetKey
from helix.events import AssetGenerated, CloudEvent
from helix_review.checks import DEFAULT_CHECKS, Check, ScreeningContext, risk_score
from helix_review.db import Consent, Finding, Performer, Policy, ReviewItem, utcnow
from helix_review.metrics import ITEMS_INGESTED

TEXT_TYPES = ("text/", "application/json", "application/x-fountain")


class Ingestor:
    def __init__(self, sessions: sessionmaker, store: AssetStore, *, max_scan_bytes: int = 2_000_000,
                 checks: tuple[Check, ...] = DEFAULT_CHECKS) -> None:
        self.sessions = sessions
        self.store = store
        self.max_scan_bytes = max_scan_bytes
        self.checks = checks

    async def handle(self, event: CloudEvent[AssetGenerated]) -> None:
        """The bus handler for asset events (consumer group `review`)."""
        asset = event.data
        if await asyncio.to_thread(self._known, asset.asset_id, asset.version):
            return
        content, stored_sha = await asyncio.to_thread(self._read, asset)
        created = await asyncio.to_thread(self._screen_and_store, event, content, stored_sha)
        ITEMS_INGESTED.labels(outcome="created" if created else "duplicate").inc()

    def _known(self, asset_id: str, version: int) -> bool:
        with self.sessions() as s:
            query = select(ReviewItem.id).where(ReviewItem.asset_id == asset_id, ReviewItem.asset_version == version)
            return s.scalars(query).first() is not None

    def _read(self, asset: AssetGenerated) -> tuple[bytes | None, str | None]:
        """(bytes, the sha256 the store recorded); None for what is missing or does not match."""
        try:
            stored = self.store.stat(asset.object_key)
        except (AssetNotFound, InvalidAssetKey):
            return None, None
        try:
            return self.store.get(stored.key), stored.sha256
        except AssetIntegrityError:
            return None, stored.sha256

    def _screen_and_store(self, event: CloudEvent[AssetGenerated], content: bytes | None, stored_sha: str | None) -> bool:
        asset = event.data
        now = utcnow()
        with self.sessions() as s:
            performers = list(s.scalars(select(Performer)))
            ctx = ScreeningContext(
                asset=asset,
                content=content,
                text=self._searchable_text(asset, content),
                stored_sha256=stored_sha,
                now=now,
                performers=performers,
                consents=list(s.scalars(select(Consent).where(Consent.revoked_at.is_(None)))),
                policy=s.get(Policy, asset.production_id),
                same_content=[
                    (r.asset_id, str(r.asset_version), r.status)
                    for r in s.scalars(select(ReviewItem).where(ReviewItem.sha256 == asset.sha256, ReviewItem.asset_id != asset.asset_id).limit(5))
                ],
            )
            drafts = [d for check in self.checks for d in check.run(ctx)]
            item = ReviewItem(
                id=uuid.uuid4().hex, event_id=event.id, asset_id=asset.asset_id, asset_version=asset.version,
                production_id=asset.production_id, kind=asset.kind.value, object_key=asset.object_key, sha256=asset.sha256,
                media_type=asset.media_type, size_bytes=asset.size_bytes,
                requested_by=asset.requested_by.subject if asset.requested_by else None,
                event_json=event.model_dump_json(), priority=-risk_score([d.severity for d in drafts]), created_at=now,
            )
            item.findings = [
                Finding(id=uuid.uuid4().hex, check=d.check, severity=int(d.severity), message=d.message, subject=d.subject,
                        blocks_approval=d.blocks_approval, open=True)
                for d in drafts
            ]
            s.add(item)
            try:
                s.commit()
            except IntegrityError:  # the same asset version arrived concurrently: one item only
                s.rollback()
                return False
            return True

    def _searchable_text(self, asset: AssetGenerated, content: bytes | None) -> str:
        parts = [json.dumps(asset.inputs, ensure_ascii=False), json.dumps(asset.parameters, ensure_ascii=False)]
        if content is not None and len(content) <= self.max_scan_bytes and asset.media_type.startswith(TEXT_TYPES):
            parts.append(content.decode("utf-8", "replace"))
        return "\n".join(parts)
