"""Every error as an RFC 9457 problem: raised problems, HTTP errors, invalid requests and event
data, the review service's gRPC statuses mapped to what a client can act on (upstream
internals never echoed), and anything unexpected as a bare 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from helix_gateway.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    grpc_status_to_http,
    install_problem_handlers,
    problem_responses,
)

from .conftest import rpc_error


class Strict(BaseModel):
    n: int = Field(ge=0)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/problem")
    async def problem() -> None:
        raise ProblemError(409, "taken", type="urn:helix:problem:taken", headers={"Retry-After": "5"})

    @app.get("/http/{status}")
    async def http_error(status: int, detail: str | None = None) -> None:
        raise HTTPException(status, detail=detail)

    @app.get("/typed")
    async def typed(limit: int, offset: int) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/event")
    async def event() -> None:
        Strict(n=-1)  # request fields that combine into data the contracts refuse

    @app.get("/review/{code}")
    async def review(code: str) -> None:
        raise rpc_error(
            grpc.StatusCode[code], "SELECT * FROM review_items failed" if code == "INTERNAL" else "item x was already decided"
        )

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as http:
        yield http


async def problem(client: httpx.AsyncClient, path: str, status: int) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status and body["instance"] == path.split("?")[0]
    return body


async def test_a_raised_problem_keeps_its_type_detail_and_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/problem")
    assert response.status_code == 409 and response.headers["retry-after"] == "5"
    assert response.json() == {
        "type": "urn:helix:problem:taken",
        "title": "Conflict",
        "status": 409,
        "detail": "taken",
        "instance": "/problem",
    }


async def test_http_errors_carry_a_detail_only_when_it_says_more_than_the_title(client: httpx.AsyncClient) -> None:
    plain = await problem(client, "/http/404", 404)
    assert plain["title"] == "Not Found" and "detail" not in plain
    told = await problem(client, "/http/418?detail=short%20and%20stout", 418)
    assert told["detail"] == "short and stout"
    assert (await problem(client, "/nowhere", 404))["title"] == "Not Found"


async def test_invalid_requests_list_each_field(client: httpx.AsyncClient) -> None:
    body = await problem(client, "/typed?limit=x", 422)
    assert body["type"] == "urn:helix:problem:validation" and body["title"] == "Request validation failed"
    assert [e["loc"] for e in body["errors"]] == [["query", "limit"], ["query", "offset"]]
    assert body["detail"].startswith("query.limit: ") and body["detail"].endswith("(and 1 more)")


async def test_event_data_the_contracts_refuse_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    body = await problem(client, "/event", 422)
    assert body["type"] == "urn:helix:problem:validation" and [e["loc"] for e in body["errors"]] == [["n"]]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NOT_FOUND", 404),
        ("INVALID_ARGUMENT", 422),
        ("FAILED_PRECONDITION", 409),
        ("PERMISSION_DENIED", 403),
        ("RESOURCE_EXHAUSTED", 429),
    ],
)
async def test_the_review_services_refusals_keep_its_message(client: httpx.AsyncClient, code: str, status: int) -> None:
    body = await problem(client, f"/review/{code}", status)
    assert body["detail"] == "item x was already decided" and body["type"] == f"urn:helix:problem:review:{code.lower()}"


async def test_a_review_service_that_does_not_answer_is_503_or_504(client: httpx.AsyncClient) -> None:
    assert (await problem(client, "/review/UNAVAILABLE", 503))["detail"].startswith("the review service is not answering: ")
    assert (await problem(client, "/review/DEADLINE_EXCEEDED", 504))["detail"].startswith("the review service is not answering: ")


async def test_a_review_service_failure_is_502_without_its_internals(client: httpx.AsyncClient) -> None:
    body = await problem(client, "/review/INTERNAL", 502)
    assert "SELECT" not in body["detail"] and body["detail"] == "the review service failed (INTERNAL); the error is logged"


async def test_anything_unexpected_is_a_500_without_a_trace(client: httpx.AsyncClient) -> None:
    body = await problem(client, "/boom", 500)
    assert "secret" not in body["detail"] and "Traceback" not in body["detail"]


def test_unmapped_grpc_codes_are_the_upstreams_fault() -> None:
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.DATA_LOSS):
        assert grpc_status_to_http(code) == 502


def test_openapi_error_responses_point_to_the_problem_schema() -> None:
    responses = problem_responses(404, 503)
    assert responses[404]["description"] == "Not Found"
    assert responses[503]["content"] == {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
