"""A production's cast and its voice casting. The cast (`GET …/cast`): each character and place
with its reference sheets, the view frames keep, the frames drawn with it and which are stale,
and a character's voices. The voice casting (`helix.casting`), kept by the review service
beside the consents it relies on: everyone assigned to the production reads it; directors and
admins change it, and a change answers with the dubs it makes stale (those that speak a
character whose voice it changed), so nothing changes silently. A series' casting (`…/series/{id}/casting`,
set by admins) speaks every character its productions do not cast themselves; its change answers
with the stale dubs of each production of the series. A person's own view of a character or place (`POST …/cast/references`):
the file is staged in the store and a `ReferenceUploaded` request takes it to the visual service,
which keeps it as a human-authored view, reviewed like a generated one."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from helix.assets import UploadKey
from helix.assets.media import bytes_are
from helix.auth import Principal, Role
from helix.casting import Casting, CastingEntry, ResolvedCasting, SeriesCasting, SeriesId
from helix.events import UPLOAD_MEDIA_TYPES, ReferenceUploaded, ReferenceView, StagedUpload
from helix.v1 import review_pb2
from helix_gateway.cast import CastOverview, cast_overview
from helix_gateway.fields import ApiId, ApiModel, ProductionId
from helix_gateway.ids import new_upload_id
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.routers.generation import RequestAccepted, production_for_request, publish_request, requester
from helix_gateway.routers.reviews import REVIEW_ERRORS
from helix_gateway.security import Admin, AnyRole, actor_proto, ensure_sees_production, require
from helix_gateway.state import Gateway
from helix_gateway.tree import StaleDub, stale_dubs

router = APIRouter(prefix="/productions/{production_id}", tags=["casting"], responses=REVIEW_ERRORS)
series_router = APIRouter(prefix="/series/{series_id}", tags=["casting"], responses=REVIEW_ERRORS)
SeriesPath = Annotated[SeriesId, Path(description="Series id")]

Director = Annotated[Principal, Depends(require(Role.DIRECTOR))]
Requester = Annotated[Principal, Depends(require(Role.STUDIO_SYSTEM, Role.DIRECTOR))]


class CastingUpdate(ApiModel):
    entries: list[CastingEntry] = Field(max_length=2_000, description="Every entry of the casting: it replaces the one before")
    series_id: SeriesId | None = Field(None, description="The series the production belongs to: its casting speaks every character "
                                                          "these entries do not name")


class SeriesCastingUpdate(ApiModel):
    entries: list[CastingEntry] = Field(max_length=2_000, description="Every entry of the series' casting: it replaces the one before")


class CastingView(BaseModel):
    production_id: str
    entries: list[CastingEntry] = Field(description="The production's own entries")
    series_id: str | None = None
    inherited: list[CastingEntry] = Field(default_factory=list, description="The series' entries in effect here: for the characters "
                                                                            "the production's own entries do not name")
    updated_by: str | None = None
    updated_at: datetime | None = None
    consents: dict[str, str] = Field(description="Performer -> the consent for 'voice' in force for this production")
    unconsented: list[str] = Field(description="Performers cast with no consent for 'voice' in force: dubs of their characters fail "
                                               "until one is recorded")
    stale_dubs: list[StaleDub] = Field(default_factory=list, description="After a change: the newest dubs that speak a character "
                                                                         "whose voice it changed")


class SeriesCastingView(BaseModel):
    series_id: str
    entries: list[CastingEntry]
    updated_by: str | None = None
    updated_at: datetime | None = None
    production_ids: list[str] = Field(description="The productions whose casting belongs to this series")
    stale_dubs: dict[str, list[StaleDub]] = Field(default_factory=dict, description="After a change, by production: the newest dubs "
                                                                                    "that speak a character whose voice it changed")


def _view(resolved: ResolvedCasting, stale: list[StaleDub] | None = None) -> CastingView:
    casting, effective = resolved.casting, resolved.effective
    return CastingView(production_id=casting.production_id, entries=casting.entries, series_id=casting.series_id,
                       inherited=effective.entries[len(casting.entries):], updated_by=casting.updated_by,
                       updated_at=casting.updated_at, consents=resolved.consents,
                       unconsented=[p for p in effective.performers() if resolved.consent_for(p) is None], stale_dubs=stale or [])


def _series_view(found: review_pb2.SeriesCasting, stale: dict[str, list[StaleDub]] | None = None) -> SeriesCastingView:
    series = SeriesCasting.model_validate_json(found.series_json)
    return SeriesCastingView(series_id=series.series_id, entries=series.entries, updated_by=series.updated_by,
                             updated_at=series.updated_at, production_ids=list(found.production_ids), stale_dubs=stale or {})


def _resolved(found: review_pb2.Casting) -> ResolvedCasting:
    return ResolvedCasting.from_wire(found.casting_json, found.series_json, found.consents)


@router.get("/cast", summary="The production's cast: reference sheets, the views frames keep, the frames using them, voices")
async def get_cast(production_id: ProductionId, gw: Gateway, principal: AnyRole) -> CastOverview:
    ensure_sees_production(principal, production_id)
    casting = _resolved(await gw.review.get_casting(review_pb2.GetCastingRequest(production_id=production_id)))
    rows = [asset for asset, _ in await gw.read_model.production_assets(production_id)]
    return cast_overview(production_id, rows, casting)


@router.get("/casting", summary="The production's voice casting")
async def get_casting(production_id: ProductionId, gw: Gateway, principal: AnyRole) -> CastingView:
    ensure_sees_production(principal, production_id)
    return _view(_resolved(await gw.review.get_casting(review_pb2.GetCastingRequest(production_id=production_id))))


@router.put("/casting", summary="Set the production's voice casting (directors, admins)")
async def set_casting(production_id: ProductionId, body: CastingUpdate, gw: Gateway, principal: Director) -> CastingView:
    ensure_sees_production(principal, production_id)
    if await gw.read_model.production(production_id) is None:
        raise ProblemError(404, f"no production {production_id!r}")
    # one voice per character and locale: checked here, 422
    casting = Casting(production_id=production_id, entries=body.entries, series_id=body.series_id)
    before = _resolved(await gw.review.get_casting(review_pb2.GetCastingRequest(production_id=production_id))).effective
    after = _resolved(await gw.review.set_casting(review_pb2.SetCastingRequest(actor=actor_proto(principal),
                                                                              casting_json=casting.model_dump_json())))
    rows = [asset for asset, _ in await gw.read_model.production_assets(production_id)]
    return _view(after, stale_dubs(rows, before, after.effective))


@series_router.get("/casting", summary="A series' voice casting and the productions that belong to it")
async def get_series_casting(series_id: SeriesPath, gw: Gateway, principal: Requester) -> SeriesCastingView:
    return _series_view(await gw.review.get_series_casting(review_pb2.GetSeriesCastingRequest(series_id=series_id)))


@series_router.put("/casting", summary="Set a series' voice casting (admins: it reaches every production of the series)")
async def set_series_casting(series_id: SeriesPath, body: SeriesCastingUpdate, gw: Gateway, principal: Admin) -> SeriesCastingView:
    series = SeriesCasting(series_id=series_id, entries=body.entries)  # one voice per character and locale: checked here, 422
    linked = await gw.review.get_series_casting(review_pb2.GetSeriesCastingRequest(series_id=series_id))
    before = {p: _resolved(await gw.review.get_casting(review_pb2.GetCastingRequest(production_id=p))).effective
              for p in linked.production_ids}
    found = await gw.review.set_series_casting(review_pb2.SetSeriesCastingRequest(actor=actor_proto(principal),
                                                                                  series_json=series.model_dump_json()))
    stale: dict[str, list[StaleDub]] = {}
    for production_id, was in before.items():
        now = _resolved(await gw.review.get_casting(review_pb2.GetCastingRequest(production_id=production_id))).effective
        rows = [asset for asset, _ in await gw.read_model.production_assets(production_id)]
        if changed := stale_dubs(rows, was, now):
            stale[production_id] = changed
    return _series_view(found, stale)


@router.post("/cast/references", status_code=status.HTTP_202_ACCEPTED, summary="Upload a person's own view of a character or place",
             operation_id="upload_cast_reference", responses=problem_responses(400, 413, 415, 503),
             openapi_extra={"requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                                          for t in UPLOAD_MEDIA_TYPES}}})
async def upload_reference(
    production_id: ProductionId, request: Request, response: Response, gw: Gateway, principal: Requester,
    script_asset_id: Annotated[ApiId, Query(description="The approved script that names the subject")],
    subject: Annotated[str, Query(min_length=1, max_length=80, description="A character or place of that script")],
    view: Annotated[ReferenceView, Query(description="Which view the file is; `establishing` for a place")],
    filename: Annotated[str | None, Query(max_length=255, description="The file's own name, kept in its provenance")] = None,
) -> RequestAccepted:
    """The body is the image itself (PNG, JPEG or WebP), kept verbatim. A job follows: the
    visual service checks the file and the subject against the approved script, then stores the
    view as a human-authored `reference` asset for review."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in UPLOAD_MEDIA_TYPES:
        raise ProblemError(415, f"a view of the cast is one of {', '.join(UPLOAD_MEDIA_TYPES)}; got {media_type or 'no Content-Type'}")
    data = await request.body()
    if not data:
        raise ProblemError(400, "the body is empty: send the image itself")
    if not bytes_are(data, media_type):
        raise ProblemError(415, f"the bytes are not {media_type}")
    await production_for_request(gw, principal, production_id)
    key = UploadKey.for_media(production_id, new_upload_id(), media_type)
    try:
        digest = await asyncio.to_thread(gw.store.stage, key, data, media_type)
    except Exception as exc:
        raise ProblemError(503, f"the upload could not be staged in the asset store ({type(exc).__name__}); try again",
                           headers={"Retry-After": "5"}) from exc
    upload = StagedUpload(key=str(key), sha256=digest, size=len(data), media_type=media_type, filename=filename)
    return await publish_request(gw, request, response, principal, lambda job_id: ReferenceUploaded(
        production_id=production_id, job_id=job_id, requested_by=requester(principal), script_asset_id=script_asset_id,
        subject=subject, view=view, upload=upload))
