"""The gateway on the real broker, store, review service and read model: requests go out as
events, events come back as jobs, assets and live streams, errors are problem details."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from helix.bus import HelixBus
from helix.events import JobAccepted, JobCompleted, JobProgress, ReviewApproved, Topic
from helix.events.data import Actor, AssetKind
from tests.conftest import make_settings
from tests.integration.gateway_harness import Stack, create_production, gateway_stack, job_event, poll, stored_asset_event
from tests.integration.kafka_helpers import read_topic_async

pytestmark = pytest.mark.infra

PROBLEM = "application/problem+json"


@pytest_asyncio.fixture(scope="module")
async def stack(infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    folder = tmp_path_factory.mktemp("gateway-api")
    async with gateway_stack(make_settings(infra_env, folder), folder) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def producer(stack: Stack) -> AsyncIterator[HelixBus]:
    """A service on the other side of the bus (writer, visual, review…)."""
    async with HelixBus(stack.settings, source="/helix/tests/service") as bus:
        yield bus


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    assert problem["instance"] == response.request.url.path
    return problem


async def test_production_and_script_request_go_out_as_an_event(stack: Stack) -> None:
    production = await create_production(stack, style="coastal noir", target_locales=["de-DE", "ja-JP"], performers=["Mara Quinn"])
    pid = production["production_id"]
    assert pid.startswith("the-lighthouse-") and production["created_by"] == "studio-1"

    director = stack.token("dora", "director", productions=[pid])
    async with stack.client(director) as client:
        assert (await client.get(f"/productions/{pid}")).json()["performers"] == ["Mara Quinn"]
        listed = (await client.get("/productions")).json()["items"]
        assert [p["production_id"] for p in listed] == [pid], "a director sees only assigned productions"
        response = await client.post(f"/productions/{pid}/requests/script", json={"max_scenes": 3})
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status_url"] == f"/jobs/{accepted['job_id']}" == response.headers["location"]
        job = (await client.get(accepted["status_url"])).json()
        assert job["status"] == "requested" and job["requested_by"] == "dora"
        assert job["request_type"] == "helix.writer.script.requested" and job["request_event_id"] == accepted["event_id"]

    records = await read_topic_async(stack.settings, Topic.WRITER_REQUESTS, count=1, timeout=15)
    assert len(records) == 1, "the request is on the writer's topic"
    record = records[0]
    event = json.loads(record.value())
    assert record.key() == pid.encode() and dict(record.headers())["content-type"] == b"application/cloudevents+json"
    assert event["id"] == accepted["event_id"] and event["type"] == "helix.writer.script.requested"
    assert event["subject"] == pid and event["source"] == "/helix/gateway"
    data = event["data"]
    assert data["job_id"] == accepted["job_id"] and data["max_scenes"] == 3
    # what the body left out comes from the production
    assert data["logline"] == production["logline"] and data["style"] == "coastal noir"
    assert data["target_locales"] == ["de-DE", "ja-JP"] and data["performers"] == ["Mara Quinn"]
    assert data["requested_by"] == {"subject": "dora", "kind": "user", "roles": ["director"]}


async def test_every_request_kind_is_published_to_its_topic(stack: Stack) -> None:
    pid = (await create_production(stack))["production_id"]
    bodies = {
        "dialogue-rewrite": ({"dialogue_asset_id": "dialogue-1", "tone": "warmer"}, Topic.WRITER_REQUESTS),
        "script-edit": ({"script_id": "script-1", "operation": "revert", "level": "title"}, Topic.WRITER_REQUESTS),
        "storyboard": ({"script_asset_id": "script-1"}, Topic.WRITER_REQUESTS),
        "frame": ({"prompt": "a lighthouse in a storm", "width": 256, "height": 256}, Topic.VISUAL_REQUESTS),
        "scene": ({"prompt": "the lamp room"}, Topic.VISUAL_REQUESTS),
        "texture": ({"prompt": "weathered paint", "tileable": True}, Topic.VISUAL_REQUESTS),
        "localization": ({"source_asset_id": "script-1", "target_locales": ["de-DE"], "deliverables": ["subtitles"]}, Topic.LOCALIZE_REQUESTS),
    }
    sent: dict[str, str] = {}
    async with stack.client(stack.token("studio-1", "studio-system")) as client:
        for what, (body, _) in bodies.items():
            response = await client.post(f"/productions/{pid}/requests/{what}", json=body)
            assert response.status_code == 202, (what, response.text)
            sent[response.json()["event_id"]] = what
        bad = await client.post(f"/productions/{pid}/requests/frame", json={"prompt": "x", "width": 100})
        assert _assert_problem(bad, 422)["errors"][0]["loc"] == ["body", "width"]
        assert (await client.post("/productions/no-such-production/requests/scene", json={"prompt": "x"})).status_code == 404
    for topic, count in ((Topic.VISUAL_REQUESTS, 3), (Topic.LOCALIZE_REQUESTS, 1)):
        records = await read_topic_async(stack.settings, topic, count=count, timeout=15)
        events = [json.loads(r.value()) for r in records]
        assert {e["id"] for e in events} <= sent.keys() and len(events) == count
        for event in events:
            assert bodies[sent[event["id"]]][1] is topic
            assert event["data"]["requested_by"] == {"subject": "studio-1", "kind": "service", "roles": ["studio-system"]}


async def test_job_and_asset_projections_and_presigned_download(stack: Stack, producer: HelixBus) -> None:
    pid = (await create_production(stack))["production_id"]
    admin = stack.token("root", "admin")
    async with stack.client(admin) as client:
        job_id = (await client.post(f"/productions/{pid}/requests/script", json={})).json()["job_id"]
        await producer.publish(job_event(JobAccepted, pid, job_id, request_type="helix.writer.script.requested", request_event_id="e1"))
        await producer.publish(job_event(JobProgress, pid, job_id, step="characters", fraction=0.4, asset_ids=["characters-1"]))
        await poll(client, f"/jobs/{job_id}", lambda r: r.json()["status"] == "progress", what="progress")

        content = b"INT. LAMP ROOM - NIGHT\nMARA\nKeep it lit.\n"
        asset_event = stored_asset_event(stack.settings, pid, content=content, job_id=job_id, parent_asset_ids=["characters-1"])
        asset_id = asset_event.data.asset_id
        await producer.publish_event(asset_event)
        await producer.publish(job_event(JobCompleted, pid, job_id, asset_ids=[asset_id]))
        job = (await poll(client, f"/jobs/{job_id}", lambda r: r.json()["status"] == "completed", what="completion")).json()
        assert job["fraction"] == 1.0 and job["asset_ids"] == ["characters-1", asset_id] and job["service"] == "writer"
        # a late, replayed progress event does not reopen a finished job
        await producer.publish(job_event(JobProgress, pid, job_id, step="late", fraction=0.1))
        await producer.publish(job_event(JobProgress, "another-production", "job-sentinel", step="s", fraction=0.5))
        await poll(client, "/jobs/job-sentinel", lambda r: r.status_code == 200, what="sentinel job")
        assert (await client.get(f"/jobs/{job_id}")).json()["status"] == "completed"

        listed = (await poll(client, f"/productions/{pid}/assets", lambda r: len(r.json()["items"]) == 1, what="asset listing")).json()
        assert listed["items"][0]["asset_id"] == asset_id and listed["items"][0]["review_status"] == "pending"
        detail = (await client.get(f"/assets/{asset_id}")).json()
        assert detail["version"] == 1 and detail["versions"] == [1] and detail["event_id"] == asset_event.id
        assert detail["lineage"]["parent_asset_ids"] == ["characters-1"] and detail["lineage"]["model"]["id"] == "helix/tiny-llama"
        assert detail["sidecar"]["provenance"] == {"model": "helix/tiny-llama@r1"} and detail["sidecar_error"] is None
        assert detail["job_id"] == job_id and detail["sha256"] == asset_event.data.sha256

        download = (await client.get(f"/assets/{asset_id}/download")).json()
        expires = datetime.fromisoformat(download["expires_at"])
        assert 0 < (expires - datetime.now(UTC)).total_seconds() <= stack.settings.presign_seconds
        async with httpx.AsyncClient() as plain:
            fetched = await plain.get(download["url"])
        assert fetched.status_code == 200 and fetched.content == content
        assert "X-Amz-Expires=300" in download["url"]

        decision = ReviewApproved(
            production_id=pid, decision_id="d-1", asset_id=asset_id, kind=AssetKind.SCRIPT, reviewer=Actor(subject="rhea"), decided_at=datetime.now(UTC)
        )
        await producer.publish(decision)
        approved = await poll(client, f"/assets/{asset_id}", lambda r: r.json()["review_status"] == "approved", what="approval")
        assert approved.json()["decided_by"] == "rhea"


async def test_asset_listing_pages_by_keyset(stack: Stack, producer: HelixBus) -> None:
    pid = (await create_production(stack))["production_id"]
    frames = [stored_asset_event(stack.settings, pid, kind=AssetKind.FRAME, content=f"frame {i}".encode()) for i in range(3)]
    script = stored_asset_event(stack.settings, pid)
    for event in (*frames, script):
        await producer.publish_event(event)
    async with stack.client(stack.token("rhea", "reviewer", productions=[pid])) as client:
        await poll(client, f"/productions/{pid}/assets?limit=10", lambda r: len(r.json()["items"]) == 4, what="four assets")
        first = (await client.get(f"/productions/{pid}/assets", params={"kind": "frame", "limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (await client.get(f"/productions/{pid}/assets", params={"kind": "frame", "limit": 2, "cursor": first["next_cursor"]})).json()
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        seen = [a["asset_id"] for a in first["items"] + second["items"]]
        assert sorted(seen) == sorted(e.data.asset_id for e in frames), "every frame once, no script"
        times = [a["created_at"] for a in first["items"] + second["items"]]
        assert times == sorted(times, reverse=True), "newest first"
        broken = await client.get(f"/productions/{pid}/assets", params={"cursor": "not-a-cursor"})
        assert _assert_problem(broken, 422)["type"] == "urn:helix:problem:invalid-cursor"


async def test_errors_are_problem_details(stack: Stack) -> None:
    async with stack.client() as anonymous:
        unauthenticated = await anonymous.get("/productions")
        assert _assert_problem(unauthenticated, 401)["detail"]
        assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
        forged = await anonymous.get("/productions", headers={"Authorization": "Bearer not.a.jwt"})
        assert "refused" in _assert_problem(forged, 401)["detail"]
        assert forged.headers["www-authenticate"].endswith('error="invalid_token"')
    admin = stack.token("root", "admin")
    async with stack.client(admin) as client:
        missing = _assert_problem(await client.get("/productions/nothing-here"), 404)
        assert "nothing-here" in missing["detail"]
        invalid = _assert_problem(await client.post("/productions", json={"title": "", "logline": "x", "extra": 1}), 422)
        assert {tuple(e["loc"]) for e in invalid["errors"]} == {("body", "title"), ("body", "extra")}
        assert _assert_problem(await client.get("/jobs/.hidden"), 422)["errors"][0]["loc"] == ["path", "job_id"]
        assert _assert_problem(await client.get("/jobs/..%2F..%2Fetc"), 404)  # no route: still a problem
        assert _assert_problem(await client.post("/productions", content=b"{not json", headers={"content-type": "application/json"}), 422)
        # errors from the review service keep its message and their meaning
        unknown_item = _assert_problem(await client.get("/reviews/items/0123456789abcdef"), 404)
        assert unknown_item["type"] == "urn:helix:problem:review:not_found" and unknown_item["detail"]
        no_notes = _assert_problem(await client.post("/reviews/items/0123456789abcdef/decision", json={"outcome": "revision_requested"}), 422)
        assert "notes" in no_notes["detail"]
        assert _assert_problem(await client.post("/consents/no-such-consent/revoke", json={"reason": "typo"}), 404)["detail"]


async def test_what_the_gateway_accepts_a_service_can_do(stack: Stack) -> None:
    """One contract from the HTTP edge to the service: the same models and registries (levels,
    locales) decide, so a request the service would refuse is a 422 with the reason, not a 202."""
    production = await create_production(stack)
    pid = production["production_id"]
    async with stack.client(stack.token("dora", "director", productions=[pid])) as client:
        no_content = _assert_problem(await client.post(f"/productions/{pid}/requests/level-rewrite",
                                                       json={"script_id": "script-x", "level": "title", "content": None}), 422)
        assert "content is not a title level" in no_content["detail"]
        wrong_shape = _assert_problem(await client.post(f"/productions/{pid}/requests/level-rewrite",
                                                        json={"script_id": "script-x", "level": "characters", "content": [{"name": "MARA"}]}), 422)
        assert "description" in wrong_shape["detail"]
        unknown_locale = _assert_problem(await client.post(f"/productions/{pid}/requests/localization",
                                                           json={"source_asset_id": "script-x-script", "target_locales": ["xx-YY"]}), 422)
        assert "'xx-YY' is not a locale CLDR knows" in unknown_locale["detail"]
        too_big_seed = _assert_problem(await client.post(f"/productions/{pid}/requests/scene", json={"prompt": "a cliff", "seed": 2**53}), 422)
        assert too_big_seed["errors"][0]["loc"] == ["body", "seed"]
        fine = await client.post(f"/productions/{pid}/requests/scene", json={"prompt": "a cliff", "seed": 2**53 - 1})
        assert fine.status_code == 202, fine.text
        jobs = (await client.get(f"/productions/{pid}/jobs")).json()["items"]
        assert [j["job_id"] for j in jobs] == [fine.json()["job_id"]], "a refused request leaves no job behind"
    async with stack.client(stack.token("root", "admin")) as admin:
        for route in ("", "/tree", "/jobs", "/assets", "/ledger", "/credits", "/events"):
            missing = _assert_problem(await admin.get(f"/productions/no-such-production{route}"), 404)
            assert "no-such-production" in missing["detail"], route
        not_allowed = await admin.delete("/productions")
        assert not_allowed.status_code == 405 and set(not_allowed.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


async def test_request_bodies_over_the_limit_are_refused_before_they_are_read(stack: Stack) -> None:
    limit = stack.settings.max_body_bytes
    huge = b'{"title": "x", "logline": "' + b"y" * (limit + 10) + b'"}'
    async with stack.client(stack.token("root", "admin")) as client:
        declared = _assert_problem(await client.post("/productions", content=huge, headers={"content-type": "application/json"}), 413)
        assert f"{limit:,} bytes" in declared["detail"]

        async def chunks():  # no Content-Length: counted as it streams
            for start in range(0, len(huge), 64 * 1024):
                yield huge[start:start + 64 * 1024]

        streamed = await client.post("/productions", content=chunks(), headers={"content-type": "application/json"})
        assert _assert_problem(streamed, 413)
        fine = await client.post("/productions", json={"title": "Small", "logline": "A small production."})
        assert fine.status_code == 201, "the gateway goes on serving"


async def test_review_flow_through_the_gateway(stack: Stack, producer: HelixBus) -> None:
    """A person who asked for an asset cannot approve it; another reviewer can, and the
    decision comes back over Kafka into the read model and the live stream."""
    pid = (await create_production(stack))["production_id"]
    dora = stack.token("dora", "director", "reviewer", productions=[pid])
    rhea = stack.token("rhea", "reviewer", productions=[pid])
    async with stack.client(dora) as as_dora, stack.client(rhea) as as_rhea, stack.client(stack.token("root", "admin")) as as_admin:
        job_id = (await as_dora.post(f"/productions/{pid}/requests/script", json={})).json()["job_id"]
        # Only the gateway's read model knows who asked: the asset event does not say.
        event = stored_asset_event(stack.settings, pid, job_id=job_id, requested_by=None)
        await producer.publish_event(event)
        queue = await poll(as_rhea, "/reviews/queue", lambda r: len(r.json()["items"]) == 1, what="queued item")
        item = queue.json()["items"][0]
        assert item["asset"]["asset_id"] == event.data.asset_id and item["status"] == "pending"
        await poll(as_dora, f"/assets/{event.data.asset_id}", lambda r: r.status_code == 200, what="asset projection")

        claimed = await as_dora.post("/reviews/claim", json={"lease_seconds": 60})
        assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "dora"
        refused = _assert_problem(await as_dora.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved"}), 403)
        assert "requested" in refused["detail"]
        assert (await as_dora.post(f"/reviews/items/{item['item_id']}/release")).status_code == 200
        assert (await as_dora.post("/reviews/claim", json={})).json()["item_id"] == item["item_id"]
        assert (await as_dora.post(f"/reviews/items/{item['item_id']}/release")).status_code == 200

        async with _events(stack, rhea, pid) as received:
            assert (await as_rhea.post("/reviews/claim")).json()["item_id"] == item["item_id"]
            assert (await as_rhea.post("/reviews/claim")).json()["item_id"] == item["item_id"], "a retried claim: same item"
            assert (await as_dora.post("/reviews/claim")).status_code == 204, "rhea holds the only item"
            decision = await as_rhea.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": "approved", "notes": "good"})
            assert decision.status_code == 200, decision.text
            assert decision.json()["outcome"] == "approved" and decision.json()["reviewer"]["subject"] == "rhea"
            await _wait_for(received, lambda e: e["event"] == "helix.review.approved")
        live = [e for e in received if e["event"] == "helix.review.approved"][0]
        assert json.loads(live["data"])["id"] == decision.json()["event_id"] == live["id"]
        approved = (await as_rhea.get(f"/assets/{event.data.asset_id}")).json()
        assert approved["review_status"] == "approved" and approved["decided_by"] == "rhea"
        audit = (await as_admin.get("/audit", params={"item_id": item["item_id"]})).json()["items"]
        assert any(e["action"] == "decision.approved" and e["actor"]["subject"] == "rhea" for e in audit), audit


async def test_time_notes_on_a_clip_reach_the_bus_and_come_back(stack: Stack, producer: HelixBus) -> None:
    """A revision request with time notes, through the real gateway and review service: the
    decision on Kafka carries each moment, and the decision the gateway answers shows them."""
    pid = (await create_production(stack))["production_id"]
    rhea = stack.token("rhea", "reviewer", productions=[pid])
    async with stack.client(rhea) as as_rhea:
        event = stored_asset_event(stack.settings, pid, kind=AssetKind.CLIP, content=b"\x00\x00\x00\x18ftypmp42", media_type="video/mp4",
                                   ext="mp4", asset_id="clip-clp-j1-s1-shot1")
        await producer.publish_event(event)
        await poll(as_rhea, "/reviews/queue", lambda r: len(r.json()["items"]) == 1, what="queued clip")
        item_id = (await as_rhea.post("/reviews/claim")).json()["item_id"]
        moments = [{"start_s": 0.5, "note": "the pan starts late"}, {"start_s": 1.0, "end_s": 1.75, "note": "too fast"}]
        answer = await as_rhea.post(f"/reviews/items/{item_id}/decision",
                                    json={"outcome": "revision_requested", "notes": "smoother", "timecodes": moments})
        assert answer.status_code == 200, answer.text
        assert [(t["start_s"], t["end_s"], t["note"]) for t in answer.json()["timecodes"]] == \
            [(0.5, None, "the pan starts late"), (1.0, 1.75, "too fast")]
        records = await read_topic_async(stack.settings, Topic.REVIEW_DECISIONS, count=100, timeout=10)
        sent = [json.loads(r.value()) for r in records if json.loads(r.value())["data"]["asset_id"] == event.data.asset_id]
        assert len(sent) == 1 and sent[0]["type"] == "helix.review.revision_requested"
        assert [(t["start_s"], t.get("end_s"), t["note"]) for t in sent[0]["data"]["timecodes"]] == \
            [(0.5, None, "the pan starts late"), (1.0, 1.75, "too fast")]


@contextlib.asynccontextmanager
async def _events(stack: Stack, tok: str, production_id: str) -> AsyncIterator[list[dict[str, str]]]:
    """Read a production's SSE stream in the background into a list of {event, id, data}."""
    received: list[dict[str, str]] = []
    opened = asyncio.Event()

    async def read() -> None:
        async with stack.client(tok) as client, client.stream("GET", f"/productions/{production_id}/events") as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            opened.set()
            current: dict[str, str] = {}
            async for line in response.aiter_lines():
                if not line:
                    if "event" in current:
                        received.append(current)
                    current = {}
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    current[field] = value.removeprefix(" ")

    reader = asyncio.create_task(read())
    await asyncio.wait([reader, asyncio.create_task(opened.wait())], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if reader.done():
        reader.result()
    assert opened.is_set(), "stream did not open"
    # The subscription is registered before the response starts, so events from here on arrive.
    try:
        yield received
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _wait_for(received: list[dict[str, str]], check: Any, timeout: float = 30) -> dict[str, str]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for event in received:
            if check(event):
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no such event within {timeout} s; got {received}")


async def test_live_stream_carries_its_production_only(stack: Stack, producer: HelixBus) -> None:
    mine = (await create_production(stack))["production_id"]
    other = (await create_production(stack))["production_id"]
    tok = stack.token("dora", "director", productions=[mine, other])
    async with _events(stack, tok, mine) as received, stack.client(tok) as client:
        foreign = await producer.publish(job_event(JobProgress, other, "job-other", step="frames", fraction=0.5))
        # once the gateway has projected the other production's event, it has also fanned it out
        await poll(client, "/jobs/job-other", lambda r: r.status_code == 200, what="other production's job")
        own = await producer.publish(job_event(JobProgress, mine, "job-mine", step="dialogue", fraction=0.75))
        first = await _wait_for(received, lambda e: True)
    assert first["event"] == "helix.job.progress" and first["id"] == own.id
    data = json.loads(first["data"])
    assert data["subject"] == mine and data["data"]["job_id"] == "job-mine" and data["data"]["fraction"] == 0.75
    assert foreign.id not in {e["id"] for e in received}


def test_migrations_build_the_read_model_schema(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from helix_gateway.readmodel import make_engine, migrate
    from helix_gateway.readmodel.tables import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'rm.db'}")
    migrate(engine)
    migrate(engine)  # a second run is a no-op
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == {"productions", "jobs", "assets", "gateway_alembic_version"}
    for table in Base.metadata.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys()), table.name
    indexed = {i["name"] for i in inspector.get_indexes("assets")}
    assert {"ix_assets_production", "ix_assets_production_kind"} <= indexed


