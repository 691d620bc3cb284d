"""The writer service process: Kafka requests in, script levels and job status out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel

from helix.assets import AssetStore
from helix.bus import HelixBus
from helix.events import (
    CloudEvent,
    DialogueRewriteRequested,
    JobAccepted,
    JobFailed,
    ReviewApproved,
    ReviewRevisionRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    StoryboardRequested,
    Topic,
    new_event,
)
from helix.events.data import ModelRef
from helix.story import Level
from helix_writer.pipeline import Draft, StoryWriter, draft_from_store, split_asset_id
from helix_writer.settings import WriterSettings

log = structlog.get_logger("helix.writer")
D = TypeVar("D", bound=BaseModel)


class EngineGenerator:
    """The pipeline's `StructuredGenerator` over the batching text engine."""

    def __init__(self, engine: Any, model_ref: ModelRef) -> None:
        self.engine = engine
        self.model_ref = model_ref

    async def generate_json(self, messages: list[dict[str, str]], schema: type[D], *, max_new_tokens: int, seed: int | None) -> D:
        from helix_writer.engine import GenerationRequest

        result = await self.engine.generate(
            GenerationRequest(messages=messages, max_new_tokens=max_new_tokens, json_schema=schema.model_json_schema(), seed=seed)
        )
        return schema.model_validate_json(result.text)


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
        from helix_writer.engine import TextEngine

        self.settings = settings
        loaded = load_causal_lm(ensure_model(settings), revision=settings.writer_revision, dtype=settings.writer_dtype,  # type: ignore[arg-type]
                                device=settings.writer_device)  # type: ignore[arg-type]
        self.engine = TextEngine(loaded, max_batch=settings.writer_max_batch, max_queue=settings.writer_max_queue)
        self.store = AssetStore(settings)
        self.bus = HelixBus(settings, source="/helix/writer")
        self.writer = StoryWriter(EngineGenerator(self.engine, loaded.ref), self.store, self.bus.publish)
        self.bus.batch_consumer(Topic.WRITER_REQUESTS, group="writer", handles=(
            ScriptRequested, ScriptLevelRewritten, StoryboardRequested, DialogueRewriteRequested))(self.on_requests)
        self.bus.consumer(Topic.REVIEW_DECISIONS, group="writer", handles=(ReviewRevisionRequested, ReviewApproved))(self.on_decision)
        self._server: Any = None
        self.grpc_address = ""

    async def start(self) -> None:
        from helix.grpc import SERVING, create_server
        from helix_writer.grpc_service import add_to_server

        await self.engine.start()
        await asyncio.to_thread(self.store.ensure_bucket)
        await self.bus.start()
        # People iterating on a line get tokens as they come (writer.proto RewriteLine).
        server, port, health = create_server("writer", address=self.settings.writer_grpc_address,
                                             models={"writer": f"{self.engine.lm.ref.id}@{self.engine.lm.ref.revision}"})
        add_to_server(server, self.engine)
        await server.start()
        await health.set("", SERVING)
        self._server = server
        self.grpc_address = f"{self.settings.writer_grpc_address.rsplit(':', 1)[0]}:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=2)
        await self.bus.stop()
        await self.engine.stop()

    async def on_requests(self, events: list[CloudEvent[Any]]) -> None:
        """A poll's requests, worked concurrently: their generations share batches."""
        results = await asyncio.gather(*(self._run(e) for e in events), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _run(self, event: CloudEvent[Any]) -> None:
        request = event.data
        await self.bus.publish(JobAccepted(production_id=request.production_id, job_id=request.job_id, service="writer",
                                           at=datetime.now(UTC), request_type=event.type, request_event_id=event.id))
        try:
            if isinstance(request, ScriptLevelRewritten):
                await self._rewrite(request)
            elif isinstance(request, StoryboardRequested):
                await self.writer.storyboard(request, await self._draft(request.production_id, request.script_asset_id))
            elif isinstance(request, DialogueRewriteRequested):
                await self.writer.rewrite_dialogue(request, await self._draft(request.production_id, request.dialogue_asset_id))
            else:
                await self.writer.write(request, from_level=Level.TITLE)
        except Exception as exc:
            await self.bus.publish(JobFailed(production_id=request.production_id, job_id=request.job_id, service="writer",
                                             at=datetime.now(UTC), error=f"{type(exc).__name__}: {exc}"[:2000]))
            raise

    async def _draft(self, production_id: str, asset_or_script_id: str) -> Draft:
        parts = split_asset_id(asset_or_script_id)
        script_id = parts[0] if parts else asset_or_script_id
        draft = await asyncio.to_thread(draft_from_store, self.store, production_id, script_id)
        if draft is None:
            raise ValueError(f"no script {script_id} in production {production_id}")
        return draft

    async def _rewrite(self, request: ScriptLevelRewritten) -> None:
        draft = await self._draft(request.production_id, request.script_id)
        as_script = ScriptRequested(production_id=request.production_id, job_id=request.job_id, requested_by=request.requested_by,
                                    logline=draft.logline, notes=request.notes, seed=request.seed)
        await self.writer.rewrite(as_script, draft, Level(request.level), request.content)

    async def on_decision(self, event: CloudEvent[Any]) -> None:
        """Choreography on review decisions about the writer's own assets:
        an approved script gets its storyboard; a revision request regenerates the level
        it names (and the levels below it) with the reviewer's notes."""
        decision = event.data
        parts = split_asset_id(decision.asset_id)
        if parts is None:
            return  # not the writer's asset
        script_id, level = parts
        if isinstance(decision, ReviewApproved):
            if level == "script":
                await self._run(new_event(StoryboardRequested(
                    production_id=decision.production_id, job_id=f"sb-{decision.decision_id}"[:128], requested_by=decision.reviewer,
                    script_asset_id=decision.asset_id), source="/helix/writer"))
            return
        scene_asset = level.startswith(("dialogue-", "storyboard-")) and "-rewrite-" not in level
        if level not in {lv.value for lv in Level} and not scene_asset:
            return  # the assembled script and Fountain change when their levels do
        draft = await asyncio.to_thread(draft_from_store, self.store, decision.production_id, script_id)
        if draft is None:
            return
        request = ScriptRequested(production_id=decision.production_id, job_id=f"rev-{decision.decision_id}"[:128],
                                  requested_by=decision.reviewer, logline=draft.logline, notes=decision.notes,
                                  parent_asset_ids=[decision.asset_id])
        log.info("writer.revision", asset_id=decision.asset_id, notes=decision.notes[:200])
        if scene_asset:
            await self.writer.revise_scene_asset(request, draft, level)
        else:
            await self.writer.write(request, draft, from_level=Level(level))


__all__ = ["EngineGenerator", "WriterApp"]
