"""Running the real gateway for tests: a uvicorn server on a loopback port, in front of the
real review service, Kafka, MinIO and a SQLite read model of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from helix.assets import AssetStore
from helix.auth import mint_token
from helix.events import Actor, AssetGenerated, AssetKind, CloudEvent, JobStatus, new_event
from helix.settings import HelixSettings
from helix_dev.infra.process import free_port
from helix_gateway.app import create_app
from helix_gateway.settings import GatewaySettings
from helix_review.app import ReviewApp
from helix_review.settings import ReviewSettings

AUTH_SECRET = "gateway-tests-" + "k" * 40


def token(settings: HelixSettings, subject: str, *roles: str, productions: list[str] | None = None) -> str:
    return mint_token(settings, subject, list(roles), productions=productions)


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@dataclass
class Stack:
    """The gateway at `url`, with the review service it talks to."""

    url: str
    settings: GatewaySettings
    review: ReviewApp
    app: FastAPI

    def client(self, tok: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=bearer(tok) if tok else {}, timeout=30, **kwargs)

    def token(self, subject: str, *roles: str, productions: list[str] | None = None) -> str:
        return token(self.settings, subject, *roles, productions=productions)


def _settings_values(base: HelixSettings, folder: Path, name: str) -> dict[str, Any]:
    values = base.model_dump()
    values.update(service_name=name, database_url=f"sqlite:///{folder / (name + '.db')}", auth_secret=AUTH_SECRET)
    return values


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[tuple[str, FastAPI]]:
    """uvicorn serving the gateway on `settings.http_port`; yields once /readyz says ready."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, lifespan="on", log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    url = f"http://{settings.http_host}:{settings.http_port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            for _ in range(600):
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the gateway stopped while starting")
                if server.started and (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError("the gateway did not become ready in 30 s")
        yield url, app
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def gateway_stack(
    base: HelixSettings, folder: Path, *, review_database_url: str | None = None, review_overrides: dict[str, Any] | None = None,
    **gateway_overrides: Any,
) -> AsyncIterator[Stack]:
    """The real review service and the gateway in front of it, on `base`'s Kafka and S3
    (the review database on SQLite in `folder` unless `review_database_url` names one)."""
    AssetStore(base).ensure_bucket()
    review_values = _settings_values(base, folder, "review")
    if review_database_url:
        review_values["database_url"] = review_database_url
    review_values.update(review_overrides or {})
    review = ReviewApp(ReviewSettings(**review_values, review_grpc_address="127.0.0.1:0"))
    await review.start()
    try:
        values = _settings_values(base, folder, "gateway")
        values.update(review_grpc_address=review.grpc_address, http_host="127.0.0.1", http_port=free_port(), **gateway_overrides)
        settings = GatewaySettings(**values)
        async with running_gateway(settings) as (url, app):
            yield Stack(url=url, settings=settings, review=review, app=app)
    finally:
        await review.stop()


class BackgroundStack:
    """`gateway_stack` on an event loop of its own thread, for synchronous callers
    (schemathesis drives the API with blocking HTTP calls)."""

    def __init__(self, base: HelixSettings, folder: Path) -> None:
        self.base, self.folder = base, folder
        self.stack: Stack | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="gateway-stack", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with gateway_stack(self.base, self.folder) as stack:
            self.stack = stack
            self._ready.set()
            await self._stop.wait()

    def run_coroutine(self, coroutine: Any, timeout: float = 60) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def __enter__(self) -> Stack:
        self._thread.start()
        self._ready.wait(120)
        if self._error is not None or self.stack is None:
            raise RuntimeError("the gateway stack did not start") from self._error
        return self.stack

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


def stored_asset_event(
    settings: HelixSettings,
    production_id: str,
    *,
    content: bytes = b"EXT. LIGHTHOUSE - NIGHT\nThe lamp turns.\n",
    kind: AssetKind = AssetKind.SCRIPT,
    job_id: str | None = None,
    requested_by: str | None = None,
    parent_asset_ids: list[str] | None = None,
    asset_id: str | None = None,
    media_type: str = "text/x-fountain",
    ext: str = "fountain",
) -> CloudEvent[AssetGenerated]:
    """Put a real object (and its sidecar) in the store; the asset event that points at it."""
    store = AssetStore(settings)
    stored = store.put(
        production_id=production_id,
        kind=kind,
        asset_id=asset_id or f"{kind.value}-{uuid.uuid4().hex[:10]}",
        data=content,
        media_type=media_type,
        ext=ext,
        provenance={"model": "helix/tiny-llama@r1"},
    )
    data = AssetGenerated(
        **stored.event_fields(),
        job_id=job_id,
        model={"id": "helix/tiny-llama", "revision": "r1"},
        inputs={"logline": "A keeper keeps the light."},
        parameters={"temperature": 0.7},
        seed=7,
        parent_asset_ids=parent_asset_ids or [],
        generated_by=Actor(subject="writer", kind="service"),
        generated_at=datetime.now(UTC),
        requested_by=Actor(subject=requested_by) if requested_by else None,
    )
    return new_event(data, source="/helix/writer")


async def create_production(stack: Stack, **fields: Any) -> dict[str, Any]:
    """POST /productions as a studio system; the created production."""
    body = {"title": "The Lighthouse", "logline": "A keeper must keep the light burning through one last storm.", **fields}
    async with stack.client(stack.token("studio-1", "studio-system")) as client:
        response = await client.post("/productions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def job_event(model: type[JobStatus], production_id: str, job_id: str, **fields: Any) -> JobStatus:
    """A job status event as the writer would report it."""
    return model(production_id=production_id, job_id=job_id, service="writer", at=datetime.now(UTC), **fields)


async def poll(client: httpx.AsyncClient, path: str, until: Any, *, timeout: float = 30, what: str = "") -> httpx.Response:
    """GET `path` until `until(response)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(path)
        if until(response):
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or path}: last answer {response.status_code} {response.text[:500]}")
        await asyncio.sleep(0.1)


@contextlib.contextmanager
def background_stack(base: HelixSettings, folder: Path) -> Iterator[tuple[BackgroundStack, Stack]]:
    runner = BackgroundStack(base, folder)
    with runner as stack:
        yield runner, stack
