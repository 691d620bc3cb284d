"""Reviews: the queue, claims and decisions, through the review service.

The review service owns the review database; the gateway decides who may ask. Reviewers
work only in productions they are assigned to, and nobody approves an asset they asked
for (the review service refuses that too; the gateway checks what its read model knows).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field, model_validator

from helix.auth import Principal, Role
from helix.v1 import common_pb2, review_pb2
from helix_gateway.fields import ApiId, ApiModel, text
from helix_gateway.pagination import Cursor, Limit, Page
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.review_views import DecisionView, FindingView, ReviewItemView, decision_view, finding_view, item_view
from helix_gateway.security import actor_proto, ensure_reviews_in, require, reviewer_productions
from helix_gateway.state import Gateway, GatewayState

# Every call may meet the review service's errors (mapped from gRPC status codes); 400 is a body that is not even text.
REVIEW_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
router = APIRouter(prefix="/reviews", tags=["reviews"], responses=REVIEW_ERRORS)

Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
ItemId = Annotated[ApiId, Path(description="Review item id")]
Notes = text(20_000)
Reason = text(2_000, min_length=1)


class ClaimRequest(ApiModel):
    lease_seconds: int | None = Field(None, ge=1, le=86_400, description="How long the claim holds (default: the review service's)")


class DecisionRequest(ApiModel):
    outcome: Literal["approved", "rejected", "revision_requested"]
    notes: Notes | None = Field(None, description="Required when requesting a revision: what to change")

    @model_validator(mode="after")
    def _revisions_say_what_to_change(self) -> DecisionRequest:
        if self.outcome == "revision_requested" and not self.notes:
            raise ValueError("a revision request needs notes saying what to change")
        return self


class ResolveRequest(ApiModel):
    reason: Reason


class Queue(BaseModel):
    items: list[ReviewItemView]
    next_cursor: str | None = None


async def _item_for(gw: GatewayState, principal: Principal, item_id: str) -> review_pb2.ReviewItem:
    item = await gw.review.get_item(item_id)
    ensure_reviews_in(principal, item.asset.production_id)
    return item


@router.get("/queue", summary="Items waiting for a decision, highest risk first")
async def review_queue(gw: Gateway, principal: Reviewer, cursor: Cursor = None, limit: Limit = 50) -> Page[ReviewItemView]:
    productions = reviewer_productions(principal)
    if productions == []:  # the review API reads an empty list as "every production"
        return Page[ReviewItemView](items=[])
    page = await gw.review.list_queue(
        review_pb2.ListQueueRequest(page=common_pb2.PageRequest(page_size=limit, cursor=cursor or ""), production_ids=productions or [])
    )
    return Page[ReviewItemView](items=[item_view(i) for i in page.items], next_cursor=page.page.next_cursor or None)


@router.post(
    "/claim",
    summary="Claim the next item you may review (204 when there is none)",
    response_model=ReviewItemView,
    responses={204: {"description": "Nothing to review right now"}},
)
async def claim_next(gw: Gateway, principal: Reviewer, body: ClaimRequest | None = None) -> Any:
    productions = reviewer_productions(principal)
    if productions == []:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    claimed = await gw.review.claim_next(
        review_pb2.ClaimNextRequest(
            reviewer=actor_proto(principal), lease_seconds=(body.lease_seconds if body else None) or 0, production_ids=productions or []
        )
    )
    if not claimed.HasField("item"):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return item_view(claimed.item)


@router.get("/items/{item_id}", summary="One review item with its findings")
async def get_item(item_id: ItemId, gw: Gateway, principal: Reviewer) -> ReviewItemView:
    return item_view(await _item_for(gw, principal, item_id))


@router.post("/items/{item_id}/release", summary="Give back your claim on an item")
async def release_item(item_id: ItemId, gw: Gateway, principal: Reviewer) -> ReviewItemView:
    await _item_for(gw, principal, item_id)
    released = await gw.review.release_claim(review_pb2.ReleaseClaimRequest(item_id=item_id, reviewer=actor_proto(principal)))
    return item_view(released)


@router.post("/items/{item_id}/decision", summary="Approve, reject or request a revision")
async def decide(item_id: ItemId, body: DecisionRequest, gw: Gateway, principal: Reviewer) -> DecisionView:
    item = await _item_for(gw, principal, item_id)
    if body.outcome == "approved":
        requesters = {item.requested_by} if item.requested_by else set()
        requesters |= await gw.read_model.requesters(item.asset.asset_id, item.asset.version or None)
        if principal.subject in requesters:
            raise ProblemError(403, "you requested this asset, so someone else must approve it")
    decision = await gw.review.decide(
        review_pb2.DecideRequest(item_id=item_id, reviewer=actor_proto(principal), outcome=body.outcome, notes=body.notes or "")
    )
    return decision_view(decision)


@router.post(
    "/findings/{finding_id}/resolve",
    summary="Resolve a prescreening finding (admins only; recorded in the audit log)",
)
async def resolve_finding(
    finding_id: Annotated[ApiId, Path(description="Finding id")],
    body: ResolveRequest,
    gw: Gateway,
    principal: Annotated[Principal, Depends(require(Role.ADMIN))],
) -> FindingView:
    finding = await gw.review.resolve_finding(
        review_pb2.ResolveFindingRequest(finding_id=finding_id, admin=actor_proto(principal), reason=body.reason)
    )
    return finding_view(finding)
