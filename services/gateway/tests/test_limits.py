"""Request body limits enforced before a body is read (declared or streamed past the limit:
413 problem), and 405 answers that name every method the path takes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from helix_gateway.limits import AllowedMethods, BodySizeLimit
from helix_gateway.problems import install_problem_handlers

LIMIT = 1024


def small_app() -> tuple[FastAPI, list[int]]:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=LIMIT)
    app.add_middleware(AllowedMethods)
    reads: list[int] = []

    @app.get("/things")
    async def list_things() -> list[str]:
        return []

    @app.post("/things")
    async def add_thing(request: Request) -> dict[str, int]:
        body = await request.body()
        reads.append(len(body))
        return {"bytes": len(body)}

    @app.delete("/things/{thing_id}", dependencies=[Depends(lambda: None)])
    async def delete_thing(thing_id: str) -> None:
        return None

    return app, reads


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    app, reads = small_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client, reads


async def test_a_body_within_the_limit_is_read(http: tuple[httpx.AsyncClient, list[int]]) -> None:
    client, reads = http
    response = await client.post("/things", content=b"x" * LIMIT)
    assert response.status_code == 200 and response.json() == {"bytes": LIMIT} and reads == [LIMIT]


async def test_a_declared_length_over_the_limit_is_refused_unread(http: tuple[httpx.AsyncClient, list[int]]) -> None:
    client, reads = http
    response = await client.post("/things", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413 and reads == []
    assert response.headers["content-type"] == "application/problem+json" and response.headers["connection"] == "close"
    assert response.json()["detail"] == "request bodies are limited to 1,024 bytes"


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(http: tuple[httpx.AsyncClient, list[int]]) -> None:
    client, reads = http
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            sent.append(512)
            yield b"y" * 512

    response = await client.post("/things", content=chunks())  # no Content-Length: chunked
    assert response.status_code == 413 and reads == []
    assert sum(sent) <= LIMIT + 512  # reading stopped at the chunk that passed the limit
    assert response.json()["detail"] == "request bodies are limited to 1,024 bytes"


async def test_a_405_names_every_method_of_the_path(http: tuple[httpx.AsyncClient, list[int]]) -> None:
    client, _ = http
    response = await client.put("/things")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD, POST"
    only_delete = await client.get("/things/7")
    assert only_delete.status_code == 405 and only_delete.headers["allow"] == "DELETE"
