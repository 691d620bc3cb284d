"""The review console: one page served by the gateway, its script and styles, and the two
endpoints only it needs (who am I, and an item composed for reviewing).

The page holds no data: it signs in with the same bearer tokens as the API and calls the
API with them, so it can do exactly what the token's role allows. Everything it loads
comes from the gateway (no CDN): studio networks are often cut off from the internet.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from helix.assets import AssetIntegrityError, AssetNotFound
from helix.auth import Role
from helix.events import AnimaticSummary, AssetGenerated, AssetKind, CloudEvent, VoiceoverSummary
from helix.generation.ids import LocaleAssetId, LocalePart, ScriptAssetId, ScriptPart
from helix_gateway.console_views import (
    ConsoleItem,
    SheetFrame,
    content_url,
    layout_panel,
    parse_cues,
    render_text,
    text_diff,
    view_of,
)
from helix_gateway.credits import attribute
from helix_gateway.fields import ApiId
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.readmodel.tables import Asset
from helix_gateway.review_views import item_view
from helix_gateway.routers.reviews import Reviewer
from helix_gateway.security import AnyRole, ensure_reviews_in, reviewer_productions
from helix_gateway.state import Gateway, GatewayState

STATIC = FilePath(__file__).resolve().parent.parent / "console"
router = APIRouter(tags=["console"], responses=problem_responses(401, 403, 404, 422, 502))
static = StaticFiles(directory=STATIC)


class SessionView(BaseModel):
    subject: str
    roles: list[str]
    productions: list[str] | None = None  # None: every production
    can_review: bool
    can_resolve: bool
    can_manage_consents: bool
    can_see_dashboard: bool
    can_cast: bool = False  # change a production's voice casting (directors, admins)


@router.get("/console", include_in_schema=False)
async def console_page(
    prefetch: Annotated[bool, Query(description="Fetch the next two items ahead (the page reads it; off for comparisons)")] = True,
) -> FileResponse:
    del prefetch  # read by the page's script from its own URL
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/console/me", summary="Who the token belongs to and what the console may offer them")
async def console_session(principal: AnyRole) -> SessionView:
    admin = Role.ADMIN in principal.roles
    reviewer = admin or Role.REVIEWER in principal.roles
    return SessionView(subject=principal.subject, roles=sorted(r.value for r in principal.roles),
                       productions=reviewer_productions(principal), can_review=reviewer, can_resolve=admin, can_manage_consents=admin,
                       can_see_dashboard=reviewer or Role.DIRECTOR in principal.roles, can_cast=admin or Role.DIRECTOR in principal.roles)


@router.get("/console/items/{item_id}", summary="A review item composed for the console: content, diff, cues, sheet, lineage")
async def console_item(item_id: Annotated[ApiId, Path(description="Review item id")], gw: Gateway, principal: Reviewer) -> ConsoleItem:
    item = await gw.review.get_item(item_id)
    ensure_reviews_in(principal, item.asset.production_id)
    ref = item.asset
    event = CloudEvent[AssetGenerated].model_validate_json(item.asset_event_json)
    generated = event.data
    found = await gw.read_model.asset(ref.asset_id, ref.version)
    versions = found[1] if found else [ref.version]
    asset = found[0] if found else _asset_from_event(event, ref)
    view = view_of(ref.kind, ref.media_type)
    earlier = [v for v in versions if v < ref.version]
    previous = generated.revises_version or (max(earlier) if earlier else None)
    summary = generated.typed_summary()
    composed = ConsoleItem(
        item=item_view(item), view=view, content_url=content_url(ref.asset_id, ref.version),
        previous_version=previous, previous_url=content_url(ref.asset_id, previous) if previous else None,
        lineage=generated.model_dump(mode="json", include={"model", "seed", "inputs", "parameters", "parent_asset_ids", "authorship",
                                                           "generated_by", "requested_by", "cost", "generated_at", "caused_by"}),
        summary=summary,
        provenance=[{"check": f.check, "severity": review_severity(f.severity), "message": f.message, "open": f.open}
                    for f in item.findings if f.check in ("provenance", "store_integrity")],
    )
    body = await _body(gw, ref.object_key) if view in ("text", "subtitles") or ref.media_type.endswith("json") else None
    composed.attribution = attribute(asset, body)
    if view == "text" and body is not None:
        composed.text = render_text(body, ref.media_type)
        if previous:
            before = await gw.read_model.asset(ref.asset_id, previous)
            if before is not None and before[0].object_key:
                old = render_text(await _body(gw, before[0].object_key), ref.media_type)
                composed.diff = text_diff(old, composed.text, f"{ref.asset_id} v{previous}", f"{ref.asset_id} v{ref.version}")
    elif view == "subtitles" and body is not None:
        try:
            composed.cues = parse_cues(body, ref.media_type)
        except Exception as exc:  # a broken file is a finding for the reviewer, not a failed page
            composed.text = f"(the subtitle file could not be parsed: {exc})\n\n" + body.decode("utf-8", errors="replace")
    elif view == "audio" and isinstance(summary, VoiceoverSummary) and summary.timing is not None:
        composed.timing = summary.timing.model_dump()
    elif view == "video" and isinstance(summary, AnimaticSummary):
        composed.subtitles_url = _vtt_url(summary)
    if ref.kind == "frame":
        composed.sheet = await _sheet(gw, ref.production_id, generated, ref.asset_id)
        composed.layout_svg = layout_panel(generated)
    return composed


def _vtt_url(summary: AnimaticSummary) -> str | None:
    """An animatic's WebVTT subtitles -> their content URL; SRT: none (browsers play WebVTT text tracks only)."""
    part = LocaleAssetId.parse(summary.subtitles_asset_id or "")
    if part is None or part.part is not LocalePart.SUBTITLES_VTT or summary.subtitles_version is None:
        return None
    return content_url(str(part), summary.subtitles_version)


