"""The writer service process, wiring only: settings → model engine, store, bus, generator
kit → request handlers (`requests.py`), reactions to review (`reactions.py`), gRPC stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.events import Topic
from helix.generation import GeneratorKit
from helix_writer import reactions, requests
from helix_writer.levels import StoryWriter
from helix_writer.settings import WriterSettings

SERVICE = "writer"


def ensure_model(settings: WriterSettings) -> str:
    """The configured model; the tiny one is built on first use when none is configured."""
    path = settings.model_path()
    if not settings.writer_model and not (Path(path) / "config.json").exists():
        from helix.models.tiny import build_tiny_llama

        build_tiny_llama(Path(path))
    return path


class WriterApp:
    def __init__(self, settings: WriterSettings) -> None:
        from helix.models.loading import load_causal_lm
        from helix_writer.engine import JsonGenerator, TextEngine

        self.settings = settings
        loaded = load_causal_lm(ensure_model(settings), revision=settings.writer_revision, dtype=settings.writer_dtype,  # type: ignore[arg-type]
                                device=settings.writer_device)  # type: ignore[arg-type]
        self.engine = TextEngine(loaded, max_batch=settings.writer_max_batch, max_queue=settings.writer_max_queue)
        self.store = AssetStore(settings)
        self.bus = HelixBus(settings, source=f"/helix/{SERVICE}")
        self.kit = GeneratorKit(service=SERVICE, store=self.store, bus=self.bus, settings=settings)
        self.writer = StoryWriter(JsonGenerator(self.engine), self.store)
        self.requests = requests.WriterRequests(self.kit, self.writer, self.store)
        self.reactions = reactions.WriterReactions(self.kit, self.writer)
        self.bus.batch_consumer(Topic.WRITER_REQUESTS, group=SERVICE, handles=requests.HANDLED)(self.requests.handle)
        self.bus.consumer(Topic.REVIEW_DECISIONS, group=SERVICE, handles=reactions.HANDLED)(self.reactions.on_decision)
        self._server: Any = None
        self.grpc_address = ""

    async def start(self) -> None:
        from helix.grpc import start_server
        from helix_writer.grpc_service import add_to_server

        await self.engine.start()
        await asyncio.to_thread(self.store.ensure_bucket)
        await self.bus.start()
        # People iterating on a line get tokens as they come (writer.proto RewriteLine).
        self._server, self.grpc_address = await start_server(
            SERVICE, address=self.settings.writer_grpc_address, models={"writer": f"{self.engine.lm.ref.id}@{self.engine.lm.ref.revision}"},
            add=lambda server: add_to_server(server, self.engine))

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=2)
        await self.bus.stop()
        await self.engine.stop()


__all__ = ["WriterApp", "ensure_model"]
