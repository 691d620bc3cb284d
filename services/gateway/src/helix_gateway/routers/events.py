"""A production's live events as Server-Sent Events: job status and review decisions.

Event name = the CloudEvents type, data = the CloudEvent as JSON, id = its event id.
A stream that falls behind ends with `helix.stream.dropped`; reconnect and read the
current state from the jobs and assets endpoints.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from helix_gateway.problems import problem_responses
from helix_gateway.state import Gateway, VisibleProduction

router = APIRouter(tags=["events"], responses=problem_responses(401, 403, 404, 422))


@router.get(
    "/productions/{production_id}/events",
    summary="Live job status and review decisions of a production (text/event-stream)",
    response_class=EventSourceResponse,
    responses={200: {"description": "An endless event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def production_events(production: VisibleProduction, gw: Gateway) -> EventSourceResponse:
    # Subscribe before answering, so nothing published after the response starts is missed.
    subscription = gw.fanout.subscribe(production.production_id)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in subscription.events():
                yield ServerSentEvent(data=event.data, event=event.type, id=event.id)
        finally:
            gw.fanout.unsubscribe(subscription)

    # Also after the response, in case the client left before the stream ever started.
    cleanup = BackgroundTask(gw.fanout.unsubscribe, subscription)
    return EventSourceResponse(stream(), ping=gw.settings.sse_ping_seconds, background=cleanup)
