"""A review service killed between the DB commit of a decision and its publish loses
nothing and duplicates nothing: one item, one decision event."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from typing import Any

import grpc
import pytest

from helix.events import Topic
from helix.settings import HelixSettings
from helix.v1 import review_pb2, review_pb2_grpc
from helix_dev.infra.process import free_port
from tests.conftest import REPO
from tests.integration import review_helpers as review
from tests.integration.kafka_helpers import read_topic_async
from tests.integration.processes import as_env

pytestmark = pytest.mark.infra


async def test_kill_between_commit_and_publish(settings: HelixSettings) -> None:
    port = free_port()
    crashing = review.review_settings(settings, review_outbox_relay=False, review_grpc_address=f"127.0.0.1:{port}")
    env: dict[str, Any] = {**os.environ, **as_env(crashing), "HELIX_LOG_JSON": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "helix_review"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        event = review.store_asset(settings)
        for _ in range(3):
            review.publish_raw_event(settings, event)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = review_pb2_grpc.ReviewServiceStub(channel)
            await channel.channel_ready()
            (item,) = await review.wait_for_items(stub, "lighthouse", 1, timeout=60)
            await stub.ClaimNext(review_pb2.ClaimNextRequest(reviewer=review.actor("rhea")))
            decision = await stub.Decide(review_pb2.DecideRequest(item_id=item.item_id, reviewer=review.actor("rhea"), outcome="approved"))
        # The decision is committed; its event is only in the outbox. Kill -9, no goodbye.
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=1, timeout=3) == [], "nothing was published yet"

    # The replacement (same database) publishes the decision exactly once.
    async with review.running_review(review.review_settings(settings)) as (_, stub):
        events = await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=2, timeout=8)
        items = (await stub.ListItems(review_pb2.ListItemsRequest(production_id="lighthouse"))).items
        await asyncio.sleep(0.5)
    assert len(events) == 1
    body = json.loads(events[0].value())
    assert body["id"] == decision.event_id and body["data"]["reviewer"]["subject"] == "rhea"
    assert len(items) == 1 and items[0].status == "approved"
