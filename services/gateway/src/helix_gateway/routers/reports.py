"""Reports: a production's cost and time ledger, its credits, and an asset's attribution."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse

from helix.assets import AssetIntegrityError, AssetNotFound
from helix.auth import Principal, Role
from helix_gateway.credits import AssetAttribution, Credits, attribute, build_credits, credits_markdown
from helix_gateway.fields import ProductionId
from helix_gateway.ledger import Ledger, build_ledger, finished_minutes
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.security import AnyRole, require
from helix_gateway.state import Gateway, GatewayState, VisibleAsset, visible_production

router = APIRouter(tags=["reports"], responses=problem_responses(401, 403, 404, 422, 502))

Accountable = Annotated[Principal, Depends(require(Role.STUDIO_SYSTEM, Role.DIRECTOR))]


async def _read(gw: GatewayState, key: str) -> bytes:
    try:
        return await asyncio.to_thread(gw.store.get, key)
    except (AssetNotFound, AssetIntegrityError) as exc:
        raise ProblemError(502, f"the asset store could not give {key}: {exc}") from None


def _reader(gw: GatewayState) -> Any:
    return lambda key: gw.store.get(key)


@router.get("/productions/{production_id}/ledger", summary="Model, GPU, queue and review time per asset, per kind and per finished minute")
async def production_ledger(production_id: ProductionId, gw: Gateway, principal: Accountable) -> Ledger:
    await visible_production(gw, principal, production_id)
    rows = await gw.read_model.production_assets(production_id)
    try:
        minutes = await asyncio.to_thread(finished_minutes, rows, _reader(gw))
    except (AssetNotFound, AssetIntegrityError) as exc:
        raise ProblemError(502, f"an approved storyboard could not be read: {exc}") from None
    return build_ledger(production_id, rows, minutes)


@router.get(
    "/productions/{production_id}/credits",
    summary="Who wrote what: people and models credited for the approved work (JSON or Markdown)",
    response_model=Credits,
    responses={200: {"content": {"text/markdown": {}}}},
)
async def production_credits(
    production_id: ProductionId,
    gw: Gateway,
    principal: AnyRole,
    format: Annotated[Literal["json", "markdown"], Query(description="json (default) or markdown")] = "json",  # noqa: A002
) -> Credits | Response:
    production = await visible_production(gw, principal, production_id)
    rows = await gw.read_model.production_assets(production_id)
    try:
        credits = await asyncio.to_thread(build_credits, production_id, production.title, rows, _reader(gw))
    except (AssetNotFound, AssetIntegrityError) as exc:
        raise ProblemError(502, f"an approved asset could not be read: {exc}") from None
    if format == "markdown":
        return PlainTextResponse(credits_markdown(credits), media_type="text/markdown; charset=utf-8")
    return credits


@router.get("/assets/{asset_id}/attribution", summary="Which parts of an asset a person wrote and which a model generated")
async def asset_attribution(found: VisibleAsset, gw: Gateway) -> AssetAttribution:
    asset, _ = found
    body = await _read(gw, asset.object_key) if (asset.media_type or "").endswith("json") and asset.object_key else None
    return attribute(asset, body)
