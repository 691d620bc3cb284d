"""The ledger, credits and attribution endpoints and `helix report`, on the real stack: a
queue of every kind, decided by a reviewer, then reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from helix.cli import app as helix_cli
from tests.conftest import make_settings
from tests.integration.console_seed import Seeded, seed_every_kind
from tests.integration.gateway_harness import Stack, create_production, gateway_stack, poll

pytestmark = pytest.mark.infra


@dataclass
class World:
    stack: Stack
    seeded: Seeded


@pytest_asyncio.fixture(scope="module")
async def world(infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("reports")
    async with gateway_stack(make_settings(infra_env, folder), folder) as stack:
        pid = (await create_production(stack))["production_id"]
        seeded = await seed_every_kind(stack.settings, pid, requested_by="dora")
        async with stack.client(stack.token("rhea", "reviewer", productions=[pid])) as rhea:
            await poll(rhea, "/reviews/queue?limit=100", lambda r: len(r.json()["items"]) == seeded.items, what="the seeded queue")
            while (claimed := await rhea.post("/reviews/claim", json={})).status_code == 200:
                item = claimed.json()
                outcome = "rejected" if item["asset"]["kind"] == "scene" else "approved"
                decided = await rhea.post(f"/reviews/items/{item['item_id']}/decision", json={"outcome": outcome, "notes": "seen"})
                assert decided.status_code == 200, decided.text
            async with stack.client(stack.token("dora", "director", productions=[pid])) as dora:
                await poll(dora, f"/productions/{pid}/ledger", lambda r: r.status_code == 200 and sum(
                    e["review_status"] != "pending" for e in r.json()["entries"]) == seeded.items, what="decisions in the read model")
        yield World(stack, seeded)


async def test_ledger_adds_up_model_queue_and_review_time(world: World) -> None:
    pid = world.seeded.production_id
    async with world.stack.client(world.stack.token("dora", "director", productions=[pid])) as dora:
        ledger = (await dora.get(f"/productions/{pid}/ledger")).json()
    entries = ledger["entries"]
    assert len(entries) == world.seeded.items == ledger["total"]["assets"]
    ai = [e for e in entries if e["model"]]
    assert ledger["total"]["model_seconds"] == pytest.approx(0.8 * len(ai), abs=0.01)  # what the generator reported
    assert all(e["review_seconds"] > 0 and e["review_wait_seconds"] >= e["review_seconds"] for e in entries)
    assert set(ledger["by_kind"]) == {"script", "dialogue", "storyboard", "frame", "scene", "texture", "subtitles", "voiceover"}
    assert ledger["finished_minutes"] == pytest.approx((4 + 5 + 6) / 60, abs=0.001)  # the approved storyboard's shots
    assert ledger["per_finished_minute"]["review_seconds"] == pytest.approx(ledger["total"]["review_seconds"] / ledger["finished_minutes"],
                                                                            rel=0.01)


async def test_credits_and_attribution(world: World) -> None:
    pid = world.seeded.production_id
    async with world.stack.client(world.stack.token("dora", "director", productions=[pid])) as dora:
        credits = (await dora.get(f"/productions/{pid}/credits")).json()
        markdown = await dora.get(f"/productions/{pid}/credits", params={"format": "markdown"})
        dialogue_id = world.seeded.by_kind["dialogue"][0]
        attribution = (await dora.get(f"/assets/{dialogue_id}/attribution")).json()
    assert credits["not_approved"] == 1  # the rejected scene
    people = {p["person"]: p for p in credits["people"]}
    assert people["rhea"]["reviewed"] == len(credits["assets"])
    assert people["dora"]["selected_lines"] == 1 and people["dora"]["human_parts"] >= 2  # a title and a line
    assert markdown.headers["content-type"].startswith("text/markdown") and "## People" in markdown.text
    assert [(line["line_id"], line["author"]) for line in attribution["lines"]] == [("s1-l1", "ai"), ("s1-l2", "human"), ("s1-l3", "ai")]


async def test_helix_report_prints_the_ledger_and_writes_the_chart(world: World, tmp_path: Path) -> None:
    pid = world.seeded.production_id
    chart = tmp_path / "report.png"
    token = world.stack.token("dora", "director", productions=[pid])
    args = ["report", pid, "--gateway", world.stack.url, "--token", token, "--chart", str(chart)]
    result = await asyncio.to_thread(CliRunner().invoke, helix_cli, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"Ledger of {pid}" in result.output and "voiceover" in result.output and "Per finished minute" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5_000
    refused = await asyncio.to_thread(CliRunner().invoke, helix_cli, ["report", pid, "--gateway", world.stack.url, "--token", "nope"])
    assert refused.exit_code == 1 and "refused (401)" in refused.output
