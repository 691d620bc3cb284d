"""The gateway's routes walked from the application, and the roles each admits: what the
OpenAPI document, the authorization matrix and 405 answers are built from."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from helix_gateway.routers.generation import REQUESTS
from helix_gateway.routes import api_routes, roles_of


def test_every_included_routers_route_is_found(app: FastAPI) -> None:
    paths = {(route.path, method) for route in api_routes(app) for method in route.methods or ()}
    assert {
        ("/healthz", "GET"),
        ("/productions", "POST"),
        ("/productions", "GET"),
        ("/reviews/claim", "POST"),
        ("/productions/{production_id}/requests/frame", "POST"),
        ("/consents/{consent_id}/revoke", "POST"),
    } <= paths
    requests = {p for p in paths if p[0].startswith("/productions/{production_id}/requests/")}
    assert requests == {(f"/productions/{{production_id}}/requests/{what}", "POST") for what in REQUESTS}, "one endpoint per request kind"


def test_roles_are_read_from_the_require_dependency(app: FastAPI) -> None:
    by_name = {route.name: route for route in api_routes(app)}
    assert roles_of(by_name["healthz"]) is None and roles_of(by_name["readyz"]) is None
    assert roles_of(by_name["review_queue"]) == {"reviewer"}
    assert roles_of(by_name["review_dashboard"]) == {"reviewer", "director"}
    assert roles_of(by_name["resolve_finding"]) == {"admin"}
    assert roles_of(by_name["request_frame"]) == {"studio-system", "director"}
    assert roles_of(by_name["get_asset"]) == {"studio-system", "director", "reviewer", "admin"}  # through VisibleAsset's AnyRole


def test_a_router_included_under_a_prefix_is_refused() -> None:
    router = APIRouter()

    @router.get("/x", dependencies=[])
    async def x() -> None: ...

    app = FastAPI()
    app.include_router(router, prefix="/v2")
    if not any(getattr(r, "original_router", None) for r in app.routes):
        pytest.skip("this FastAPI copies included routes (the prefix is already in their paths)")
    with pytest.raises(NotImplementedError):
        api_routes(app)
