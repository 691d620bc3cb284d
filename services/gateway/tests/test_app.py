"""The application `create_app` composes: every router, the middlewares in their order, unknown
query parameters refused everywhere, the review console's files, offline API docs, and an
OpenAPI document whose operations name the roles that may call them and whose errors are
problem details. (Its lifespan starts the real bus and store: the integration tests run it.)"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from helix_gateway.limits import AllowedMethods, BodySizeLimit
from helix_gateway.observability import ObservabilityMiddleware
from helix_gateway.query import reject_unknown_query
from helix_gateway.routes import api_routes


def test_every_router_is_included(app: FastAPI) -> None:
    tags = {tag for route in api_routes(app) for tag in route.tags}
    assert tags == {
        "health",
        "productions",
        "casting",
        "generation",
        "jobs",
        "assets",
        "reports",
        "reviews",
        "consents",
        "audit",
        "events",
        "console",
    }


def test_the_middlewares_wrap_the_app_in_order(app: FastAPI) -> None:
    layers = [m.cls for m in app.user_middleware]
    assert layers == [ObservabilityMiddleware, AllowedMethods, BodySizeLimit]  # outermost first: every request is observed
    [limit] = [m for m in app.user_middleware if m.cls is BodySizeLimit]
    assert limit.kwargs == {"max_bytes": 2 * 1024 * 1024}
    assert [d.dependency for d in app.router.dependencies] == [reject_unknown_query]


def test_operations_name_their_roles_and_public_ones_need_no_token(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    queue = paths["/reviews/queue"]["get"]
    assert queue["x-helix-roles"] == ["admin", "reviewer"] and queue["description"].endswith("Roles: admin, reviewer.")
    assert paths["/productions"]["post"]["x-helix-roles"] == ["admin", "director", "studio-system"]
    assert paths["/healthz"]["get"]["security"] == [] and "x-helix-roles" not in paths["/healthz"]["get"]
    assert "/metrics" not in paths and "/console" not in paths
    assert paths["/productions/{production_id}/requests/frame"]["post"]["operationId"] == "request_frame"


def test_errors_in_the_document_are_problem_details(app: FastAPI) -> None:
    schema = app.openapi()
    components = schema["components"]["schemas"]
    assert "Problem" in components and "ValidationIssue" in components
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    assert app.openapi() is schema  # built once


async def test_the_console_and_the_docs_are_served_from_the_gateway(client: httpx.AsyncClient) -> None:
    page = await client.get("/console")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache" and "<html" in page.text.lower()
    assert (await client.get("/console/static/console.js")).status_code == 200
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/" in docs.text and "cdn" not in docs.text.lower()
