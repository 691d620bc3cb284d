"""Kafka requests to the visual service (`helix.visual.requests.v1`) → its domain steps.

Each request is one kit job; `steps()` says which step answers which request type. Requests
run side by side as they arrive, so the engine batches the images of many jobs together.
"""

from __future__ import annotations

from typing import Any

from helix.events import (
    ClipRequested,
    FrameRequested,
    FramesRedrawRequested,
    GenerationRequest,
    ImageRevisionRequested,
    ReferenceSheetRequested,
    ReferenceUploaded,
    SceneRequested,
    TextureRequested,
)
from helix.generation import Job
from helix.generation.service import Step
from helix_visual.clips import make_clip
from helix_visual.frames import render_frames
from helix_visual.motion import Motion
from helix_visual.plates import render_plate
from helix_visual.redraws import redraw_frames
from helix_visual.rendering import Renderer
from helix_visual.revisions import revise_image
from helix_visual.sheets import render_sheets
from helix_visual.textures import render_texture
from helix_visual.uploads import keep_upload


class VisualRequests:
    def __init__(self, renderer: Renderer, motion: Motion) -> None:
        self.renderer = renderer
        self.motion = motion

    def steps(self) -> dict[type[GenerationRequest], Step]:
        return {
            FrameRequested: self.frames,
            SceneRequested: self.plate,
            TextureRequested: self.texture,
            ImageRevisionRequested: self.revision,
            FramesRedrawRequested: self.redraw,
            ReferenceSheetRequested: self.sheets,
            ReferenceUploaded: self.upload,
            ClipRequested: self.clip,
        }

    async def frames(self, job: Job[Any]) -> list[str]:
        return await render_frames(self.renderer, job)

    async def plate(self, job: Job[Any]) -> list[str]:
        return await render_plate(self.renderer, job)

    async def texture(self, job: Job[Any]) -> list[str]:
        return await render_texture(self.renderer, job)

    async def revision(self, job: Job[Any]) -> list[str]:
        return await revise_image(self.renderer, job)

    async def redraw(self, job: Job[Any]) -> list[str]:
        return await redraw_frames(self.renderer, job)

    async def sheets(self, job: Job[Any]) -> list[str]:
        return await render_sheets(self.renderer, job)

    async def upload(self, job: Job[Any]) -> list[str]:
        return await keep_upload(self.renderer, job)

    async def clip(self, job: Job[Any]) -> list[str]:
        return await make_clip(self.renderer, self.motion, job)
