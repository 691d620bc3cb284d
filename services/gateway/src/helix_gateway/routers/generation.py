"""Generation requests: each becomes a request event on the bus and a job to follow.

A body holds the fields of the matching `helix.events` request model except
production_id, job_id and requested_by, which the gateway fills in. The job row is
written before the event is published, so a job status event never finds no job.
"""

# No `from __future__ import annotations` here: the endpoints are built in a loop and
# FastAPI must see each one's body model, not the name of a loop variable.

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from helix.auth import Principal, Role
from helix.events import (
    Actor,
    AnimaticRequested,
    CandidateApplied,
    ClipRequested,
    DialogueEdited,
    DialogueRewriteRequested,
    FrameRequested,
    FramesRedrawRequested,
    GenerationRequest,
    LocalizeRequested,
    ReferenceSheetRequested,
    SceneRequested,
    ScriptEditRequested,
    ScriptLevelRewritten,
    ScriptRequested,
    StoryboardRequested,
    TextureRequested,
)
from helix.events.data import Id, Locale, ShortText
from helix_gateway.fields import ApiId, ApiModel, ProductionId
from helix_gateway.ids import new_job_id
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Job, Production
from helix_gateway.security import ensure_sees_production, require
from helix_gateway.state import Gateway, GatewayState

router = APIRouter(prefix="/productions/{production_id}/requests", tags=["generation"], responses=problem_responses(400, 401, 403, 404, 422, 503))

REQUESTS: dict[str, type[GenerationRequest]] = {
    "script": ScriptRequested,
    "level-rewrite": ScriptLevelRewritten,
    "dialogue-rewrite": DialogueRewriteRequested,
    "script-edit": ScriptEditRequested,
    "dialogue-edit": DialogueEdited,
    "candidate-apply": CandidateApplied,
    "storyboard": StoryboardRequested,
    "frame": FrameRequested,
    "clip": ClipRequested,  # a shot in motion, from its approved frame
    "scene": SceneRequested,
    "texture": TextureRequested,
    "reference-sheet": ReferenceSheetRequested,  # the cast: each character's and place's views, reviewed, then kept by frames
    "frames-redraw": FramesRedrawRequested,  # the tree's stale frames, drawn again with the references approved now
    "localization": LocalizeRequested,
    "animatic": AnimaticRequested,
}
_FILLED_IN = {"production_id", "job_id", "requested_by"}
# Script requests may leave out what the production already says.
_FROM_PRODUCTION = {
    "logline": (Annotated[str, Field(min_length=1, max_length=2_000)] | None, Field(None, description="Default: the production's logline")),
    "style": (ShortText | None, Field(None, description="Default: the production's style")),
    "target_locales": (list[Locale] | None, Field(None, max_length=50, description="Default: the production's target locales")),
    "performers": (list[ShortText] | None, Field(None, max_length=100, description="Default: the production's performers")),
}


class RequestAccepted(BaseModel):
    job_id: str
    event_id: str = Field(description="CloudEvent id of the request on the bus")
    status_url: str = Field(description="Where to follow the job")


def _published(annotation: Any) -> Any:
    """`annotation` with each `Id` swapped for `ApiId`: same rule, but its pattern shows in OpenAPI."""
    if annotation == Id:
        return ApiId
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:  # constraints kept, the type inside rewritten (`list[Id]` with a max length)
        return Annotated[(_published(args[0]), *annotation.__metadata__)]
    if origin is list:
        return list[_published(args[0])]  # type: ignore[misc]  # a list type built at run time
    if origin in (Union, UnionType):
        return Union[tuple(_published(a) for a in args)]  # noqa: UP007  (a union built at run time)
    return annotation


def _field(info: FieldInfo) -> tuple[Any, FieldInfo]:
    # The full annotation (constraints included) rewritten; the FieldInfo keeps default,
    # description and examples but no constraints, so none is applied twice.
    annotation = _published(info.rebuild_annotation())
    plain = copy.copy(info)
    plain.metadata = []
    return annotation, plain


