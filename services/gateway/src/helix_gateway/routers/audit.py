"""The review service's append-only audit log, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from helix.auth import Principal, Role
from helix.v1 import common_pb2, review_pb2
from helix_gateway.fields import ApiId
from helix_gateway.pagination import Cursor, Limit, Page
from helix_gateway.review_views import AuditEntryView, audit_view
from helix_gateway.routers.reviews import REVIEW_ERRORS
from helix_gateway.security import require
from helix_gateway.state import Gateway

router = APIRouter(prefix="/audit", tags=["audit"], responses=REVIEW_ERRORS)


@router.get("", summary="Audit entries, optionally for one review item or production")
async def list_audit(
    gw: Gateway,
    principal: Annotated[Principal, Depends(require(Role.ADMIN))],
    item_id: Annotated[ApiId | None, Query(description="Only this review item")] = None,
    production_id: Annotated[ApiId | None, Query(description="Only this production")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AuditEntryView]:
    page = await gw.review.list_audit(
        review_pb2.ListAuditRequest(
            page=common_pb2.PageRequest(page_size=limit, cursor=cursor or ""), item_id=item_id or "", production_id=production_id or ""
        )
    )
    return Page[AuditEntryView](items=[audit_view(e) for e in page.entries], next_cursor=page.page.next_cursor or None)
