"""The review service on PostgreSQL: the same flow, plus concurrent claimers."""

from __future__ import annotations

import asyncio
import json

import pytest

from helix.events import Topic
from helix.settings import HelixSettings
from helix.v1 import review_pb2
from tests.integration import review_helpers as review
from tests.integration.kafka_helpers import read_topic_async

pytestmark = [pytest.mark.infra, pytest.mark.postgres]


async def test_decision_flow_on_postgres(settings: HelixSettings, postgres_url: str) -> None:
    async with review.running_review(review.review_settings(settings, database_url=postgres_url)) as (app, stub):
        assert app.engine.dialect.name == "postgresql"
        event = review.store_asset(settings)
        for _ in range(3):
            review.publish_raw_event(settings, event)
        (item,) = await review.wait_for_items(stub, "lighthouse", 1)
        await asyncio.sleep(0.5)
        assert len((await stub.ListItems(review_pb2.ListItemsRequest(production_id="lighthouse"))).items) == 1
        await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))
        decision = await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        events = await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=2, timeout=5)
        assert [json.loads(e.value())["id"] for e in events] == [decision.event_id]


async def test_concurrent_claims_never_share_an_item(settings: HelixSettings, postgres_url: str) -> None:
    async with review.running_review(review.review_settings(settings, database_url=postgres_url)) as (_, stub):
        for _ in range(12):
            review.publish_raw_event(settings, review.store_asset(settings))
        await review.wait_for_items(stub, "lighthouse", 12)

        async def claim(n: int) -> str:
            reply = await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor(f"reviewer-{n}")))
            return reply.item.item_id

        claimed = await asyncio.gather(*(claim(n) for n in range(12)))
        assert all(claimed) and len(set(claimed)) == 12
