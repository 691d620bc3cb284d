"""Reviews: the queue, claims and decisions, through the review service.

The review service owns the review database; the gateway decides who may ask. Reviewers
work only in productions they are assigned to, and nobody approves an asset they asked
for (the review service refuses that too; the gateway checks what its read model knows).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field, model_validator

from helix.auth import Principal, Role
from helix.v1 import common_pb2, review_pb2
from helix_gateway.fields import CHECKED, ApiId, ApiModel, bounded
from helix_gateway.pagination import Cursor, Limit, Page
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.review_views import (
    DashboardView,
    DecisionView,
    FindingView,
    RegionView,
    ReviewItemView,
    SecondReviewView,
    TimeNoteView,
    dashboard_view,
    decision_view,
    finding_view,
    item_view,
    second_review_view,
)
from helix_gateway.security import actor_proto, ensure_reviews_in, require, reviewer_productions
from helix_gateway.state import Gateway, GatewayState

# Every call may meet the review service's errors (mapped from gRPC status codes); 400 is a body that is not even text.
REVIEW_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
router = APIRouter(prefix="/reviews", tags=["reviews"], responses=REVIEW_ERRORS)

Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
ItemId = Annotated[ApiId, Path(description="Review item id")]
Notes = Annotated[str, bounded(20_000), CHECKED]
Reason = Annotated[str, bounded(2_000, min_length=1), CHECKED]


class ClaimRequest(ApiModel):
    lease_seconds: int | None = Field(None, ge=1, le=86_400, description="How long the claim holds (default: the review service's)")
    item_id: ApiId | None = Field(None, description="Claim this item (picked from a filtered queue) instead of the top one")


class RegionRequest(RegionView, ApiModel):
    @model_validator(mode="after")
    def _inside_the_image(self) -> RegionRequest:
        if self.x + self.width > 1 + 1e-9 or self.y + self.height > 1 + 1e-9:
            raise ValueError("a region lies inside the image: x + width and y + height are at most 1")
        return self


class TimeNoteRequest(TimeNoteView, ApiModel):
    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> TimeNoteRequest:
        if self.end_s is not None and self.end_s < self.start_s:
            raise ValueError("a range ends at or after it starts (end_s >= start_s)")
        return self


class DecisionRequest(ApiModel):
    outcome: Literal["approved", "rejected", "revision_requested"]
    notes: Notes | None = Field(None, description="Required when requesting a revision: what to change")
    regions: list[RegionRequest] = Field(default_factory=list, max_length=50,
                                         description="Images, with a revision request: the parts of the frame the notes are about")
    timecodes: list[TimeNoteRequest] = Field(default_factory=list, max_length=50,
                                             description="Animatics, clips and recordings, with a revision request: the moments or "
                                                         "ranges the notes are about (seconds from the start)")

    @model_validator(mode="after")
    def _revisions_say_what_to_change(self) -> DecisionRequest:
        if self.outcome == "revision_requested" and not self.notes:
            raise ValueError("a revision request needs notes saying what to change")
        if self.regions and self.outcome != "revision_requested":
            raise ValueError("regions mark what to change: they go with a revision request")
        if self.timecodes and self.outcome != "revision_requested":
            raise ValueError("time notes mark what to change: they go with a revision request")
        return self


class SecondDecisionRequest(ApiModel):
    outcome: Literal["approved", "rejected", "revision_requested"] = Field(description="What you would have decided")
    notes: Notes | None = None


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
            reviewer=actor_proto(principal), lease_seconds=(body.lease_seconds if body else None) or 0, production_ids=productions or [],
            item_id=(body.item_id if body else None) or "",
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
    regions = [review_pb2.Region(**r.model_dump()) for r in body.regions]
    timecodes = [review_pb2.TimeNote(**r.model_dump(exclude_none=True)) for r in body.timecodes]
    decision = await gw.review.decide(
        review_pb2.DecideRequest(item_id=item_id, reviewer=actor_proto(principal), outcome=body.outcome, notes=body.notes or "",
                                 regions=regions, timecodes=timecodes)
    )
    return decision_view(decision)


@router.post(
    "/second/claim",
    summary="Claim a sampled decision to review again (204 when there is none)",
    response_model=SecondReviewView,
    responses={204: {"description": "No sampled decision waits for you"}},
)
async def claim_second_review(gw: Gateway, principal: Reviewer, body: ClaimRequest | None = None) -> Any:
    productions = reviewer_productions(principal)
    if productions == []:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    claimed = await gw.review.claim_second_review(
        review_pb2.ClaimNextRequest(
            reviewer=actor_proto(principal), lease_seconds=(body.lease_seconds if body else None) or 0, production_ids=productions or []
        )
    )
    if not claimed.HasField("second_review"):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return second_review_view(claimed.second_review)


@router.post("/second/{second_review_id}/decision", summary="Record your outcome for a sampled decision (agreement is kept)")
async def decide_second_review(
    second_review_id: Annotated[ApiId, Path(description="Second review id")], body: SecondDecisionRequest, gw: Gateway, principal: Reviewer
) -> SecondReviewView:
    productions = reviewer_productions(principal)
    if productions == []:
        raise ProblemError(403, "you are assigned to no production")
    second = await gw.review.decide_second_review(
        review_pb2.DecideSecondReviewRequest(second_review_id=second_review_id, reviewer=actor_proto(principal), outcome=body.outcome,
                                             notes=body.notes or "", production_ids=productions or [])
    )
    return second_review_view(second)


@router.get("/dashboard", summary="Queue depth and age, decision times, throughput, SLA and reviewers needed")
async def review_dashboard(
    gw: Gateway,
    principal: Annotated[Principal, Depends(require(Role.REVIEWER, Role.DIRECTOR))],
    window_hours: Annotated[int, Query(ge=1, le=24 * 90, description="How far back decisions and arrivals count")] = 24,
) -> DashboardView:
    productions = reviewer_productions(principal)
    if productions == []:
        raise ProblemError(403, "you are assigned to no production")
    board = await gw.review.dashboard(review_pb2.GetDashboardRequest(production_ids=productions or [], window_hours=window_hours))
    return dashboard_view(board)


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
