"""visual.proto's VisualService: live storyboard previews over a bidirectional stream.

Edits arrive on the request stream; one worker renders the newest edit at a few steps on
the engine (interactive priority: ahead of queued batch work). A newer edit cancels the
render in flight; a finished frame is sent only if no newer edit has arrived meanwhile,
so a director never sees an older edit's frame after a newer one's. An edit may carry a
shot's layout (who stands where): where the model has a layout ControlNet, the preview follows
it, so a director moving people around sees the frame follow; and with `cast` (or a `place`),
where the model has an IP-Adapter, the production's kept cast, as frames keep it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import structlog

from helix.auth import Role, TokenVerifier
from helix.events.data import ID_PATTERN
from helix.grpc import abort_for, authorize, cancel_all
from helix.layout import layout
from helix.story import Blocking, Camera, CameraAngle, Facing, Placement, Shot, ShotType
from helix.v1 import visual_pb2, visual_pb2_grpc
from helix_visual import prompts
from helix_visual.cast import approved_cast
from helix_visual.engine import INTERACTIVE, ImageEngine, ImageSpec
from helix_visual.frames import shot_frame
from helix_visual.layout import sketch_png
from helix_visual.rendering import Renderer

log = structlog.get_logger("helix.visual.preview")
ALLOWED = (Role.DIRECTOR, Role.STUDIO_SYSTEM)
_ID = re.compile(ID_PATTERN)


class InvalidEdit(ValueError):
    pass


class VisualServicer(visual_pb2_grpc.VisualServiceServicer):
    def __init__(self, renderer: Renderer, verifier: TokenVerifier) -> None:
        self.renderer = renderer
        self.engine: ImageEngine = renderer.engine
        self.verifier = verifier
        self.settings = renderer.settings

    def spec(self, edit: visual_pb2.PreviewEdit) -> ImageSpec:
        if not _ID.fullmatch(edit.production_id):
            raise InvalidEdit(f"production_id must match {ID_PATTERN}")
        if not edit.prompt.strip() or len(edit.prompt) > 4000:
            raise InvalidEdit("the prompt must have 1-4000 characters")
        side = self.settings.visual_preview_max_side
        width, height = edit.width or 256, edit.height or 256
        if not (64 <= width <= side and 64 <= height <= side):
            raise InvalidEdit(f"preview sizes are 64-{side} pixels a side")
        model, _ = self.renderer.pipeline(edit.model or None)
        steps = min(edit.steps or self.settings.visual_preview_steps, self.settings.visual_preview_steps)
        seed = edit.seed if edit.HasField("seed") else prompts.stable_seed(edit.production_id, "preview")
        sketch = self.layout_sketch(edit, width, height) if edit.HasField("layout") else None
        spec = ImageSpec(model=model, prompt=prompts.with_style(edit.prompt, edit.style or None), width=width, height=height, steps=steps,
                         guidance_scale=edit.guidance_scale, seed=seed, negative_prompt=edit.negative_prompt or None,
                         layout_image=sketch, layout_scale=self.settings.visual_layout_scale)
        return self.renderer.checked(spec)[0]

    def layout_sketch(self, edit: visual_pb2.PreviewEdit, width: int, height: int) -> bytes:
        """The edit's shot layout as the sketch its model's layout ControlNet reads."""
        _, facts = self.renderer.pipeline(edit.model or None)
        if facts.layout is None:
            raise InvalidEdit(f"model {edit.model or 'default'!r} has no layout ControlNet (HELIX_VISUAL_LAYOUT_MODEL)")
        return sketch_png(layout(self.shot(edit)), width, height)

    async def with_cast(self, edit: visual_pb2.PreviewEdit, spec: ImageSpec) -> ImageSpec:
        """The spec conditioned on the production's kept cast: the layout's characters masked to
        where they stand, the edit's place over the whole frame (`frames.shot_frame`'s rule)."""
        _, facts = self.renderer.pipeline(edit.model or None)
        if facts.references is None:
            raise InvalidEdit(f"model {edit.model or 'default'!r} takes no reference images (HELIX_VISUAL_REFERENCE_MODEL)")
        shot = self.shot(edit) if edit.HasField("layout") else None
        characters = set(shot.subjects) if shot else set()
        kept = await approved_cast(self.renderer, edit.production_id, characters)
        place = kept.place(edit.place) if edit.place else None
        if edit.place and place is None:
            raise InvalidEdit(f"{edit.place} has no approved establishing view in the cast")
        if shot is None:
            return replace(spec, references=(place.data,) if place else (), reference_scale=self.settings.visual_reference_scale)
        frame = shot_frame(shot, spec.prompt, spec.seed, {}, kept.characters, place=place, laid_out=False, width=spec.width,
                           height=spec.height)
        return replace(spec, references=frame.references, reference_masks=frame.masks, reference_scale=self.settings.visual_reference_scale)

    def shot(self, edit: visual_pb2.PreviewEdit) -> Shot:
        """The edit's layout as a shot (its size, who stands where, the camera)."""
        given = edit.layout
        try:
            placements = [Placement(character=p.character, x=p.x, depth=p.depth, facing=Facing(p.facing or Facing.CAMERA))
                          for p in given.placements]
            shot = Shot(shot_id="preview", shot_type=ShotType(given.shot_type or ShotType.MEDIUM), camera=Camera.STATIC,
                        subjects=[p.character for p in placements], action="", location="", duration_s=1,
                        blocking=Blocking(placements=placements, angle=CameraAngle(given.angle or CameraAngle.EYE_LEVEL),
                                          height_m=given.height_m or 1.6))
        except ValueError as exc:  # pydantic's ValidationError, or an unknown shot type, angle or facing
            raise InvalidEdit(f"the layout is not a shot's: {exc}") from None
        return shot

    async def PreviewFrames(  # noqa: N802
        self, request_iterator: AsyncIterator[visual_pb2.PreviewEdit], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[visual_pb2.PreviewFrame]:
        principal = await authorize(context, self.verifier, *ALLOWED, what="live preview")
        latest: asyncio.Queue[tuple[visual_pb2.PreviewEdit, float] | None] = asyncio.Queue()
        newest = {"edit_id": -1}
        out: asyncio.Queue[visual_pb2.PreviewFrame | BaseException | None] = asyncio.Queue()

        async def read_edits() -> None:
            try:
                async for edit in request_iterator:
                    if not principal.assigned_to(edit.production_id):
                        out.put_nowait(PermissionError(f"not assigned to production {edit.production_id}"))
                        return
                    newest["edit_id"] = max(newest["edit_id"], edit.edit_id)
                    latest.put_nowait((edit, time.perf_counter()))
            finally:
                latest.put_nowait(None)

        async def render_latest() -> None:
            current: asyncio.Task | None = None
            try:
                ended = False
                while not ended:
                    item = await latest.get()
                    while not latest.empty():  # skip to the newest edit waiting
                        nxt = latest.get_nowait()
                        item = item if nxt is None else nxt
                        ended = ended or nxt is None
                    if item is None:
                        break
                    if current is not None:
                        current.cancel()  # latest wins
                    current = asyncio.create_task(self._render(*item, newest, out))
                if current is not None:  # the client stopped sending: its last edit still gets its frame
                    with contextlib.suppress(asyncio.CancelledError):
                        await current
            finally:
                if current is not None and not current.done():
                    current.cancel()
                out.put_nowait(None)

        tasks = [asyncio.create_task(read_edits()), asyncio.create_task(render_latest())]
        try:
            while True:
                item = await out.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    await abort_for(context, item, service="visual")
                yield item
        finally:
            await cancel_all(tasks)

    async def _render(self, edit: visual_pb2.PreviewEdit, arrived: float, newest: dict[str, int],
                      out: asyncio.Queue) -> None:
        try:
            spec = self.spec(edit)
            if edit.cast or edit.place:
                spec = await self.with_cast(edit, spec)
            result = await self.engine.render(spec, priority=INTERACTIVE)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            out.put_nowait(exc)
            return
        if edit.edit_id < newest["edit_id"]:
            return  # a newer edit arrived while this one rendered: its frame is stale
        png = io.BytesIO()
        result.image.save(png, format="PNG")
        loaded = self.engine.models[spec.model]
        out.put_nowait(visual_pb2.PreviewFrame(edit_id=edit.edit_id, png=png.getvalue(), width=spec.width, height=spec.height,
                                               steps=spec.steps, seed=spec.seed, seconds=time.perf_counter() - arrived,
                                               model=f"{loaded.ref.id}@{loaded.ref.revision}"))


def add_to_server(server: grpc.aio.Server, renderer: Renderer, verifier: TokenVerifier) -> VisualServicer:
    servicer = VisualServicer(renderer, verifier)
    visual_pb2_grpc.add_VisualServiceServicer_to_server(servicer, server)
    return servicer
