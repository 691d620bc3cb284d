"""RFC 9457 problem details: every error the gateway answers, in one shape.

`application/problem+json` with type, title, status, detail, instance (and `errors` for
request validation). Errors from the review service keep its message as `detail`, mapped
from gRPC status codes to the HTTP status a client can act on. Nothing reaches a client
as a stack trace.
"""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

import grpc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("helix.gateway")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is: body, query, path or header, then the field path")
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field("about:blank", description="A URI naming the kind of problem")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(ge=100, le=599)
    detail: str | None = Field(None, description="What went wrong this time, for a person")
    instance: str | None = Field(None, description="The request path that failed")
    errors: list[ValidationIssue] | None = Field(None, description="Each invalid field (validation problems only)")


class ProblemError(Exception):
    """Raise to answer with a problem: `raise ProblemError(404, "no such production")`."""

    def __init__(self, status: int, detail: str | None = None, *, title: str | None = None, type: str = "about:blank", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.detail = detail
        self.title = title or http.HTTPStatus(status).phrase
        self.type = type
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    title: str | None = None,
    type: str = "about:blank",
    errors: list[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=type,
        title=title or http.HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


# gRPC status of the review service -> HTTP status, and a problem type naming the cause.
_GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def grpc_status_to_http(code: grpc.StatusCode) -> int:
    # Anything else (INTERNAL, UNKNOWN, UNAUTHENTICATED between services…) is the
    # upstream's fault, not the caller's: 502, never our own 500.
    return _GRPC_TO_HTTP.get(code, 502)


def _issues(exc: RequestValidationError | ValidationError) -> list[ValidationIssue]:
    return [ValidationIssue(loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))) for e in exc.errors()]


def _validation_detail(issues: list[ValidationIssue]) -> str:
    first = issues[0] if issues else None
    where = ".".join(str(p) for p in first.loc) if first else ""
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{where}: {first.msg}{more}" if first else "the request is not valid"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, detail=exc.detail, title=exc.title, type=exc.type, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != http.HTTPStatus(exc.status_code).phrase else None
        return problem_response(request, exc.status_code, detail=detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = _issues(exc)
        return problem_response(
            request, 422, title="Request validation failed", type="urn:helix:problem:validation", detail=_validation_detail(issues), errors=issues
        )

    @app.exception_handler(ValidationError)
    async def on_invalid_data(request: Request, exc: ValidationError) -> JSONResponse:
        # Raised when request fields combine into an event the contracts refuse.
        issues = _issues(exc)
        return problem_response(
            request, 422, title="Request validation failed", type="urn:helix:problem:validation", detail=_validation_detail(issues), errors=issues
        )

    @app.exception_handler(grpc.aio.AioRpcError)
    async def on_review_error(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        code = exc.code()
        status = grpc_status_to_http(code)
        detail = exc.details() or f"the review service answered {code.name}"
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            detail = f"the review service is not answering: {detail}"
        elif status == 502:
            # An upstream failure's message may hold its internals (SQL, paths): log it, do not echo it.
            log.error("gateway.review_failed", code=code.name, details=exc.details(), path=request.url.path)
            detail = f"the review service failed ({code.name}); the error is logged"
        if status >= 500:
            log.warning("gateway.review_error", code=code.name, path=request.url.path)
        return problem_response(request, status, detail=detail, type=f"urn:helix:problem:review:{code.name.lower()}")

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("gateway.unhandled", path=request.url.path, method=request.method)
        return problem_response(request, 500, detail="an unexpected error occurred; it has been logged")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, all problem details."""
    return {
        status: {
            "description": http.HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in statuses
    }
