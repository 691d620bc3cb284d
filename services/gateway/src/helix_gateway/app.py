"""The gateway's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from helix_gateway import __version__
from helix_gateway.limits import AllowedMethods, BodySizeLimit
from helix_gateway.observability import ObservabilityMiddleware
from helix_gateway.problems import Problem, install_problem_handlers
from helix_gateway.query import reject_unknown_query
from helix_gateway.routers import (
    assets,
    audit,
    casting,
    consents,
    console,
    editorial,
    events,
    generation,
    health,
    jobs,
    productions,
    reports,
    reviews,
)
from helix_gateway.routes import api_routes, roles_of
from helix_gateway.settings import GatewaySettings
from helix_gateway.state import GatewayState

DESCRIPTION = """\
Helix's HTTP API: create productions, request generations (scripts, dialogue, storyboards,
frames, scenes, textures, localizations), follow jobs live, browse and download assets,
and review every generated asset before anything downstream uses it.

Authenticate with `Authorization: Bearer <JWT>` (roles: studio-system, director, reviewer,
admin; assigned productions in the `productions` claim). Each operation lists the roles
that may call it under `x-helix-roles`. Errors are RFC 9457 problem details
(`application/problem+json`). Lists use keyset pagination: pass `next_cursor` back as `cursor`.
"""

TAGS = [
    {"name": "productions", "description": "Productions: title, logline, style, locales, performers"},
    {"name": "generation", "description": "Generation requests, published as events on the bus"},
    {"name": "jobs", "description": "Job status, projected from helix.jobs.status.v1"},
    {"name": "assets", "description": "Generated assets, their lineage and downloads"},
    {"name": "reviews", "description": "The review queue and decisions (review service)"},
    {"name": "consents", "description": "Likeness consent registry (review service)"},
    {"name": "audit", "description": "Audit log of decisions, consents and resolutions (review service)"},
    {"name": "reports", "description": "Cost and time ledger, credits and attribution"},
    {"name": "events", "description": "Live events (Server-Sent Events)"},
    {"name": "console", "description": "The review console: a web page served by the gateway"},
    {"name": "health", "description": "Probes"},
]


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await GatewayState.start(settings)
        app.state.gateway = state
        try:
            yield
        finally:
            await state.stop()

    # FastAPIOffline: a FastAPI whose /docs and /redoc load Swagger UI and ReDoc from files the
    # gateway serves, so they work on a studio network cut off from the internet.
    app = FastAPIOffline(
        static_url="/docs/assets",
        swagger_ui_parameters={"validatorUrl": None},  # the online validator badge would call out
        title="Helix gateway",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
        generate_unique_id_function=lambda route: route.name,  # operation ids = endpoint names
    )
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AllowedMethods)
    app.add_middleware(ObservabilityMiddleware)
    for module in (health, productions, casting, generation, jobs, assets, editorial, reports, reviews, consents, audit, events, console):
        app.include_router(module.router)
    app.include_router(casting.series_router)
    app.mount("/console/static", console.static, name="console-static")
    app.openapi = _openapi_builder(app)  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema
    return app


def _openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        # Errors are problem details: FastAPI's own validation error shapes never appear.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            roles = roles_of(route)
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                if roles is None:
                    operation["security"] = []  # public
                else:
                    admitted = sorted(roles | {"admin"})
                    operation["x-helix-roles"] = admitted
                    operation["description"] = (operation.get("description", "") + f"\n\nRoles: {', '.join(admitted)}.").strip()
        app.openapi_schema = schema
        return schema

    return build
