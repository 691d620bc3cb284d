"""The gateway's API routes, walked from the application (included routers' routes too), and
the roles each admits: what the authorization matrix, the OpenAPI document and the `Allow`
header of a 405 are built from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route of the application, included routers' routes too."""
    return list(_walk(app.routes, ""))


def _walk(routes: Sequence[BaseRoute], prefix: str) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            if prefix:
                raise NotImplementedError("routers are included without a prefix here")
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            # FastAPI >= 0.16x keeps included routers as branches instead of copying their routes.
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))


def roles_of(route: APIRoute) -> frozenset[str] | None:
    """The roles a route's `require(...)` dependency admits; None for public routes."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        roles = getattr(dependency.call, "roles", None)
        if roles is not None:
            return frozenset(str(r) for r in roles)
        pending.extend(dependency.dependencies)
    return None
