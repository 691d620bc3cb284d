"""Kafka requests to the localize service (`helix.localize.requests.v1`) → its domain steps.

One request type, one step (`STEPS`); each request is a kit job, the requests of a poll run
side by side so the translation and speech engines batch their lines together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from helix.events import CloudEvent, LocalizeRequested
from helix.generation import GeneratorKit, Job
from helix_localize.localize import Localizer

STEPS: dict[type, Callable[[Localizer, Job], Awaitable[list[str]]]] = {
    LocalizeRequested: Localizer.run,
}
HANDLED = tuple(STEPS)


class LocalizeRequests:
    def __init__(self, kit: GeneratorKit, localizer: Localizer) -> None:
        self.kit = kit
        self.localizer = localizer

    async def handle(self, events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        return await self.kit.run_all(events, self.work)

    async def work(self, job: Job) -> list[str]:
        return await STEPS[type(job.request)](self.localizer, job)
