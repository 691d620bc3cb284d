"""The likeness consent registry, through the review service: reviewers read the consents
covering the productions they are assigned to (consents are personal data), admins read all,
record and revoke (each change lands in the review service's audit log). A consent carries
reference images and recordings of its performer (what the likeness screening compares
generated images with): admins add them; they are served under the same rule as the consent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AwareDatetime, Field, field_validator

from helix.assets.media import SNIFFED_TYPES
from helix.auth import Principal, Role
from helix.v1 import common_pb2, review_pb2
from helix_gateway.fields import CHECKED, ApiId, ApiModel, bounded
from helix_gateway.pagination import Cursor, Limit, Page
from helix_gateway.problems import ProblemError, problem_responses
from helix_gateway.review_views import ConsentReferenceView, ConsentView, consent_reference_view, consent_view
from helix_gateway.routers.reviews import REVIEW_ERRORS
from helix_gateway.security import Admin, actor_proto, require, reviewer_productions
from helix_gateway.state import Gateway

router = APIRouter(prefix="/consents", tags=["consents"], responses=REVIEW_ERRORS)

REFERENCE_TYPES = SNIFFED_TYPES
Performer = Annotated[str, bounded(500, min_length=1), CHECKED]
Reason = Annotated[str, bounded(2_000, min_length=1), CHECKED]


class ConsentCreate(ApiModel):
    performer: Performer
    scopes: list[Literal["name", "likeness", "voice"]] = Field(min_length=1, max_length=3)
    production_ids: list[ApiId] = Field(default_factory=list, max_length=500, description="Empty: every production")
    expires_at: AwareDatetime | None = Field(None, description="Unset: no expiry")
    aliases: list[Performer] = Field(default_factory=list, max_length=50, description="Other spellings to look for")
    reason: Reason

    @field_validator("expires_at")
    @classmethod
    def _representable(cls, value: datetime | None) -> datetime | None:
        # Protobuf timestamps span years 1-9999 in UTC; an offset can push a date outside.
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise ValueError("expires_at is out of range") from None
            if value.year < 1970:
                raise ValueError("expires_at must be after 1970")
        return value


class RevokeRequest(ApiModel):
    reason: Reason


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


@router.get("", summary="Recorded consents, optionally for one performer")
async def list_consents(
    gw: Gateway,
    principal: Annotated[Principal, Depends(require(Role.REVIEWER))],
    performer: Annotated[Performer | None, Query(description="Only this performer")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ConsentView]:
    productions = reviewer_productions(principal)
    if productions == []:  # assigned to nothing: no consent is theirs to read
        return Page[ConsentView](items=[], next_cursor=None)
    page = await gw.review.list_consents(  # a reviewer reads the consents of their productions only: consents are personal data
        review_pb2.ListConsentsRequest(page=common_pb2.PageRequest(page_size=limit, cursor=cursor or ""), performer=performer or "",
                                       production_ids=productions or [])
    )
    return Page[ConsentView](items=[consent_view(c) for c in page.consents], next_cursor=page.page.next_cursor or None)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Record a performer's consent")
async def record_consent(body: ConsentCreate, gw: Gateway, principal: Admin) -> ConsentView:
    request = review_pb2.RecordConsentRequest(
        actor=actor_proto(principal),
        performer=body.performer,
        scopes=body.scopes,
        production_ids=body.production_ids,
        reason=body.reason,
        aliases=body.aliases,
    )
    if body.expires_at is not None:
        request.expires_at.CopyFrom(_timestamp(body.expires_at))
    return consent_view(await gw.review.record_consent(request))


@router.post("/{consent_id}/revoke", summary="Revoke a consent")
async def revoke_consent(
    consent_id: Annotated[ApiId, Path(description="Consent id")], body: RevokeRequest, gw: Gateway, principal: Admin
) -> ConsentView:
    consent = await gw.review.revoke_consent(review_pb2.RevokeConsentRequest(consent_id=consent_id, actor=actor_proto(principal), reason=body.reason))
    return consent_view(consent)


@router.post("/{consent_id}/references", status_code=status.HTTP_201_CREATED, summary="Add a reference image or recording to a consent",
             responses=problem_responses(413, 415),
             openapi_extra={"requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                                          for t in REFERENCE_TYPES}}})
async def add_consent_reference(
    consent_id: Annotated[ApiId, Path(description="Consent id")], request: Request, gw: Gateway, principal: Admin,
) -> ConsentReferenceView:
    """The body is the image or recording itself, its Content-Type one of the reference types."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in REFERENCE_TYPES:
        raise ProblemError(415, f"a consent reference is one of {', '.join(REFERENCE_TYPES)}; got {media_type or 'no Content-Type'}")
    reference = await gw.review.add_consent_reference(review_pb2.AddConsentReferenceRequest(
        actor=actor_proto(principal), consent_id=consent_id, media_type=media_type, data=await request.body()))
    return consent_reference_view(reference)


@router.get("/{consent_id}/references/{reference_id}", summary="A consent's reference image or recording",
            response_class=Response, responses={200: {"content": {t: {} for t in REFERENCE_TYPES}}})
async def get_consent_reference(
    consent_id: Annotated[ApiId, Path(description="Consent id")], reference_id: Annotated[ApiId, Path(description="Reference id")],
    gw: Gateway, principal: Annotated[Principal, Depends(require(Role.REVIEWER))],
) -> Response:
    productions = reviewer_productions(principal)  # reference media are personal data: the consent's own visibility
    found = await gw.review.get_consent_reference(review_pb2.GetConsentReferenceRequest(
        reference_id=reference_id, production_ids=productions or [], every_production=productions is None))
    if found.reference.consent_id != consent_id:
        raise ProblemError(404, f"no consent reference {reference_id!r}")
    return Response(content=found.data, media_type=found.reference.media_type,
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