def test_slow_live_subscribers_are_dropped_not_waited_for() -> None:
    from helix_gateway.fanout import CLOSED_EVENT, DROPPED_EVENT, Fanout, LiveEvent

    async def scenario() -> None:
        fanout = Fanout(queue_size=2)
        slow, other = fanout.subscribe("p1"), fanout.subscribe("p2")
        for n in range(5):  # never blocks, however far behind the subscriber is
            fanout.publish("p1", LiveEvent(str(n), "helix.job.progress", "{}"))
        assert fanout.subscriber_count("p1") == 0 and fanout.subscriber_count("p2") == 1
        got = [e async for e in slow.events()]
        assert [e.id for e in got[:2]] == ["0", "1"] and got[-1].type == DROPPED_EVENT and len(got) == 3
        fanout.close()
        assert [e.type async for e in other.events()] == [CLOSED_EVENT]

    asyncio.run(scenario())


def test_console_script_serves_until_terminated(infra_env: dict[str, str], tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from helix.auth import mint_token
    from helix_dev.infra.process import free_port
    from helix_gateway.settings import GatewaySettings

    settings = make_settings(infra_env, tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "HELIX_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "HELIX_S3_ENDPOINT": settings.s3_endpoint,
        "HELIX_S3_ACCESS_KEY": settings.s3_access_key,
        "HELIX_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        "HELIX_TOPIC_NAMESPACE": settings.topic_namespace,
        "HELIX_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
        "HELIX_AUTH_SECRET": "console-" + "c" * 40,
        "HELIX_HTTP_PORT": str(port),
        "HELIX_REVIEW_GRPC_ADDRESS": "127.0.0.1:1",
    }
    process = subprocess.Popen([str(Path(sys.executable).with_name("helix-gateway"))], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, "the gateway process never became ready"
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["info"]["title"] == "Helix gateway"
        # nothing listens at the review address: its calls answer 503, not 500
        tok = mint_token(GatewaySettings(auth_secret=env["HELIX_AUTH_SECRET"]), "root", ["admin"])
        away = httpx.post(f"http://127.0.0.1:{port}/productions", json={"title": "T", "logline": "L"}, headers={"Authorization": f"Bearer {tok}"})
        assert away.status_code == 503 and away.headers["content-type"] == PROBLEM
        assert away.json()["detail"].startswith("the review service is not answering")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    # uvicorn re-raises the signal it handled once shutdown is complete
    assert process.returncode in (0, -signal.SIGTERM), output[-3000:]
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = [entry.get("event") for entry in logged]
    assert "gateway.bus_started" in events and "Application shutdown complete." in events, output[-3000:]
    assert any(entry.get("service") == "gateway" and entry.get("trace_id") for entry in logged), "request logs carry the trace id"
