"""Who may call what: every gateway endpoint × every kind of caller, on the real stack.

Allowed callers must not get 401/403 (nor a 5xx); refused ones get exactly 401 (no or
forged token) or 403. The matrix below is the specification; a test checks that it names
every route the application has, so a new endpoint without a row fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from starlette.routing import Route

from helix.auth import mint_token
from helix.bus import HelixBus
from helix.settings import HelixSettings
from helix_gateway.routes import api_routes
from tests.conftest import make_settings
from tests.integration.gateway_harness import Stack, bearer, gateway_stack, poll, stored_asset_event

pytestmark = pytest.mark.infra

# Callers: no token, a token signed with another key, each role, and a reviewer who is
# assigned to some other production.
ANONYMOUS, FORGED = "anonymous", "forged"
STUDIO, DIRECTOR, REVIEWER, OUTSIDER, ADMIN = "studio-system", "director", "reviewer", "outsider", "admin"
CALLERS = (ANONYMOUS, FORGED, STUDIO, DIRECTOR, REVIEWER, OUTSIDER, ADMIN)  # admin last: it may finish what others began
ROLE_OF = {STUDIO: "studio-system", DIRECTOR: "director", REVIEWER: "reviewer", OUTSIDER: "reviewer", ADMIN: "admin"}

PUBLIC = frozenset(CALLERS)
ASSIGNED = frozenset({STUDIO, DIRECTOR, REVIEWER, ADMIN})  # any role, assigned (studio systems see all)
REQUESTERS = frozenset({STUDIO, DIRECTOR, ADMIN})
REVIEWERS = frozenset({REVIEWER, OUTSIDER, ADMIN})  # the role suffices: results are limited to assignments
ASSIGNED_REVIEWERS = frozenset({REVIEWER, ADMIN})  # an item of the production
ADMINS = frozenset({ADMIN})
SIGNED_IN = frozenset({STUDIO, DIRECTOR, REVIEWER, OUTSIDER, ADMIN})


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    body: dict[str, Any] | None = None


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(PUBLIC),
    ("GET", "/readyz"): Row(PUBLIC),
    ("GET", "/metrics"): Row(PUBLIC),
    ("GET", "/openapi.json"): Row(PUBLIC),
    ("GET", "/docs"): Row(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Row(PUBLIC),
    ("GET", "/redoc"): Row(PUBLIC),
    ("POST", "/productions"): Row(frozenset({STUDIO, DIRECTOR, ADMIN}), {"title": "Another", "logline": "Another storm."}),
    ("GET", "/productions"): Row(SIGNED_IN),
    ("GET", "/productions/{production_id}"): Row(ASSIGNED),
    ("GET", "/productions/{production_id}/casting"): Row(ASSIGNED),
    ("GET", "/productions/{production_id}/cast"): Row(ASSIGNED),
    ("POST", "/productions/{production_id}/cast/references"): Row(REQUESTERS),  # the body is an image: JSON gets 415 or 422
    ("GET", "/series/{series_id}/casting"): Row(REQUESTERS),
    ("PUT", "/series/{series_id}/casting"): Row(ADMINS, {"entries": [{"character": "MARA", "voice": {"kind": "model", "speaker": 2}}]}),
    ("PUT", "/productions/{production_id}/casting"): Row(frozenset({DIRECTOR, ADMIN}),
                                                        {"entries": [{"character": "MARA", "voice": {"kind": "model", "speaker": 1}}]}),
    ("POST", "/productions/{production_id}/requests/script"): Row(REQUESTERS, {"max_scenes": 2}),
    ("POST", "/productions/{production_id}/requests/level-rewrite"): Row(REQUESTERS, {"script_id": "script-1", "level": "title", "content": {"title": "The Last Light"}}),
    ("POST", "/productions/{production_id}/requests/dialogue-rewrite"): Row(REQUESTERS, {"dialogue_asset_id": "dialogue-1"}),
    ("POST", "/productions/{production_id}/requests/script-edit"): Row(REQUESTERS, {"script_id": "script-1", "operation": "continue",
                                                                                   "level": "scenes", "count": 2}),
    ("POST", "/productions/{production_id}/requests/dialogue-edit"): Row(REQUESTERS, {"script_id": "script-1", "scene_id": "s1",
                                                                                     "lines": [{"speaker": "MARA", "text": "Now."}]}),
    ("POST", "/productions/{production_id}/requests/candidate-apply"): Row(REQUESTERS, {"rewrite_asset_id": "script-1-dialogue-s1-rewrite-j",
                                                                                       "line_id": "s1-l1", "candidate": 0}),
    ("POST", "/productions/{production_id}/requests/storyboard"): Row(REQUESTERS, {"script_asset_id": "script-1"}),
    ("POST", "/productions/{production_id}/requests/frame"): Row(REQUESTERS, {"prompt": "the lamp", "width": 64, "height": 64}),
    ("POST", "/productions/{production_id}/requests/clip"): Row(REQUESTERS, {"frame_asset_id": "frame-j-s1-shot1"}),
    ("POST", "/productions/{production_id}/requests/scene"): Row(REQUESTERS, {"prompt": "the cliff"}),
    ("POST", "/productions/{production_id}/requests/texture"): Row(REQUESTERS, {"prompt": "stone"}),
    ("POST", "/productions/{production_id}/requests/frames-redraw"): Row(REQUESTERS, {"frame_asset_ids": ["frame-j-1"]}),
    ("POST", "/productions/{production_id}/requests/reference-sheet"): Row(REQUESTERS, {"script_asset_id": "script-1"}),
    ("POST", "/productions/{production_id}/requests/localization"): Row(REQUESTERS, {"source_asset_id": "script-1", "target_locales": ["fr"]}),
    ("POST", "/productions/{production_id}/requests/animatic"): Row(REQUESTERS, {"localization_job_id": "job-1", "locale": "de-DE"}),
    ("GET", "/productions/{production_id}/jobs"): Row(ASSIGNED),
    ("GET", "/jobs/{job_id}"): Row(ASSIGNED),
    ("GET", "/productions/{production_id}/assets"): Row(ASSIGNED),
    ("GET", "/productions/{production_id}/tree"): Row(ASSIGNED),
    ("GET", "/assets/{asset_id}"): Row(ASSIGNED),
    ("GET", "/assets/{asset_id}/download"): Row(ASSIGNED),
    ("GET", "/assets/{asset_id}/content"): Row(ASSIGNED),
    ("GET", "/assets/{asset_id}/editorial"): Row(ASSIGNED),  # the world's asset is no animatic: 422 for those allowed
    ("GET", "/assets/{asset_id}/screenplay"): Row(ASSIGNED),  # nor a Fountain screenplay: 422
    ("GET", "/productions/{production_id}/editorial"): Row(ASSIGNED),  # no approved script in this world: 409
    ("GET", "/assets/{asset_id}/attribution"): Row(ASSIGNED),
    ("GET", "/productions/{production_id}/ledger"): Row(REQUESTERS),
    ("GET", "/productions/{production_id}/credits"): Row(ASSIGNED),
    ("GET", "/console"): Row(PUBLIC),
    ("GET", "/console/me"): Row(SIGNED_IN),
    ("GET", "/console/items/{item_id}"): Row(ASSIGNED_REVIEWERS),
    ("GET", "/productions/{production_id}/events"): Row(ASSIGNED),
    ("GET", "/reviews/queue"): Row(REVIEWERS),
    ("POST", "/reviews/claim"): Row(REVIEWERS, {"lease_seconds": 60}),
    ("GET", "/reviews/items/{item_id}"): Row(ASSIGNED_REVIEWERS),
    ("POST", "/reviews/items/{item_id}/release"): Row(ASSIGNED_REVIEWERS),
    ("POST", "/reviews/items/{item_id}/decision"): Row(ASSIGNED_REVIEWERS, {"outcome": "rejected", "notes": "off-brand"}),
    ("POST", "/reviews/second/claim"): Row(REVIEWERS, {"lease_seconds": 60}),
    ("POST", "/reviews/second/{second_review_id}/decision"): Row(REVIEWERS, {"outcome": "approved"}),
    ("GET", "/reviews/dashboard"): Row(frozenset({DIRECTOR, REVIEWER, OUTSIDER, ADMIN})),
    ("POST", "/reviews/findings/{finding_id}/resolve"): Row(ADMINS, {"reason": "checked by hand"}),
    ("GET", "/consents"): Row(REVIEWERS),
    ("POST", "/consents"): Row(ADMINS, {"performer": "Mara Quinn", "scopes": ["name"], "reason": "signed release"}),
    ("POST", "/consents/{consent_id}/revoke"): Row(ADMINS, {"reason": "withdrawn"}),
    ("POST", "/consents/{consent_id}/references"): Row(ADMINS),
    ("GET", "/consents/{consent_id}/references/{reference_id}"): Row(REVIEWERS),
    ("GET", "/audit"): Row(ADMINS),
}


@dataclass
class World:
    stack: Stack
    ids: dict[str, str]
    headers: dict[str, dict[str, str]]


@pytest_asyncio.fixture(scope="module")
async def world(infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder = tmp_path_factory.mktemp("gateway-authz")
    async with gateway_stack(make_settings(infra_env, folder), folder) as stack:
        admin = bearer(stack.token("root", "admin"))
        async with stack.client() as client:
            created = await client.post("/productions", json={"title": "The Lighthouse", "logline": "A keeper keeps the light.", "performers": ["Mara Quinn"]}, headers=admin)
            pid = created.json()["production_id"]
            job_id = (await client.post(f"/productions/{pid}/requests/script", json={}, headers=admin)).json()["job_id"]
            asset = stored_asset_event(stack.settings, pid, job_id=job_id, requested_by="dora")
            async with HelixBus(stack.settings, source="/helix/writer") as writer:
                await writer.publish_event(asset)
            client.headers.update(admin)
            await poll(client, f"/assets/{asset.data.asset_id}", lambda r: r.status_code == 200, what="asset projection")
            queue = await poll(client, "/reviews/queue", lambda r: len(r.json()["items"]) == 1, what="review item")
        other = HelixSettings(auth_secret="some-other-key-" + "x" * 32, auth_issuer=stack.settings.auth_issuer, auth_audience=stack.settings.auth_audience)
        headers = {
            ANONYMOUS: {},
            FORGED: bearer(mint_token(other, "mallory", ["admin"])),
            STUDIO: bearer(stack.token("studio-1", "studio-system")),
            DIRECTOR: bearer(stack.token("dora", "director", productions=[pid])),
            REVIEWER: bearer(stack.token("rhea", "reviewer", productions=[pid])),
            OUTSIDER: bearer(stack.token("otto", "reviewer", productions=["elsewhere"])),
            ADMIN: admin,
        }
        ids = {
            "production_id": pid,
            "job_id": job_id,
            "asset_id": asset.data.asset_id,
            "item_id": queue.json()["items"][0]["item_id"],
            "finding_id": "no-such-finding",
            "second_review_id": "no-such-second-review",
            "consent_id": "no-such-consent",
            "series_id": "harbour",
            "reference_id": "no-such-reference",
        }
        yield World(stack, ids, headers)


def _endpoints(stack: Stack) -> set[tuple[str, str]]:
    """Every (method, path) the application serves, HEAD aside."""
    routes = {(m, r.path) for r in api_routes(stack.app) for m in r.methods}
    routes |= {(m, r.path) for r in stack.app.routes if isinstance(r, Route) for m in (r.methods or ())}
    return {(m, p) for m, p in routes if m != "HEAD"}


def test_matrix_covers_every_endpoint(world: World) -> None:
    served = _endpoints(world.stack)
    assert served - MATRIX.keys() == set(), "endpoints without an authorization row"
    assert MATRIX.keys() - served == set(), "rows for endpoints that do not exist"


def test_documented_roles_match_the_matrix(world: World) -> None:
    operations = world.stack.app.openapi()["paths"]
    for (method, path), row in MATRIX.items():
        operation = operations.get(path, {}).get(method.lower())
        if operation is None:
            continue  # not in the schema (metrics, docs)
        documented = operation.get("x-helix-roles")
        if row.allowed == PUBLIC:
            assert documented is None and operation["security"] == [], path
        else:
            assert set(documented) == {ROLE_OF[c] for c in row.allowed if c != OUTSIDER} | {"admin"}, (method, path)


@pytest.mark.parametrize(("method", "path"), list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_authorization(world: World, method: str, path: str) -> None:
    row = MATRIX[(method, path)]
    url = path.format(**world.ids)
    wrong: list[str] = []
    async with world.stack.client() as client:
        for caller in CALLERS:
            request = client.build_request(method, url, json=row.body, headers=world.headers[caller])
            response = await client.send(request, stream=True)  # the event stream never ends: read the status only
            status = response.status_code
            body = (await response.aread()).decode(errors="replace")[:300] if status != 200 or not path.endswith("/events") else ""
            await response.aclose()
            if caller in row.allowed:
                if status in (401, 403) or status >= 500:
                    wrong.append(f"{caller}: allowed, got {status} {body}")
            else:
                expected = 401 if caller in (ANONYMOUS, FORGED) else 403
                if status != expected:
                    wrong.append(f"{caller}: expected {expected}, got {status} {body}")
                elif expected == 401 and "Bearer" not in response.headers.get("www-authenticate", ""):
                    wrong.append(f"{caller}: 401 without a WWW-Authenticate: Bearer challenge")
    assert not wrong, f"{method} {path}:\n" + "\n".join(wrong)
