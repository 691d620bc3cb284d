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
    JobAccepted,
    JobFailed,
    ReviewRevisionRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    Topic,
)
from helix.events.data import ModelRef
from helix.story import Level
from helix_writer.pipeline import StoryWriter, draft_from_store
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
        self.writer = StoryWriter(EngineGenerator(self.engine, loaded.ref), self.store, self.bus.publish,
                                  tokens_per_level=settings.writer_tokens_per_level)
        self.bus.batch_consumer(Topic.WRITER_REQUESTS, group="writer", handles=(ScriptRequested, ScriptLevelRewritten))(self.on_requests)
        self.bus.consumer(Topic.REVIEW_DECISIONS, group="writer", handles=(ReviewRevisionRequested,))(self.on_revision)

    async def start(self) -> None:
        await self.engine.start()
        await asyncio.to_thread(self.store.ensure_bucket)
        await self.bus.start()

    async def stop(self) -> None:
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
            else:
                await self.writer.write(request, from_level=Level.TITLE)
        except Exception as exc:
            await self.bus.publish(JobFailed(production_id=request.production_id, job_id=request.job_id, service="writer",
                                             at=datetime.now(UTC), error=f"{type(exc).__name__}: {exc}"[:2000]))
            raise

    async def _rewrite(self, request: ScriptLevelRewritten) -> None:
        draft = await asyncio.to_thread(draft_from_store, self.store, request.production_id, request.script_id)
        if draft is None:
            raise ValueError(f"no script {request.script_id} in production {request.production_id}")
        as_script = ScriptRequested(production_id=request.production_id, job_id=request.job_id, requested_by=request.requested_by,
                                    logline=draft.logline, notes=request.notes, seed=request.seed)
        await self.writer.rewrite(as_script, draft, Level(request.level), request.content)

    async def on_revision(self, event: CloudEvent[ReviewRevisionRequested]) -> None:
        """A reviewer asked for changes to a script level: regenerate it (and below) with the notes."""
        decision = event.data
        script_id, _, level = decision.asset_id.rpartition("-")
        if not script_id.startswith("script-") or level not in {lv.value for lv in Level}:
            return  # not a level this writer made (dialogue and assembled scripts regenerate from their scenes)
        draft = await asyncio.to_thread(draft_from_store, self.store, decision.production_id, script_id)
        if draft is None:
            return
        request = ScriptRequested(production_id=decision.production_id, job_id=f"rev-{decision.decision_id}"[:128],
                                  requested_by=decision.reviewer, logline=draft.logline, notes=decision.notes,
                                  parent_asset_ids=[decision.asset_id])
        log.info("writer.revision", asset_id=decision.asset_id, notes=decision.notes[:200])
        await self.writer.write(request, draft, from_level=Level(level))


__all__ = ["EngineGenerator", "WriterApp"]
