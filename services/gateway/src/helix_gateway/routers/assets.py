"""Generated assets: listings from the read model, lineage from the store's sidecar, and
short-lived presigned download URLs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from helix.assets import AssetIntegrityError, AssetNotFound, InvalidAssetKey
from helix.assets.keys import MEDIA_TYPES
from helix.events import Actor, AssetKind, AssetSummary, DecisionRef, ModelRef
from helix_gateway.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Asset
from helix_gateway.state import Gateway, VisibleAsset, VisibleProduction
from helix_gateway.tree import AssetTree, build_tree

log = structlog.get_logger("helix.gateway")

router = APIRouter(tags=["assets"], responses=problem_responses(401, 403, 422))



class AssetView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    asset_id: str
    version: int
    production_id: str
    kind: str
    object_key: str
    sha256: str
    media_type: str
    size_bytes: int
    job_id: str | None = None
    review_status: str = Field(description="pending, approved, rejected or revision_requested")
    decided_by: str | None = None
    decided_at: datetime | None = None
    review_notes: str | None = None
    created_at: datetime = Field(description="When the asset was generated")


class Lineage(BaseModel):
    parent_asset_ids: list[str]
    model: ModelRef | None = Field(None, description="Model id and revision that generated it")
    inputs: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    authorship: str
    generated_by: Actor
    requested_by: Actor | None = None
    caused_by: DecisionRef | None = Field(None, description="The review decision the job that made it reacted to")
    summary: AssetSummary | None = Field(None, description="What review reads of it, typed per kind")


class AssetDetail(AssetView):
    versions: list[int] = Field(description="Every version the gateway knows, oldest first")
    lineage: Lineage
    event_id: str = Field(description="CloudEvent id of its helix.asset.generated event")
    sidecar: dict[str, Any] | None = Field(None, description="The store's sidecar of this version (lineage and provenance as stored)")
    sidecar_error: str | None = Field(None, description="Why the sidecar could not be read, if it could not")


class Download(BaseModel):
    url: str = Field(description="Presigned GET URL of the object")
    expires_at: datetime


def _object_key(asset: Asset) -> str:
    if asset.object_key is None:  # a decision projected before the asset's own event
        raise ProblemError(404, f"asset {asset.asset_id!r} version {asset.version} has no stored object yet")
    return asset.object_key


@router.get("/productions/{production_id}/assets", summary="A production's asset versions, newest first", responses=problem_responses(404))
async def list_assets(
    production: VisibleProduction,
    gw: Gateway,
    kind: Annotated[AssetKind | None, Query(description="Only this kind")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AssetView]:
    after = decode_cursor(cursor, datetime, str, int) if cursor else None
    rows = await gw.read_model.assets(production.production_id, kind=kind.value if kind else None, after=after, limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].asset_id, page[-1].version) if len(rows) > limit else None
    return Page[AssetView](items=[AssetView.model_validate(a) for a in page], next_cursor=next_cursor)


@router.get("/productions/{production_id}/tree", summary="Every asset of a production under the assets it was made from, with statuses",
            responses=problem_responses(404))
async def production_tree(production: VisibleProduction, gw: Gateway) -> AssetTree:
    pid = production.production_id
    return build_tree(pid, [asset for asset, _job in await gw.read_model.production_assets(pid)])


@router.get("/assets/{asset_id}", summary="An asset version with its lineage", responses=problem_responses(404))
async def get_asset(found: VisibleAsset, gw: Gateway) -> AssetDetail:
    asset, versions = found
    asset_id = asset.asset_id
    generated = asset.generated()
    if generated is None:
        raise ProblemError(404, f"asset {asset_id} has no generated event yet")
    sidecar, sidecar_error = None, None
    try:
        sidecar = await asyncio.to_thread(gw.store.sidecar, _object_key(asset))
    except (AssetNotFound, AssetIntegrityError, InvalidAssetKey) as exc:
        sidecar_error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # the store is away: the read model still answers
        log.warning("gateway.sidecar_unavailable", asset_id=asset_id, error=repr(exc)[:300])
        sidecar_error = f"the asset store did not answer: {type(exc).__name__}"
    lineage = Lineage(parent_asset_ids=generated.parent_asset_ids, model=generated.model, inputs=generated.inputs,
                      parameters=generated.parameters, seed=generated.seed, authorship=generated.authorship.value,
                      generated_by=generated.generated_by, requested_by=generated.requested_by, caused_by=generated.caused_by,
                      summary=generated.typed_summary())
    view = AssetView.model_validate(asset)
    return AssetDetail(**view.model_dump(), versions=versions, lineage=lineage, event_id=(asset.event or {}).get("id", ""), sidecar=sidecar, sidecar_error=sidecar_error)


@router.get("/assets/{asset_id}/download", summary="A short-lived download URL", responses=problem_responses(404, 502))
async def download_asset(found: VisibleAsset, gw: Gateway) -> Download:
    asset, _ = found
    asset_id = asset.asset_id
    lifetime = min(gw.settings.presign_seconds, gw.settings.presign_max_seconds)
    issued = datetime.now(UTC)  # the URL's clock starts when it is signed: never promise longer
    try:
        url = await asyncio.to_thread(gw.store.presign, _object_key(asset), timedelta(seconds=lifetime))
    except AssetNotFound:
        raise ProblemError(404, f"asset {asset_id!r} version {asset.version} is not in the asset store") from None
    except InvalidAssetKey as exc:
        raise ProblemError(502, f"the asset's object key is not valid: {exc.why}") from None
    except Exception as exc:
        log.warning("gateway.presign_failed", asset_id=asset_id, error=repr(exc)[:300])
        raise ProblemError(502, "the asset store did not answer") from None
    return Download(url=url, expires_at=issued + timedelta(seconds=lifetime))


@router.get(
    "/assets/{asset_id}/content",
    summary="The asset's bytes, checked against their sha256 (for the console and clients without store access)",
    response_class=Response,
    responses={**problem_responses(404, 502), 200: {"content": {media: {} for media in MEDIA_TYPES},
                                                     "description": "The asset's bytes, as the media type it was stored as"}},
)
async def asset_content(found: VisibleAsset, gw: Gateway) -> Response:
    asset, _ = found
    asset_id = asset.asset_id
    try:
        data = await asyncio.to_thread(gw.store.get, _object_key(asset))
    except AssetNotFound:
        raise ProblemError(404, f"asset {asset_id!r} version {asset.version} is not in the asset store") from None
    except AssetIntegrityError:
        raise ProblemError(502, f"asset {asset_id!r} version {asset.version} does not match its recorded sha256") from None
    except Exception as exc:
        log.warning("gateway.content_failed", asset_id=asset_id, error=repr(exc)[:300])
        raise ProblemError(502, "the asset store did not answer") from None
    # A version never changes: the browser may keep it (privately: it was fetched with a token).
    headers = {"Cache-Control": "private, max-age=86400, immutable", "ETag": f'"{asset.sha256}"',
               "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"}
    return Response(data, media_type=asset.media_type or "application/octet-stream", headers=headers)
