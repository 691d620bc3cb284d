"""The live preview stream: latest edit wins, no stale frame after a newer one, tokens checked; a
director moving people in a shot's layout sees the preview follow; a preview keeps the approved
cast (its characters and place) when asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest

from helix.auth import TokenVerifier, mint_token
from helix.grpc import create_server
from helix.models.diffusion import LoadedPipeline
from helix.settings import HelixSettings
from helix.v1 import visual_pb2, visual_pb2_grpc
from helix_visual.engine import ImageEngine
from helix_visual.grpc_service import add_to_server
from helix_visual.images import decode
from helix_visual.rendering import Renderer
from helix_visual.settings import VisualSettings

from .conftest import Studio

SECRET = "visual-tests-" + "s" * 40


@pytest.fixture
async def stub(tiny_sd: LoadedPipeline) -> AsyncIterator[visual_pb2_grpc.VisualServiceStub]:
    async with serving(tiny_sd) as stub:
        yield stub


@pytest.fixture
async def laid_out_stub(tiny_sd_laid_out: LoadedPipeline) -> AsyncIterator[visual_pb2_grpc.VisualServiceStub]:
    async with serving(tiny_sd_laid_out) as stub:
        yield stub


@contextlib.asynccontextmanager
async def serving(pipeline: LoadedPipeline) -> AsyncIterator[visual_pb2_grpc.VisualServiceStub]:
    settings = VisualSettings(auth_secret=SECRET, visual_preview_steps=2)
    async with ImageEngine({"default": pipeline}, max_batch=4) as engine:
        server, port, _ = create_server("visual", address="127.0.0.1:0")
        add_to_server(server, Renderer(engine, None, settings, {}), TokenVerifier(settings))  # type: ignore[arg-type]
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield visual_pb2_grpc.VisualServiceStub(channel)
        finally:
            await server.stop(grace=None)


def bearer(*roles: str, productions: tuple[str, ...] = ("lighthouse",)) -> list[tuple[str, str]]:
    token = mint_token(HelixSettings(auth_secret=SECRET), "dana", list(roles), productions=list(productions))
    return [("authorization", f"Bearer {token}")]


def edit(n: int, **fields: object) -> visual_pb2.PreviewEdit:
    values: dict = {"production_id": "lighthouse", "edit_id": n, "prompt": f"lighthouse, take {n}", "width": 128, "height": 128, "seed": 5}
    values.update(fields)
    return visual_pb2.PreviewEdit(**values)


async def test_quick_edits_get_previews_and_never_a_stale_one(stub: visual_pb2_grpc.VisualServiceStub) -> None:
    async def edits() -> AsyncIterator[visual_pb2.PreviewEdit]:
        for n in range(1, 6):
            yield edit(n)
            await asyncio.sleep(0.005)  # a director typing

    frames = [f async for f in stub.PreviewFrames(edits(), metadata=bearer("director"))]
    ids = [f.edit_id for f in frames]
    assert ids and ids[-1] == 5, ids
    assert ids == sorted(set(ids)), f"no preview of an older edit after a newer one: {ids}"
    last = frames[-1]
    assert decode(last.png).size == (128, 128) and last.steps == 2 and last.seconds > 0 and "@sha256:" in last.model


async def closed_with(stub: visual_pb2_grpc.VisualServiceStub, metadata: list[tuple[str, str]] | None,
                      *edits: visual_pb2.PreviewEdit) -> tuple[grpc.StatusCode, str]:
    """The status a stream ends with. Edits are written before the status is awaited, and none
    when the refusal comes from the metadata alone, so the client never writes into a call the
    server has already closed (grpc reports that race as INTERNAL, not the server's status)."""
    call = stub.PreviewFrames(metadata=metadata)
    for one in edits:
        await call.write(one)
    if edits:
        await call.done_writing()
    return await call.code(), await call.details() or ""


async def test_an_unauthenticated_stream_is_refused(stub: visual_pb2_grpc.VisualServiceStub) -> None:
    code, _ = await closed_with(stub, None)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _ = await closed_with(stub, [("authorization", "Bearer forged.token.here")])
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_roles_and_productions_are_checked(stub: visual_pb2_grpc.VisualServiceStub) -> None:
    code, details = await closed_with(stub, bearer("reviewer"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "director" in details
    code, details = await closed_with(stub, bearer("director"), edit(1, production_id="other-show"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "other-show" in details


async def test_a_bad_edit_is_an_invalid_argument(stub: visual_pb2_grpc.VisualServiceStub) -> None:
    async def one() -> AsyncIterator[visual_pb2.PreviewEdit]:
        yield edit(1, width=100)

    with pytest.raises(grpc.aio.AioRpcError) as err:
        _ = [f async for f in stub.PreviewFrames(one(), metadata=bearer("director"))]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "multiple of 8" in (err.value.details() or "")


def two_shot(mara_x: float, **fields: object) -> visual_pb2.ShotLayout:
    return visual_pb2.ShotLayout(shot_type="wide", placements=[visual_pb2.Placement(character="MARA", x=mara_x),
                                                               visual_pb2.Placement(character="TOM", x=0.8, depth=0.5, facing="left")],
                                 **fields)


async def test_the_preview_follows_the_blocking_a_director_moves(laid_out_stub: visual_pb2_grpc.VisualServiceStub) -> None:
    call = laid_out_stub.PreviewFrames(metadata=bearer("director"))
    frames = {}
    for n, x in enumerate((0.2, 0.7, 0.2), start=1):  # each edit waits for its frame: none is overtaken by the next
        await call.write(edit(n, prompt="two keepers", layout=two_shot(x)))
        frame = await call.read()
        assert frame.edit_id == n
        frames[n] = np.asarray(decode(frame.png), dtype=np.int16)
    await call.done_writing()
    assert np.abs(frames[1] - frames[2]).mean() > 1.0, "MARA moved: another frame"
    assert np.array_equal(frames[1], frames[3]), "MARA back where she was: the same frame"


async def test_a_layout_the_model_cannot_follow_or_that_is_no_shot_is_refused(
        stub: visual_pb2_grpc.VisualServiceStub, laid_out_stub: visual_pb2_grpc.VisualServiceStub) -> None:
    code, details = await closed_with(stub, bearer("director"), edit(1, layout=two_shot(0.2)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "has no layout ControlNet" in details
    for bad, why in ((two_shot(1.5), "less than or equal to 1"), (two_shot(0.2, angle="sideways"), "sideways"),
                     (visual_pb2.ShotLayout(shot_type="wide", placements=[visual_pb2.Placement(character="MARA", x=0.1)] * 2), "twice")):
        code, details = await closed_with(laid_out_stub, bearer("director"), edit(1, layout=bad))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "the layout is not a shot's" in details and why in details, details


async def test_a_preview_keeps_the_approved_cast(cast_studio: Studio) -> None:
    from helix.events import AssetKind, JobCompleted
    from helix_visual.sheets import render_sheets

    from .test_sheets import approved_script, sheet

    await approved_script(cast_studio)
    assert isinstance(await cast_studio.run(sheet("sheet-1", views=["front"]), render_sheets), JobCompleted)
    for view in ("reference-sheet-1-c1-front", "reference-sheet-1-p1-establishing"):
        await cast_studio.approve(view, AssetKind.REFERENCE)
    server, port, _ = create_server("visual", address="127.0.0.1:0")
    add_to_server(server, cast_studio.renderer, TokenVerifier(VisualSettings(auth_secret=SECRET)))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = visual_pb2_grpc.VisualServiceStub(channel)
            call = stub.PreviewFrames(metadata=bearer("director"))
            frames = {}
            for n, fields in enumerate(({}, {"cast": True}, {"cast": True, "place": "The lamp room"}), start=1):
                await call.write(edit(n, prompt="two keepers", layout=two_shot(0.2), **fields))
                frame = await call.read()
                assert frame.edit_id == n
                frames[n] = np.asarray(decode(frame.png), dtype=np.int16)
            await call.done_writing()
            assert np.abs(frames[1] - frames[2]).mean() > 0.5, "MARA's kept view conditions the preview"
            assert np.abs(frames[2] - frames[3]).mean() > 0.5, "and the place's"
            code, details = await closed_with(stub, bearer("director"), edit(1, layout=two_shot(0.2), cast=True, place="the pier"))
            assert code == grpc.StatusCode.INVALID_ARGUMENT and "the pier has no approved establishing view" in details
    finally:
        await server.stop(grace=None)


async def test_a_cast_preview_needs_a_model_that_takes_references(laid_out_stub: visual_pb2_grpc.VisualServiceStub) -> None:
    code, details = await closed_with(laid_out_stub, bearer("director"), edit(1, layout=two_shot(0.2), cast=True))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "takes no reference images" in details
