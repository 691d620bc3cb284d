"""Kafka requests to the localize service (`helix.localize.requests.v1`) → its domain steps.

Two request types, one step each (`steps`): a localization (`Localizer.run`) and an animatic
(`Editor.cut`). Each request is a kit job; the requests of a poll run side by side so the
translation and speech engines batch their lines together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from helix.events import AnimaticRequested, CloudEvent, LocalizeRequested
from helix.generation import GeneratorKit, Job
from helix_localize.animatic import Editor
from helix_localize.localize import Localizer

HANDLED = (LocalizeRequested, AnimaticRequested)


class LocalizeRequests:
    def __init__(self, kit: GeneratorKit, localizer: Localizer, editor: Editor) -> None:
        self.kit = kit
        self.steps: dict[type, Callable[[Job], Awaitable[list[str]]]] = {
            LocalizeRequested: localizer.run,
            AnimaticRequested: editor.cut,
        }

    async def handle(self, events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        return await self.kit.run_all(events, self.work)

    async def work(self, job: Job) -> list[str]:
        return await self.steps[type(job.request)](job)
