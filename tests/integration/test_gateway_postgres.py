"""The gateway's read model on PostgreSQL: migrations, projections, keyset pages, requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from helix.bus import HelixBus
from helix.events import JobCompleted, JobProgress, ReviewRejected
from helix.events.data import Actor, AssetKind
from helix.settings import HelixSettings
from tests.integration.gateway_harness import create_production, gateway_stack, job_event, poll, stored_asset_event

pytestmark = [pytest.mark.infra, pytest.mark.postgres]


async def test_read_model_on_postgres(settings: HelixSettings, postgres_url: str, tmp_path: Path) -> None:
    async with gateway_stack(settings, tmp_path, database_url=postgres_url) as stack:
        assert stack.app.state.gateway.read_model.engine.dialect.name == "postgresql"
        pid = (await create_production(stack, target_locales=["de-DE"], performers=["Mara Quinn"]))["production_id"]
        async with stack.client(stack.token("root", "admin")) as client, HelixBus(stack.settings, source="/helix/writer") as writer:
            job_id = (await client.post(f"/productions/{pid}/requests/script", json={})).json()["job_id"]
            events = [stored_asset_event(stack.settings, pid, kind=AssetKind.FRAME, content=f"frame {i}".encode(), job_id=job_id) for i in range(3)]
            await writer.publish(job_event(JobProgress, pid, job_id, step="frames", fraction=0.5))
            for event in events:
                await writer.publish_event(event)
            await writer.publish(job_event(JobCompleted, pid, job_id, asset_ids=[e.data.asset_id for e in events]))
            job = (await poll(client, f"/jobs/{job_id}", lambda r: r.json()["status"] == "completed", what="completed job")).json()
            assert job["asset_ids"] == [e.data.asset_id for e in events] and job["requested_by"] == "root"

            await poll(client, f"/productions/{pid}/assets", lambda r: len(r.json()["items"]) == 3, what="three assets")
            first = (await client.get(f"/productions/{pid}/assets", params={"kind": "frame", "limit": 2})).json()
            rest = (await client.get(f"/productions/{pid}/assets", params={"kind": "frame", "limit": 2, "cursor": first["next_cursor"]})).json()
            assert rest["next_cursor"] is None
            assert sorted(a["asset_id"] for a in first["items"] + rest["items"]) == sorted(e.data.asset_id for e in events)

            rejected = events[0].data
            decision = ReviewRejected(
                production_id=pid, decision_id="d-pg", asset_id=rejected.asset_id, kind=rejected.kind,
                reviewer=Actor(subject="rhea"), decided_at=rejected.generated_at, notes="too dark",
            )
            await writer.publish(decision)
            detail = await poll(client, f"/assets/{rejected.asset_id}", lambda r: r.json()["review_status"] == "rejected", what="rejection")
            assert detail.json()["review_notes"] == "too dark" and detail.json()["sidecar"]["asset_id"] == rejected.asset_id
            assert [p["production_id"] for p in (await client.get("/productions")).json()["items"]] == [pid]
