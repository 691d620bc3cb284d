"""A production's live events as Server-Sent Events: subscribed before the answer starts, each
event named by its CloudEvents type with its id, the production's only, ending with the
final event of a closed stream, and the subscriber gone afterwards."""

from __future__ import annotations

import asyncio

import httpx

from helix_gateway.fanout import LiveEvent
from helix_gateway.state import GatewayState

from ..conftest import add_production, auth

DANA = auth("dana", "director", productions=["lighthouse"])


def frames(text: str) -> list[dict[str, str]]:
    """The SSE events of a stream body (comments and pings left out)."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":") and ": " in line)
        if "event" in fields:
            out.append(fields)
    return out


async def test_the_stream_carries_its_productions_events_until_it_ends(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway, "lighthouse")
    request = asyncio.create_task(client.get("/productions/lighthouse/events", headers=DANA))
    for _ in range(200):
        if gateway.fanout.subscriber_count("lighthouse"):
            break
        await asyncio.sleep(0.01)
    gateway.fanout.publish("lighthouse", LiveEvent("e1", "helix.job.progress", '{"n":1}'))
    gateway.fanout.publish("harbour", LiveEvent("e2", "helix.job.progress", '{"n":2}'))
    gateway.fanout.publish("lighthouse", LiveEvent("e3", "helix.review.approved", '{"n":3}'))
    gateway.fanout.close()  # the gateway shuts down: the stream ends with its final event
    response = await asyncio.wait_for(request, 5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert [(f["event"], f.get("id"), f["data"]) for f in frames(response.text)][:2] == [
        ("helix.job.progress", "e1", '{"n":1}'),
        ("helix.review.approved", "e3", '{"n":3}'),
    ]
    assert frames(response.text)[-1]["event"] == "helix.stream.closed"
    assert gateway.fanout.subscriber_count() == 0


async def test_no_stream_for_a_production_one_may_not_see(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    await add_production(gateway, "harbour")
    assert (await client.get("/productions/harbour/events", headers=DANA)).status_code == 403
    assert (await client.get("/productions/lighthouse/events", headers=DANA)).status_code == 404
    assert (await client.get("/productions/lighthouse/events")).status_code == 401
    assert gateway.fanout.subscriber_count() == 0