# JSON numbers past 2**53 are rounded by most clients (and by the OpenAPI document's own readers):
# the API takes the seeds every client can send exactly. Helix's own 63-bit seeds never pass here.
API_SEED = (Annotated[int, Field(ge=0, le=2**53 - 1)] | None, Field(None, description="Makes the generation repeatable (0 to 2^53-1)"))
# What only Helix's services set on their own requests (the decision a reaction answers).
_SERVICE_ONLY = {"caused_by"}


def body_model(event_model: type[GenerationRequest]) -> type[ApiModel]:
    fields: dict[str, Any] = {name: _field(info) for name, info in event_model.model_fields.items()
                              if name not in _FILLED_IN | _SERVICE_ONLY}
    if "seed" in fields:
        fields["seed"] = API_SEED
    if event_model is ScriptRequested:
        fields.update(_FROM_PRODUCTION)
    name = event_model.__name__.removesuffix("Requested") + "Request"
    return create_model(name, __base__=ApiModel, __doc__=f"Body of a {event_model.event_type} request.", **fields)


def _event_fields(event_model: type[GenerationRequest], body: ApiModel, production: Production) -> dict[str, Any]:
    fields = body.model_dump()
    if event_model is ScriptRequested:
        defaults = {"logline": production.logline, "style": production.style, "target_locales": production.target_locales, "performers": production.performers}
        fields.update({k: v for k, v in defaults.items() if fields.get(k) is None})
    return fields


def requester(principal: Principal) -> Actor:
    kind = "service" if Role.STUDIO_SYSTEM in principal.roles else "user"
    return Actor(subject=principal.subject, kind=kind, roles=sorted(r.value for r in principal.roles))


async def production_for_request(gw: GatewayState, principal: Principal, production_id: str) -> Production:
    """The production a request is for, once the principal may see it and the bus can take it."""
    ensure_sees_production(principal, production_id)
    production = await gw.read_model.production(production_id)
    if production is None:
        raise ProblemError(404, f"no production {production_id!r}")
    if not gw.bus_ready.is_set():
        raise ProblemError(503, "the event bus is not connected yet; try again shortly", headers={"Retry-After": "5"})
    return production


async def publish_request(gw: GatewayState, request: Request, response: Response, principal: Principal,
                          build: Callable[[str], GenerationRequest]) -> RequestAccepted:
    """A new job for the request `build(job_id)` makes: its row first, then the request on the bus."""
    job_id, event_id = new_job_id(), str(uuid.uuid4())
    data = build(job_id)
    now = datetime.now(UTC)
    await gw.read_model.add_job(
        Job(
            job_id=job_id,
            production_id=data.production_id,
            request_type=type(data).event_type,
            status="requested",
            asset_ids=[],
            requested_by=principal.subject,
            request_event_id=event_id,
            created_at=now,
            updated_at=now,
        )
    )
    try:
        await gw.bus.publish(data, event_id=event_id)
    except Exception as exc:
        await gw.read_model.fail_job(job_id, f"the request could not be published: {type(exc).__name__}", datetime.now(UTC))
        raise ProblemError(503, "the request could not be published to the event bus; try again", headers={"Retry-After": "5"}) from exc
    status_url = request.app.url_path_for("get_job", job_id=job_id)
    response.headers["Location"] = status_url
    return RequestAccepted(job_id=job_id, event_id=event_id, status_url=status_url)


def _endpoint(what: str, event_model: type[GenerationRequest]) -> Callable[..., Any]:
    Body = body_model(event_model)

    async def request_generation(
        production_id: ProductionId,
        body: Body,  # type: ignore[valid-type]  # a model built at run time from the event model
        request: Request,
        response: Response,
        gw: Gateway,
        principal: Annotated[Principal, Depends(require(Role.STUDIO_SYSTEM, Role.DIRECTOR))],
    ) -> RequestAccepted:
        production = await production_for_request(gw, principal, production_id)
        return await publish_request(gw, request, response, principal, lambda job_id: event_model(
            **_event_fields(event_model, body, production), production_id=production_id, job_id=job_id, requested_by=requester(principal)))

    request_generation.__name__ = f"request_{what.replace('-', '_')}"
    return request_generation


for _what, _model in REQUESTS.items():
    router.add_api_route(
        f"/{_what}",
        _endpoint(_what, _model),
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        summary=f"Request a {_what.replace('-', ' ')} ({_model.event_type})",
        operation_id=f"request_{_what.replace('-', '_')}",
    )
