"""Generation requests: each kind's body is its event's fields less what the gateway fills in;
a request writes its job, then publishes its event (a failed publish fails the job), and script
requests take what they leave out from their production."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helix.events import FrameRequested, ScriptRequested, StoryboardRequested
from helix.events.data import ID_PATTERN
from helix.events.examples import EXAMPLES
from helix_gateway.routers.generation import REQUESTS, body_model
from helix_gateway.state import GatewayState

from ..conftest import add_production, auth, bus_of

DANA = auth("dana", "director", productions=["lighthouse"])
FILLED = {"production_id", "job_id", "requested_by", "caused_by"}


def body_for(what: str) -> dict[str, Any]:
    return {k: v for k, v in EXAMPLES[REQUESTS[what]].items() if k not in FILLED}


@pytest.fixture(autouse=True)
async def lighthouse(gateway: GatewayState) -> None:
    await add_production(
        gateway,
        "lighthouse",
        logline="The keeper's last storm.",
        style="coastal noir",
        target_locales=["de-DE"],
        performers=["Ann Lee"],
    )


@pytest.mark.parametrize("what", sorted(REQUESTS))
async def test_every_kind_becomes_a_job_and_its_event(client: httpx.AsyncClient, gateway: GatewayState, what: str) -> None:
    response = await client.post(f"/productions/lighthouse/requests/{what}", json=body_for(what), headers=DANA)
    assert response.status_code == 202, response.text
    accepted = response.json()
    [event] = bus_of(gateway).published
    assert event.id == accepted["event_id"] and isinstance(event.data, REQUESTS[what])
    assert (event.data.production_id, event.data.job_id) == ("lighthouse", accepted["job_id"])
    assert accepted["status_url"] == response.headers["location"] == f"/jobs/{accepted['job_id']}"
    job = await gateway.read_model.job(accepted["job_id"])
    assert job is not None and (job.status, job.request_type, job.requested_by, job.request_event_id) == (
        "requested",
        REQUESTS[what].event_type,
        "dana",
        event.id,
    )


async def test_the_requester_is_recorded_as_a_person_or_a_service(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await client.post("/productions/lighthouse/requests/frame", json=body_for("frame"), headers=DANA)
    await client.post("/productions/lighthouse/requests/frame", json=body_for("frame"), headers=auth("pipeline", "studio-system"))
    person, system = (e.data.requested_by for e in bus_of(gateway).published)
    assert (person.subject, person.kind, person.roles) == ("dana", "user", ["director"])
    assert (system.subject, system.kind, system.roles) == ("pipeline", "service", ["studio-system"])


async def test_a_script_request_takes_what_it_leaves_out_from_its_production(
    client: httpx.AsyncClient, gateway: GatewayState
) -> None:
    await client.post("/productions/lighthouse/requests/script", json={}, headers=DANA)
    await client.post(
        "/productions/lighthouse/requests/script", json={"logline": "Another storm.", "target_locales": []}, headers=DANA
    )
    defaulted, given = (e.data for e in bus_of(gateway).published)
    assert isinstance(defaulted, ScriptRequested) and isinstance(given, ScriptRequested)
    assert (defaulted.logline, defaulted.style, defaulted.target_locales, defaulted.performers) == (
        "The keeper's last storm.",
        "coastal noir",
        ["de-DE"],
        ["Ann Lee"],
    )
    assert (given.logline, given.style, given.target_locales) == ("Another storm.", "coastal noir", [])


@pytest.mark.parametrize(
    "change",
    [
        {"production_id": "other"},
        {"job_id": "job-x"},
        {"requested_by": {"subject": "x"}},
        {"caused_by": {"decision_id": "d", "event_id": "e", "asset_id": "a", "outcome": "approved"}},
        {"seed": 2**53},
        {"width": 100},
    ],
    ids=["production", "job", "requester", "decision", "seed past 2^53", "width not a multiple of 8"],
)
async def test_what_the_gateway_fills_in_or_the_event_refuses_is_a_422(
    client: httpx.AsyncClient, gateway: GatewayState, change: dict[str, Any]
) -> None:
    response = await client.post("/productions/lighthouse/requests/frame", json={**body_for("frame"), **change}, headers=DANA)
    assert response.status_code == 422 and bus_of(gateway).published == []
    assert await gateway.read_model.jobs("lighthouse") == []


async def test_who_may_request_and_where(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    body = body_for("frame")
    assert (
        await client.post(
            "/productions/lighthouse/requests/frame", json=body, headers=auth("rhea", "reviewer", productions=["*"])
        )
    ).status_code == 403
    assert (await client.post("/productions/harbour/requests/frame", json=body, headers=DANA)).status_code == 403
    assert (await client.post("/productions/harbour/requests/frame", json=body, headers=auth("root", "admin"))).status_code == 404
    assert bus_of(gateway).published == []


async def test_no_job_while_the_bus_is_not_connected(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    gateway.bus_ready.clear()
    response = await client.post("/productions/lighthouse/requests/frame", json=body_for("frame"), headers=DANA)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert await gateway.read_model.jobs("lighthouse") == [] and bus_of(gateway).published == []


async def test_a_request_that_cannot_be_published_fails_its_job(
    client: httpx.AsyncClient, gateway: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def away(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker away")

    monkeypatch.setattr(gateway.bus, "publish", away)
    response = await client.post("/productions/lighthouse/requests/frame", json=body_for("frame"), headers=DANA)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    [job] = await gateway.read_model.jobs("lighthouse")
    assert (job.status, job.error) == ("failed", "the request could not be published: ConnectionError")


def test_a_body_model_leaves_out_what_the_gateway_fills_in_and_bounds_seeds() -> None:
    model = body_model(FrameRequested)
    assert not FILLED & set(model.model_fields) and {"prompt", "width", "seed", "shot_id"} <= set(model.model_fields)
    schema = model.model_json_schema()
    assert schema["properties"]["seed"]["anyOf"][0]["maximum"] == 2**53 - 1
    assert model.__name__ == "FrameRequest" and schema["additionalProperties"] is False


def test_ids_in_a_body_show_their_pattern_in_the_schema() -> None:
    schema = body_model(StoryboardRequested).model_json_schema()
    assert schema["properties"]["script_asset_id"]["pattern"] == ID_PATTERN
    scene_ids = schema["properties"]["scene_ids"]  # a bounded list of ids: the bound and the pattern of each
    listed = next(s for s in scene_ids.get("anyOf", [scene_ids]) if s.get("type") == "array")
    assert listed["items"]["pattern"] == ID_PATTERN
