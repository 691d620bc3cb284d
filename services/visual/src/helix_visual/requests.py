"""Kafka requests to the visual service (`helix.visual.requests.v1`) → its domain steps.

Each request is one kit job (`GeneratorKit.run_all`: lifecycle, retries, resume, one
outcome per request); `STEPS` says which step answers which request type. The requests of
one poll run concurrently, so the engine can batch their images.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from helix.events import CloudEvent, FrameRequested, SceneRequested, TextureRequested
from helix.generation import GeneratorKit, Job
from helix_visual.frames import render_frames
from helix_visual.plates import render_plate
from helix_visual.rendering import Renderer
from helix_visual.textures import render_texture

STEPS: dict[type, Callable[[Renderer, Job], Awaitable[list[str]]]] = {
    FrameRequested: render_frames,
    SceneRequested: render_plate,
    TextureRequested: render_texture,
}
HANDLED = tuple(STEPS)


class VisualRequests:
    def __init__(self, kit: GeneratorKit, renderer: Renderer) -> None:
        self.kit = kit
        self.renderer = renderer

    async def handle(self, events: list[CloudEvent[Any]]) -> list[BaseException | None]:
        return await self.kit.run_all(events, self.work)

    async def work(self, job: Job) -> list[str]:
        return await STEPS[type(job.request)](self.renderer, job)
