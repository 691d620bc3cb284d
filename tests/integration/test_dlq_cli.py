"""`helix dlq` on the real broker: a handler with a bug dead-letters an event, a message that
is not even JSON dead-letters too; an operator lists them, reads one, fixes the bug and
replays: the event is handled once, exactly as it was first sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from helix.bus import HelixBus
from helix.cli import app as helix_cli
from helix.events import CloudEvent, JobProgress, Topic
from helix.events.examples import example
from helix.settings import HelixSettings
from tests.integration.kafka_helpers import eventually, produce_raw, read_topic

pytestmark = pytest.mark.infra


def helix(settings: HelixSettings, *args: str) -> Any:
    env = {"HELIX_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "HELIX_TOPIC_NAMESPACE": settings.topic_namespace, "COLUMNS": "250"}
    return CliRunner().invoke(helix_cli, list(args), env=env)


async def test_list_show_fix_and_replay(settings: HelixSettings) -> None:
    bus = HelixBus(settings, source="/helix/tests")
    broken = True
    handled: list[str] = []

    @bus.consumer(Topic.JOBS_STATUS, group="billing")
    async def billing(event: CloudEvent[Any]) -> None:
        if broken and event.data.step == "render":
            raise KeyError("render")  # the bug an operator will fix
        handled.append(event.id)

    async with bus:
        sent = await bus.publish(example(JobProgress, step="render"))
        produce_raw(settings, Topic.JOBS_STATUS, b"{not json")
        await bus.publish(example(JobProgress, step="after"))
        await eventually(lambda: len(handled) == 1, what="the message after the failures")
        assert len(read_topic(settings, Topic.DLQ, count=2)) == 2

        listed = await asyncio.to_thread(helix, settings, "dlq", "list", "--json")
        assert listed.exit_code == 0, listed.output
        rows = [json.loads(line) for line in listed.output.splitlines()]
        assert sorted(r["kind"] for r in rows) == ["handler_error", "not_json"]
        bug = next(r for r in rows if r["kind"] == "handler_error")
        assert bug["event_id"] == sent.id and bug["group"] == "billing" and "KeyError" in bug["reason"]
        assert bug["topic"] == settings.topic(Topic.JOBS_STATUS)

        table = await asyncio.to_thread(helix, settings, "dlq", "list", "--kind", "not_json")
        assert "1 dead-lettered messages" in table.output and "not_json" in table.output

        shown = await asyncio.to_thread(helix, settings, "dlq", "show", bug["coordinates"])
        assert shown.exit_code == 0 and "helix-dlq-reason" in shown.output and '"step": "render"' in shown.output

        missing = await asyncio.to_thread(helix, settings, "dlq", "replay", "0:999999")
        assert missing.exit_code == 1 and "no dead-lettered message" in missing.output
        dry = await asyncio.to_thread(helix, settings, "dlq", "replay", "--all", "--kind", "handler_error", "--dry-run")
        assert "would replay" in dry.output
        await asyncio.sleep(1.0)
        assert len(handled) == 1, "a dry run sends nothing"

        broken = False  # the fix is deployed
        replayed = await asyncio.to_thread(helix, settings, "dlq", "replay", bug["coordinates"])
        assert replayed.exit_code == 0 and "1 replayed" in replayed.output, replayed.output
        await eventually(lambda: sent.id in handled, what="the replayed event handled")
        again = await asyncio.to_thread(helix, settings, "dlq", "replay", bug["coordinates"])  # replayed twice by mistake
        assert again.exit_code == 0
        await asyncio.sleep(1.5)
    assert handled.count(sent.id) == 1, "the bus deduplicates a second replay"
    # Exactly as it was: the replayed records carry the original bytes and key.
    records = read_topic(settings, Topic.JOBS_STATUS, count=5)
    replays = [m for m in records if any(k == "helix-replayed-from" for k, _ in (m.headers() or []))]
    originals = [m for m in records if m not in replays and m.value() and m.value().startswith(b"{") and sent.id.encode() in m.value()]
    assert len(replays) == 2 and originals
    assert all(r.value() == originals[0].value() and r.key() == originals[0].key() for r in replays)
