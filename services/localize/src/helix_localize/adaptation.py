"""Shorter adaptations of dubbed lines that do not fit their slot, from the writer.

The dub job asks the writer's gRPC `ShortenLines` for every line that runs long, all at once,
and waits for the answer: a synchronous question, since the job cannot go on without it. No
consumer is held while it waits (the request consumer keeps polling; the job is one task
among many). The call is retried with backoff while the writer is away (a restart, a
rollout), up to `localize_shorten_timeout_s`; past that the lines are dubbed as they are and
their overshoot is reported. The seed comes from the job, locale and line, so a dub resumed
after a crash asks again and gets the same lines.

What comes back is not an asset of its own: each changed line is recorded in the dub's
timing report and summary beside the line it replaces, and reviewed with the dub.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import grpc
import structlog
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from helix.auth import service_token
from helix.events import ModelRef
from helix.settings import HelixSettings
from helix.v1 import writer_pb2, writer_pb2_grpc
from helix_localize.fitting import Line

log = structlog.get_logger("helix.localize.adaptation")
_RETRY = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


@dataclass(frozen=True)
class Shorter:
    text: str
    model: ModelRef


class WriterShortener:
    """`fitting.Shorten` over the writer's gRPC API, for one dub (production, locale, job)."""

    def __init__(self, settings: HelixSettings, address: str, *, production_id: str, locale: str, job_id: str, timeout_s: float) -> None:
        self.settings = settings
        self.address = address
        self.production_id = production_id
        self.locale = locale
        self.job_id = job_id
        self.timeout_s = timeout_s
        self.model: ModelRef | None = None

    async def __call__(self, long: list[tuple[Line, float]]) -> list[str | None]:
        if not long:
            return []
        seed = int.from_bytes(hashlib.sha256(f"{self.job_id}\x1f{self.locale}".encode()).digest()[:8], "big") >> 1
        request = writer_pb2.ShortenLinesRequest(
            production_id=self.production_id, market=self.locale, candidates=3, seed=seed,
            lines=[writer_pb2.LineToShorten(line_id=line.line_id, speaker=line.speaker, text=line.text, target_seconds=max(seconds, 0.1))
                   for line, seconds in long])
        try:
            response = await self._call(request)
        except grpc.aio.AioRpcError as exc:
            log.warning("localize.writer_unreachable", locale=self.locale, lines=len(long), code=exc.code().name,
                        detail=(exc.details() or "")[:200])
            return [None] * len(long)
        model_id, pinned, revision = response.model.rpartition("@")  # "id@revision", or an id alone
        self.model = ModelRef(id=(model_id if pinned else response.model) or "writer", revision=(revision if pinned else "") or "unknown")
        found = {line.line_id: list(line.candidates) for line in response.lines}
        log.info("localize.shorter_lines", locale=self.locale, asked=len(long), answered=sum(bool(c) for c in found.values()))
        return [min(found[line.line_id], key=len) if found.get(line.line_id) else None for line, _ in long]

    async def _call(self, request: writer_pb2.ShortenLinesRequest) -> writer_pb2.ShortenLinesResponse:
        retrying = AsyncRetrying(stop=stop_after_delay(self.timeout_s), wait=wait_exponential_jitter(multiplier=0.5, max=10.0),
                                 retry=retry_if_exception(lambda e: isinstance(e, grpc.aio.AioRpcError) and e.code() in _RETRY),
                                 reraise=True)
        async for attempt in retrying:
            with attempt:
                token = service_token(self.settings, "localize", [self.production_id])
                async with grpc.aio.insecure_channel(self.address) as channel:
                    stub = writer_pb2_grpc.WriterServiceStub(channel)
                    return await stub.ShortenLines(request, metadata=(("authorization", f"Bearer {token}"),), timeout=self.timeout_s)
        raise AssertionError("unreachable")  # pragma: no cover