def review_severity(value: int) -> str:
    from helix.v1 import review_pb2

    return review_pb2.Severity.Name(value).removeprefix("SEVERITY_").lower()


async def _body(gw: GatewayState, key: str) -> bytes:
    try:
        return await asyncio.to_thread(gw.store.get, key)
    except (AssetNotFound, AssetIntegrityError) as exc:
        raise ProblemError(502, f"the asset store could not give {key}: {exc}") from None


async def _sheet(gw: GatewayState, production_id: str, frame: AssetGenerated, asset_id: str) -> list[SheetFrame]:
    """Every frame of the same storyboard scene (newest version each), the current one marked."""
    boards = [p for p in frame.parent_asset_ids if (part := ScriptAssetId.parse(p)) is not None and part.part is ScriptPart.STORYBOARD]
    if not boards:
        return []
    newest: dict[str, Asset] = {}
    for asset, _job in await gw.read_model.production_assets(production_id):
        generated = asset.generated()
        if (asset.kind == AssetKind.FRAME and generated is not None and boards[0] in generated.parent_asset_ids
                and (asset.asset_id not in newest or asset.version > newest[asset.asset_id].version)):
            newest[asset.asset_id] = asset
    return [SheetFrame(asset_id=a.asset_id, version=a.version, review_status=a.review_status, content_url=content_url(a.asset_id, a.version),
                       current=a.asset_id == asset_id) for a in sorted(newest.values(), key=lambda a: a.asset_id)]


def _asset_from_event(event: CloudEvent[AssetGenerated], ref: Any) -> Asset:
    """The read model has not projected this version yet: the review item's event says the same."""
    return Asset(asset_id=ref.asset_id, version=ref.version, production_id=ref.production_id, kind=ref.kind, object_key=ref.object_key,
                 sha256=ref.sha256, media_type=ref.media_type, review_status="pending", event=event.model_dump(mode="json"),
                 created_at=datetime.now(UTC))
