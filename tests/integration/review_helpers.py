"""Shared pieces for tests that run the real review service."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from helix.assets import AssetStore
from helix.events import Actor, AssetGenerated, AssetKind, CloudEvent, encode, new_event
from helix.settings import HelixSettings
from helix.v1 import common_pb2, review_pb2, review_pb2_grpc
from helix_review.app import ReviewApp
from helix_review.settings import ReviewSettings
from tests.integration.kafka_helpers import eventually, produce_raw


def review_settings(settings: HelixSettings, **overrides: Any) -> ReviewSettings:
    values = settings.model_dump()
    values.update({"review_grpc_address": "127.0.0.1:0", "service_name": "review", **overrides})
    return ReviewSettings(**values)


@contextlib.asynccontextmanager
async def running_review(settings: ReviewSettings) -> AsyncIterator[tuple[ReviewApp, review_pb2_grpc.ReviewServiceStub]]:
    app = ReviewApp(settings)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.grpc_address) as channel:
            yield app, review_pb2_grpc.ReviewServiceStub(channel)
    finally:
        await app.stop()


def actor(subject: str, *roles: str) -> common_pb2.Actor:
    return common_pb2.Actor(subject=subject, roles=list(roles) or ["reviewer"])


def store_asset(settings: HelixSettings, *, production_id: str = "lighthouse", text: str = "EXT. LIGHTHOUSE - NIGHT\n",
                kind: AssetKind = AssetKind.SCRIPT, requested_by: str | None = "dana", asset_id: str | None = None,
                prompt: str = "a storm at the lighthouse") -> CloudEvent[AssetGenerated]:
    """Put a real object in the store and build the asset event that points at it."""
    store = AssetStore(settings)
    store.ensure_bucket()
    stored = store.put(production_id=production_id, kind=kind, asset_id=asset_id or f"a-{uuid.uuid4().hex[:10]}",
                       data=text.encode(), media_type="text/x-fountain", ext="fountain")
    data = AssetGenerated(
        **stored.event_fields(), model={"id": "helix/tiny-llama", "revision": "r1"}, inputs={"prompt": prompt},
        generated_by=Actor(subject="writer", kind="service"), generated_at=datetime.now(UTC),
        requested_by=Actor(subject=requested_by) if requested_by else None,
    )
    return new_event(data, source="/helix/writer")


def publish_raw_event(settings: HelixSettings, event: CloudEvent[Any]) -> None:
    produce_raw(settings, event.data.topic, encode(event), key=event.data.production_id.encode(),
                headers={"content-type": b"application/cloudevents+json"})


async def wait_for_items(stub: review_pb2_grpc.ReviewServiceStub, production_id: str, count: int, timeout: float = 30) -> list[review_pb2.ReviewItem]:
    items: list[review_pb2.ReviewItem] = []

    def done() -> bool:
        return len(items) >= count

    async def poll() -> None:
        while not done():
            reply = await stub.ListItems(review_pb2.ListItemsRequest(production_id=production_id, page=common_pb2.PageRequest(page_size=100)))
            items[:] = list(reply.items)
            if not done():
                await __import__("asyncio").sleep(0.1)

    await __import__("asyncio").wait_for(poll(), timeout)
    return items


__all__ = ["Path", "eventually"]
