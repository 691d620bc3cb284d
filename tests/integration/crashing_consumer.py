"""A consumer that dies (hard, like a killed pod) while handling, before it can commit.

Run by test_redelivery.py as a separate process: `python -m tests.integration.crashing_consumer
SETTINGS_JSON MARKER_FILE`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from helix.bus import HelixBus
from helix.events import CloudEvent, Topic
from helix.settings import HelixSettings


async def main(settings_json: str, marker: Path) -> None:
    settings = HelixSettings.model_validate_json(settings_json)
    bus = HelixBus(settings, source="/helix/tests/crashing")

    @bus.consumer(Topic.WRITER_REQUESTS, group="writers")
    async def die_midway(event: CloudEvent[Any]) -> None:
        marker.write_text(event.id)
        os._exit(17)  # no commit, no graceful leave: the broker must notice on its own

    async with bus:
        await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
