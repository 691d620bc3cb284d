"""Productions: what every job, asset and review belongs to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from helix.auth import Principal, Role
from helix.events.data import Locale
from helix.provenance import DataUse, TrainingMining
from helix.v1 import review_pb2
from helix_gateway.fields import CHECKED, ApiModel, ProductionId, bounded
from helix_gateway.ids import production_id_for
from helix_gateway.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Production
from helix_gateway.security import AnyRole, actor_proto, ensure_sees_production, require, sees_all_productions
from helix_gateway.state import Gateway

router = APIRouter(prefix="/productions", tags=["productions"], responses=problem_responses(400, 401, 403, 422))

Title = Annotated[str, bounded(300, min_length=1), CHECKED]
Logline = Annotated[str, bounded(2_000, min_length=1), CHECKED]
Name = Annotated[str, bounded(500, min_length=1), CHECKED]
Term = Annotated[str, bounded(200, min_length=1), CHECKED]
Style = Annotated[str, bounded(500), CHECKED]


class ProductionCreate(ApiModel):
    title: Title
    logline: Logline
    style: Style | None = None
    target_locales: list[Locale] = Field(default_factory=list, max_length=50, description="BCP 47 tags, e.g. de-DE")
    performers: list[Name] = Field(default_factory=list, max_length=100, description="Performers whose names and likeness the review service watches")
    banned_terms: list[Term] = Field(default_factory=list, max_length=500, description="Terms the review service flags in this production")
    training_mining: TrainingMining = Field("notAllowed", description="What every C2PA manifest of its assets tells downstream tools "
                                                                      "about AI training and data mining (CAWG)")


class ProductionView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    production_id: str
    title: str
    logline: str
    style: str | None = None
    target_locales: list[str]
    performers: list[str]
    training_mining: str = Field(description="notAllowed, allowed or constrained: what its assets' manifests say of training and mining")
    created_by: str
    created_at: datetime




@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a production (and tell the review service which performers to watch)",
    responses=problem_responses(409, 502, 503, 504),
)
async def create_production(
    body: ProductionCreate,
    request: Request,
    response: Response,
    gw: Gateway,
    principal: Annotated[Principal, Depends(require(Role.STUDIO_SYSTEM, Role.DIRECTOR))],
) -> ProductionView:
    production_id = production_id_for(body.title)
    # The policy first: a production must never exist without its performers being watched.
    policy = review_pb2.Policy(production_id=production_id, performers=body.performers, banned_terms=body.banned_terms)
    await gw.review.set_policy(review_pb2.SetPolicyRequest(actor=actor_proto(principal), policy=policy))
    # Then its data-use choice, where every generator reads it as it signs: nothing is generated before it is there.
    try:
        await asyncio.to_thread(gw.store.put_data_use, DataUse(production_id=production_id, training_mining=body.training_mining))
    except Exception as exc:
        raise ProblemError(503, f"the production's data-use choice could not be stored ({type(exc).__name__}); try again",
                           headers={"Retry-After": "5"}) from exc
    production = Production(
        production_id=production_id,
        title=body.title,
        logline=body.logline,
        style=body.style,
        target_locales=list(body.target_locales),
        performers=list(body.performers),
        training_mining=body.training_mining,
        created_by=principal.subject,
        created_at=datetime.now(UTC),
    )
    await gw.read_model.add_production(production)
    response.headers["Location"] = request.app.url_path_for("get_production", production_id=production_id)
    return ProductionView.model_validate(production)


@router.get("", summary="Productions you may see, newest first")
async def list_productions(
    gw: Gateway,
    principal: AnyRole,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ProductionView]:
    after = decode_cursor(cursor, datetime, str) if cursor else None
    visible = None if sees_all_productions(principal) else list(principal.productions)
    rows = await gw.read_model.productions(visible=visible, after=after, limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].production_id) if len(rows) > limit else None
    return Page[ProductionView](items=[ProductionView.model_validate(p) for p in page], next_cursor=next_cursor)


@router.get("/{production_id}", summary="One production", responses=problem_responses(404))
async def get_production(
    production_id: ProductionId,
    gw: Gateway,
    principal: AnyRole,
) -> ProductionView:
    ensure_sees_production(principal, production_id)
    production = await gw.read_model.production(production_id)
    if production is None:
        raise ProblemError(404, f"no production {production_id!r}")
    return ProductionView.model_validate(production)
