"""Gateway test fixtures: the real FastAPI application over a gateway state of doubles — a
SQLite read model migrated by Alembic, the core's MemoryBus and MemoryStore, and a stand-in
review service that answers each call with what a test sets and keeps every request — called
in process through httpx's ASGI transport with tokens minted for the test's secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from google.protobuf.message import Message
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helix.auth import TokenVerifier, mint_token
from helix.documents import StoryboardDocument
from helix.events import AssetGenerated, CloudEvent, new_event
from helix.events.examples import example
from helix.story import Camera, Shot, ShotType, Storyboard
from helix.testing import MemoryBus, MemoryStore
from helix.v1 import common_pb2, review_pb2
from helix_gateway.app import create_app
from helix_gateway.fanout import Fanout
from helix_gateway.readmodel import ReadModel, make_engine, migrate
from helix_gateway.readmodel.tables import Production
from helix_gateway.review_client import ReviewClient
from helix_gateway.settings import GatewaySettings
from helix_gateway.state import SOURCE, GatewayState

SECRET = "gateway-unit-tests-" + "k" * 40
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class FakeReview:
    """The review service's client, answering from `answers` (by method name; a list answers each
    call in turn) or raising from `errors`; `calls` keeps (method, request) in order."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    closed: bool = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not callable(getattr(ReviewClient, name, None)):
            raise AttributeError(name)

        async def call(request: Any) -> Any:
            self.calls.append((name, request))
            if name in self.errors:
                raise self.errors[name]
            answer = self.answers[name]
            return answer.pop(0) if isinstance(answer, list) else answer  # a list: one answer per call, in turn

        return call

    def requests(self, name: str) -> list[Any]:
        return [request for method, request in self.calls if method == name]

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def gateway(tmp_path: Path) -> GatewayState:
    settings = GatewaySettings(
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}", auth_secret=SECRET, sse_queue_size=8, presign_seconds=120
    )
    engine = make_engine(settings.effective_database_url())
    migrate(engine)
    state = GatewayState(
        settings=settings,
        read_model=ReadModel(engine),
        bus=MemoryBus(source=SOURCE),
        review=FakeReview(),  # type: ignore[arg-type]
        store=MemoryStore(),
        fanout=Fanout(settings.sse_queue_size),
        verifier=TokenVerifier(settings),
    )  # type: ignore[arg-type]
    state.bus_ready.set()
    return state


@pytest.fixture
def app(gateway: GatewayState) -> FastAPI:
    """The gateway's application as `create_app` composes it, holding the test's state (no lifespan runs)."""
    application = create_app(gateway.settings)
    application.state.gateway = gateway
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        yield http


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    """An error as the review service's client raises it."""
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


def review_of(gateway: GatewayState) -> FakeReview:
    assert isinstance(gateway.review, FakeReview)
    return gateway.review


def bus_of(gateway: GatewayState) -> MemoryBus:
    assert isinstance(gateway.bus, MemoryBus)
    return gateway.bus


def store_of(gateway: GatewayState) -> MemoryStore:
    assert isinstance(gateway.store, MemoryStore)
    return gateway.store


def auth(subject: str, *roles: str, productions: list[str] | None = None) -> dict[str, str]:
    """The Authorization header of a token for `subject` with `roles`, assigned to `productions`."""
    token = mint_token(GatewaySettings(auth_secret=SECRET), subject, list(roles), productions=productions)
    return {"Authorization": f"Bearer {token}"}


async def add_production(
    gateway: GatewayState, production_id: str = "lighthouse", *, at: datetime = T0, **fields: Any
) -> Production:
    production = Production(
        production_id=production_id,
        title=fields.pop("title", "The Lighthouse"),
        logline=fields.pop("logline", "A keeper."),
        style=fields.pop("style", None),
        target_locales=fields.pop("target_locales", []),
        performers=fields.pop("performers", []),
        created_by=fields.pop("created_by", "dana"),
        created_at=at,
    )
    await gateway.read_model.add_production(production)
    return production


def asset_event(
    production_id: str = "lighthouse", asset_id: str = "script-0001", *, version: int = 1, at: datetime = T0, **fields: Any
) -> CloudEvent[AssetGenerated]:
    """An asset event (`example(AssetGenerated)` with overrides), generated at `at`."""
    data = example(AssetGenerated, production_id=production_id, asset_id=asset_id, version=version, generated_at=at, **fields)
    return new_event(data, source="/helix/writer")  # type: ignore[return-value]


async def add_asset(
    gateway: GatewayState,
    production_id: str = "lighthouse",
    asset_id: str = "script-0001",
    *,
    version: int = 1,
    at: datetime = T0,
    content: bytes | None = None,
    **fields: Any,
) -> CloudEvent[AssetGenerated]:
    """An asset version projected into the read model; with `content`, stored first in the MemoryStore
    (as a text/x-fountain script unless `media_type`/`ext` say otherwise) and pointing at it."""
    if content is not None:
        kind = fields.get("kind", "script")
        media_type = fields.setdefault("media_type", "text/x-fountain")
        ext = fields.pop("ext", "fountain")
        stored = store_of(gateway).put(production_id=production_id, kind=kind, asset_id=asset_id, data=content,
                                       media_type=media_type, ext=ext, provenance={"model": "helix/tiny-llama@main"})
        assert stored.key.version == version
        fields.update(object_key=stored.object_key, sha256=stored.sha256, size_bytes=stored.size_bytes)
    event = asset_event(production_id, asset_id, version=version, at=at, **fields)
    await gateway.read_model.apply_asset_generated(event)
    return event


def traced(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> InMemorySpanExporter:
    """Spans of `module`'s tracer, kept in memory (the process's global tracer provider is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(module, "_tracer", provider.get_tracer("test"))
    return exporter


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def stamp(at: datetime) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def review_item(
    item_id: str = "item-1",
    production_id: str = "lighthouse",
    *,
    asset_id: str = "script-0001",
    version: int = 1,
    kind: str = "script",
    media_type: str = "text/x-fountain",
    event: CloudEvent[AssetGenerated] | None = None,
    **fields: Any,
) -> review_pb2.ReviewItem:
    """A review item as the review service sends it; its asset event is `event`, or an example one."""
    event = event or asset_event(production_id, asset_id, version=version, kind=kind, media_type=media_type)
    ref = common_pb2.AssetRef(
        asset_id=asset_id,
        production_id=production_id,
        kind=kind,
        object_key=event.data.object_key,
        sha256=event.data.sha256,
        media_type=media_type,
        version=version,
    )
    return review_pb2.ReviewItem(
        item_id=item_id,
        asset=ref,
        status=fields.pop("status", "pending"),
        created_at=stamp(T0),
        asset_event_json=event.model_dump_json(),
        **fields,
    )


def same(message: Message, **fields: Any) -> bool:
    """Whether a protobuf message has these field values."""
    return all(
        getattr(message, name) == value if not isinstance(value, list) else list(getattr(message, name)) == value
        for name, value in fields.items()
    )


def storyboard_document(production_id: str, *durations: float) -> bytes:
    """A stored storyboard document of one scene whose shots last `durations` seconds."""
    shots = [
        Shot(
            shot_id=f"sh{i}",
            shot_type=ShotType.WIDE,
            camera=Camera.STATIC,
            subjects=["ANA"],
            action="waits",
            location="KITCHEN",
            duration_s=d,
        )
        for i, d in enumerate(durations)
    ]
    board = Storyboard(production_id=production_id, script_id="script-1", scene_id="s1", shots=shots)
    return StoryboardDocument(level="storyboard-s1", script_id="script-1", content=board).model_dump_json().encode()
