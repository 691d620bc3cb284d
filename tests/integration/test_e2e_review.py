"""Issue 3's promise, end to end on the real broker, store and databases: an asset event
from any Kafka client reaches a person through the gateway, and their decision reaches
Kafka exactly once, with the audit trail to show it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helix.events import Topic
from helix.settings import HelixSettings
from tests.conftest import make_settings
from tests.integration.gateway_harness import Stack, gateway_stack
from tests.integration.kafka_helpers import read_topic_async
from tests.integration.review_helpers import publish_raw_event, store_asset

pytestmark = pytest.mark.infra


@contextlib.asynccontextmanager
async def stack_for(infra_env: dict[str, str], tmp_path: Path, **review_overrides: Any) -> AsyncIterator[Stack]:
    async with gateway_stack(make_settings(infra_env, tmp_path), tmp_path, **review_overrides) as stack:
        yield stack


async def _production(stack: Stack, **fields: Any) -> str:
    async with stack.client(stack.token("studio", "studio-system")) as client:
        response = await client.post("/productions", json={"title": "Lighthouse", "logline": "One last storm.", **fields})
    assert response.status_code == 201, response.text
    return response.json()["production_id"]


async def _queued(client: Any, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        items = (await client.get("/reviews/queue", params={"limit": 200})).json()["items"]
        if len(items) >= count or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("outcome, notes", [("approved", ""), ("rejected", "wrong coast"), ("revision_requested", "make it rain harder")])
async def test_raw_event_to_human_decision_to_one_kafka_event(infra_env: dict[str, str], tmp_path: Path, outcome: str, notes: str) -> None:
    async with stack_for(infra_env, tmp_path) as stack:
        settings: HelixSettings = stack.settings
        pid = await _production(stack, banned_terms=["FizzCola"])
        event = store_asset(settings, production_id=pid, requested_by="dana", text="MARA sips a FizzCola.\n")
        publish_raw_event(settings, event)  # confluent-kafka, no Helix code on the producing side
        rhea = stack.token("rhea", "reviewer", productions=[pid])
        async with stack.client(rhea) as client, stack.client(stack.token("root", "admin")) as admin:
            (item,) = await _queued(client, 1)
            assert item["asset"]["asset_id"] == event.data.asset_id
            (finding,) = item["findings"]
            assert finding["check"] == "policy_terms" and "FizzCola" in finding["message"], "findings come with the item"
            claimed = await client.post("/reviews/claim", json={"lease_seconds": 60})
            assert claimed.json()["item_id"] == item["item_id"]
            decided = await client.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": outcome, "notes": notes})
            assert decided.status_code == 200, decided.text
            records = await read_topic_async(settings, Topic.REVIEW_DECISIONS, count=2, timeout=6)
            assert len(records) == 1, "exactly one decision event"
            body = json.loads(records[0].value())
            assert body["type"] == f"helix.review.{outcome}" and body["data"]["reviewer"]["subject"] == "rhea"
            assert body["data"]["asset_id"] == event.data.asset_id and body["id"] == decided.json()["event_id"]
            audit = (await admin.get("/audit", params={"item_id": item["item_id"]})).json()["items"]
            assert [(e["action"], e["actor"]["subject"], e["reason"]) for e in audit] == [(f"decision.{outcome}", "rhea", notes)]


async def test_consent_gate_over_http(infra_env: dict[str, str], tmp_path: Path) -> None:
    async with stack_for(infra_env, tmp_path) as stack:
        pid = await _production(stack, performers=["Mara Quinn"])
        publish_raw_event(stack.settings, store_asset(stack.settings, production_id=pid, prompt="Mara Quinn at the lamp, close-up"))
        async with stack.client(stack.token("rhea", "reviewer", productions=[pid])) as client, \
                stack.client(stack.token("ada", "admin")) as admin:
            (item,) = await _queued(client, 1)
            consent = next(f for f in item["findings"] if f["check"] == "likeness_consent")
            assert consent["severity"] == "high" and consent["blocks_approval"] and "Mara Quinn" in consent["message"]
            await client.post("/reviews/claim")
            refused = await client.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved"})
            assert refused.status_code == 409
            assert consent["finding_id"] in refused.json()["detail"] and "consent" in refused.json()["detail"]
            recorded = await admin.post("/consents", json={"performer": "Mara Quinn", "scopes": ["name"], "production_ids": [pid],
                                                           "reason": "signed release 2026-11-20"})
            assert recorded.status_code == 201, recorded.text
            approved = await client.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved"})
            assert approved.status_code == 200, approved.text


async def test_a_reviewer_reads_the_consents_of_their_productions_only(infra_env: dict[str, str], tmp_path: Path) -> None:
    async with stack_for(infra_env, tmp_path) as stack:
        a, b = await _production(stack), await _production(stack)
        async with stack.client(stack.token("ada", "admin")) as admin:
            for performer, productions in (("Mara Quinn", [a]), ("Tom Hale", [b]), ("Ana Diaz", [])):
                recorded = await admin.post("/consents", json={"performer": performer, "scopes": ["likeness"], "production_ids": productions,
                                                               "reason": "signed release"})
                assert recorded.status_code == 201, recorded.text
            everyone = [c["performer"] for c in (await admin.get("/consents")).json()["items"]]
        async with stack.client(stack.token("rhea", "reviewer", productions=[a])) as rhea:
            seen = [c["performer"] for c in (await rhea.get("/consents")).json()["items"]]
            assert (await rhea.get("/consents", params={"performer": "Tom Hale"})).json()["items"] == []
        assert sorted(everyone) == ["Ana Diaz", "Mara Quinn", "Tom Hale"], "an admin reads every consent"
        assert sorted(seen) == ["Ana Diaz", "Mara Quinn"], "production A's reviewer: A's consents and those for every production, none of B's"


@pytest.mark.postgres
async def test_eight_reviewers_at_once_on_postgres(infra_env: dict[str, str], tmp_path: Path, postgres_url: str) -> None:
    """8 people work one queue over HTTP: nothing decided twice, nothing skipped, and an
    item whose reviewer walked away comes back when the lease expires."""
    total = 40
    async with stack_for(infra_env, tmp_path, review_database_url=postgres_url) as stack:
        assert stack.review.engine.dialect.name == "postgresql"
        pid = await _production(stack)
        for _ in range(total):
            publish_raw_event(stack.settings, store_asset(stack.settings, production_id=pid, requested_by="dana"))
        tokens = [stack.token(f"reviewer-{n}", "reviewer", productions=[pid]) for n in range(8)]
        async with stack.client(tokens[0]) as client:
            assert len(await _queued(client, total, timeout=60)) == total

        # reviewer-7 claims one item with a short lease and walks away
        async with stack.client(tokens[7]) as walker:
            abandoned = (await walker.post("/reviews/claim", json={"lease_seconds": 2})).json()["item_id"]

        decisions: list[tuple[str, str]] = []
        conflicts: list[int] = []

        async def work(tok: str, name: str) -> None:
            rng = random.Random(name)
            async with stack.client(tok) as client:
                idle_rounds = 0
                while idle_rounds < 40:  # keep coming back: the abandoned lease must expire first
                    claim = await client.post("/reviews/claim", json={"lease_seconds": 30})
                    if claim.status_code == 204:
                        idle_rounds += 1
                        await asyncio.sleep(0.1)
                        continue
                    idle_rounds = 0
                    item_id = claim.json()["item_id"]
                    outcome = rng.choice(["approved", "rejected", "revision_requested"])
                    r = await client.post(f"/reviews/items/{item_id}/decision", json={"outcome": outcome, "notes": "n"})
                    if r.status_code == 200:
                        decisions.append((item_id, name))
                    else:
                        conflicts.append(r.status_code)

        await asyncio.gather(*(work(tokens[n], f"reviewer-{n}") for n in range(7)))
        decided_items = [i for i, _ in decisions]
        assert len(decided_items) == len(set(decided_items)), "no item decided twice"
        assert len(decided_items) == total, f"none skipped ({len(decided_items)} of {total}; refused: {conflicts})"
        assert abandoned in decided_items and dict(decisions)[abandoned] != "reviewer-7", "the expired lease went back to the queue"
        assert len({name for _, name in decisions}) > 1, "the work was shared"
        records = await read_topic_async(stack.settings, Topic.REVIEW_DECISIONS, count=total + 1, timeout=10)
        assert sorted(json.loads(r.value())["data"]["decision_id"] for r in records) == sorted(
            {json.loads(r.value())["data"]["decision_id"] for r in records}) and len(records) == total
