"""At-least-once: a consumer that dies before committing loses nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helix.bus import HelixBus
from helix.events import CloudEvent, ScriptRequested, Topic
from helix.events.examples import example
from helix.settings import HelixSettings
from tests.conftest import REPO
from tests.integration.kafka_helpers import eventually

pytestmark = pytest.mark.infra


async def test_event_is_redelivered_to_the_replacement_of_a_crashed_consumer(settings: HelixSettings, tmp_path: Path) -> None:
    producer = HelixBus(settings, source="/helix/tests/producer")
    async with producer:
        event = await producer.publish(example(ScriptRequested))

    marker = tmp_path / "handled-by-crashed-consumer"
    payload = settings.model_dump(mode="json")
    payload["s3_secret_key"] = settings.s3_secret_key.get_secret_value()
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.integration.crashing_consumer", json.dumps(payload), str(marker)],
        cwd=REPO, timeout=120, capture_output=True, text=True,
    )
    assert crashed.returncode == 17, crashed.stderr[-2000:]
    assert marker.read_text() == event.id, "the first consumer got the event, then died"

    replacement = HelixBus(settings, source="/helix/tests/replacement")
    received: list[CloudEvent[Any]] = []

    @replacement.consumer(Topic.WRITER_REQUESTS, group="writers")
    async def handle(ev: CloudEvent[Any]) -> None:
        received.append(ev)

    started = time.monotonic()
    async with replacement:
        # The broker hands the partition over once the dead member's session expires.
        await eventually(lambda: len(received) >= 1, timeout=60, what="redelivery")
    assert received[0].id == event.id
    assert isinstance(received[0].data, ScriptRequested)
    assert time.monotonic() - started < 60
