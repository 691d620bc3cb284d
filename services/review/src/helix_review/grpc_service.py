"""review.proto's ReviewService over the review desk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, overload

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import ValidationError
from sqlalchemy import inspect as sa_inspect

from helix.casting import Casting, CastingTable, ResolvedCasting, SeriesCasting
from helix.events import Actor, Region, TimeNote
from helix.v1 import common_pb2, review_pb2, review_pb2_grpc
from helix_review.castings import SeriesOfProductions
from helix_review.dashboard import Dashboard
from helix_review.db import AuditEntry, Consent, ConsentReference, Decision, Finding, Policy, ReviewItem, SecondReview
from helix_review.desk import ReviewDesk
from helix_review.errors import InvalidArgument, ReviewError
from helix_review.metrics import DECISIONS, TIME_TO_DECISION

T = TypeVar("T")
C = TypeVar("C", bound=CastingTable)
log = structlog.get_logger("helix.review")


@overload
def _ts(value: datetime) -> Timestamp: ...
@overload
def _ts(value: None) -> None: ...
@overload
def _ts(value: datetime | None) -> Timestamp | None: ...
def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _from_ts(ts: Timestamp, present: bool) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if present else None


def _actor(message: common_pb2.Actor, what: str = "actor") -> Actor:
    if not message.subject:
        raise InvalidArgument(f"the request must name its {what}")
    return Actor(subject=message.subject, kind="user", roles=list(message.roles))


def _casting(model: type[C], document: str) -> C:
    try:
        return model.model_validate_json(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidArgument(f"the casting is not valid: {where + ': ' if where else ''}{first['msg']}") from None


def casting_pb(resolved: ResolvedCasting) -> review_pb2.Casting:
    return review_pb2.Casting(production_id=resolved.casting.production_id, casting_json=resolved.casting.model_dump_json(),
                              consents=resolved.consents, series_json=resolved.series.model_dump_json() if resolved.series else "")


def series_casting_pb(found: SeriesOfProductions) -> review_pb2.SeriesCasting:
    return review_pb2.SeriesCasting(series_id=found.casting.series_id, series_json=found.casting.model_dump_json(),
                                    production_ids=found.production_ids)


def _actor_pb(subject: str, roles: list[str]) -> common_pb2.Actor:
    return common_pb2.Actor(subject=subject, roles=roles)


def finding_pb(f: Finding) -> review_pb2.Finding:
    msg = review_pb2.Finding(finding_id=f.id, item_id=f.item_id, check=f.check, severity=cast(review_pb2.Severity, f.severity), message=f.message,
                             open=f.open, blocks_approval=f.blocks_approval, subject=f.subject)
    if f.resolved_at is not None:
        msg.resolution.CopyFrom(common_pb2.AuditStamp(actor=_actor_pb(f.resolved_by or "", []), at=_ts(f.resolved_at),
                                                      reason=f.resolution_reason or ""))
    return msg


def decision_pb(d: Decision, item: ReviewItem) -> review_pb2.Decision:
    return review_pb2.Decision(decision_id=d.id, item_id=d.item_id, asset_id=item.asset_id, production_id=item.production_id,
                               outcome=d.outcome, reviewer=_actor_pb(d.reviewer, d.reviewer_roles), notes=d.notes,
                               decided_at=_ts(d.decided_at), event_id=d.event_id, regions=[review_pb2.Region(**r) for r in d.regions or []],
                               handling_seconds=d.handling_seconds or 0.0, timecodes=[review_pb2.TimeNote(**{k: v for k, v in t.items() if v is not None})
                                                                                   for t in d.timecodes or []])


def _timecodes(messages: Any) -> list[TimeNote]:
    try:
        return [TimeNote(start_s=t.start_s, end_s=t.end_s if t.HasField("end_s") else None, note=t.note) for t in messages]
    except ValidationError as exc:
        raise InvalidArgument(f"a time note is not valid: {exc.errors()[0]['msg']}") from None


def _regions(messages: Any) -> list[Region]:
    try:
        return [Region(x=r.x, y=r.y, width=r.width, height=r.height, note=r.note) for r in messages]
    except ValidationError as exc:
        raise InvalidArgument(f"a region is not valid: {exc.errors()[0]['msg']}") from None


def second_review_pb(second: SecondReview) -> review_pb2.SecondReview:
    msg = review_pb2.SecondReview(second_review_id=second.id, item=item_pb(second.item), status=second.status,
                                  claimed_by=second.claimed_by or "", outcome=second.outcome or "", agrees=bool(second.agrees),
                                  notes=second.notes or "")
    if second.reviewer:
        msg.reviewer.CopyFrom(_actor_pb(second.reviewer, []))
    if second.decided_at is not None:
        msg.decided_at.CopyFrom(_ts(second.decided_at))
    return msg


def dashboard_pb(board: Dashboard) -> review_pb2.Dashboard:
    return review_pb2.Dashboard(
        at=_ts(board.at), window_hours=board.window_hours, sla_seconds=board.sla_seconds,
        kinds=[review_pb2.KindStats(**vars(k)) for k in board.kinds], reviewers=[review_pb2.ReviewerStats(**vars(r)) for r in board.reviewers],
        second_reviews_done=board.second_reviews_done, second_reviews_agreed=board.second_reviews_agreed,
        second_reviews_pending=board.second_reviews_pending, reviewers_needed=board.reviewers_needed,
    )


def item_pb(item: ReviewItem) -> review_pb2.ReviewItem:
    msg = review_pb2.ReviewItem(
        item_id=item.id,
        asset=common_pb2.AssetRef(asset_id=item.asset_id, production_id=item.production_id, kind=item.kind, object_key=item.object_key,
                                  sha256=item.sha256, media_type=item.media_type, version=item.asset_version),
        status=item.status, risk_score=item.risk_score, findings=[finding_pb(f) for f in item.findings],
        claimed_by=item.claimed_by or "", created_at=_ts(item.created_at), requested_by=item.requested_by or "",
        asset_event_json=item.event_json,
    )
    if item.lease_expires_at is not None:
        msg.lease_expires_at.CopyFrom(_ts(item.lease_expires_at))
    if item.decision is not None:
        msg.decision.CopyFrom(decision_pb(item.decision, item))
    return msg


def consent_reference_pb(r: ConsentReference) -> review_pb2.ConsentReference:
    return review_pb2.ConsentReference(reference_id=r.id, consent_id=r.consent_id, media_type=r.media_type, sha256=r.sha256,
                                       size_bytes=r.size_bytes, embedded=r.embedding is not None,
                                       added=common_pb2.AuditStamp(actor=_actor_pb(r.added_by, []), at=_ts(r.added_at)))


def consent_pb(c: Consent) -> review_pb2.Consent:
    loaded = "references" not in sa_inspect(c).unloaded  # a consent just recorded has none to show
    msg = review_pb2.Consent(consent_id=c.id, performer=c.performer, scopes=c.scopes, production_ids=c.production_ids,
                             recorded=common_pb2.AuditStamp(actor=_actor_pb(c.recorded_by, []), at=_ts(c.recorded_at), reason=c.reason),
                             references=[consent_reference_pb(r) for r in c.references] if loaded else [])
    if c.expires_at is not None:
        msg.expires_at.CopyFrom(_ts(c.expires_at))
    if c.revoked_at is not None:
        msg.revoked.CopyFrom(common_pb2.AuditStamp(actor=_actor_pb(c.revoked_by or "", []), at=_ts(c.revoked_at), reason=c.revoke_reason or ""))
    return msg


def audit_pb(e: AuditEntry) -> review_pb2.AuditEntry:
    import json

    return review_pb2.AuditEntry(entry_id=str(e.id), at=_ts(e.at), actor=_actor_pb(e.actor, e.actor_roles), action=e.action,
                                 item_id=e.item_id or "", subject=e.subject, reason=e.reason, details_json=json.dumps(e.details))


def policy_pb(p: Policy) -> review_pb2.Policy:
    return review_pb2.Policy(production_id=p.production_id, banned_terms=p.banned_terms, performers=p.performers)


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    def __init__(self, desk: ReviewDesk, on_decision: Callable[[], None] = lambda: None, *, sla_seconds: float = 4 * 3600) -> None:
        self.desk = desk
        self.on_decision = on_decision
        self.sla_seconds = sla_seconds

    async def _run(self, context: grpc.aio.ServicerContext, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a desk method in a thread; turn its errors into gRPC statuses with their message."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ReviewError as exc:
            await context.abort(exc.code, str(exc))
            raise  # unreachable: abort raises
        except Exception:
            # A bug or an outage: log the details here, never send SQL or internals to callers.
            log.exception("review.internal_error", method=getattr(fn, "__name__", "?"))
            await context.abort(grpc.StatusCode.INTERNAL, "the review service failed to handle this request; see its logs")
            raise

    async def ListQueue(self, request: review_pb2.ListQueueRequest, context: Any) -> review_pb2.ListItemsResponse:  # noqa: N802
        page = await self._run(context, self.desk.queries.list_queue, page_size=request.page.page_size, cursor=request.page.cursor,
                               productions=list(request.production_ids))
        return review_pb2.ListItemsResponse(items=[item_pb(i) for i in page.rows], page=common_pb2.PageInfo(next_cursor=page.next_cursor))

    async def ListItems(self, request: review_pb2.ListItemsRequest, context: Any) -> review_pb2.ListItemsResponse:  # noqa: N802
        page = await self._run(context, self.desk.queries.list_items, page_size=request.page.page_size, cursor=request.page.cursor,
                               production_id=request.production_id, status=request.status)
        return review_pb2.ListItemsResponse(items=[item_pb(i) for i in page.rows], page=common_pb2.PageInfo(next_cursor=page.next_cursor))

    async def GetItem(self, request: review_pb2.GetItemRequest, context: Any) -> review_pb2.ReviewItem:  # noqa: N802
        return item_pb(await self._run(context, self.desk.queries.get_item, request.item_id))

    async def ClaimNext(self, request: review_pb2.ClaimNextRequest, context: Any) -> review_pb2.ClaimNextResponse:  # noqa: N802
        reviewer = await self._run(context, _actor, request.reviewer, "reviewer")
        item = await self._run(context, self.desk.decisions.claim_next, reviewer, lease_seconds=request.lease_seconds,
                               productions=list(request.production_ids), item_id=request.item_id)
        return review_pb2.ClaimNextResponse(item=item_pb(item)) if item else review_pb2.ClaimNextResponse()

    async def ReleaseClaim(self, request: review_pb2.ReleaseClaimRequest, context: Any) -> review_pb2.ReviewItem:  # noqa: N802
        reviewer = await self._run(context, _actor, request.reviewer, "reviewer")
        return item_pb(await self._run(context, self.desk.decisions.release, request.item_id, reviewer))

    async def Decide(self, request: review_pb2.DecideRequest, context: Any) -> review_pb2.Decision:  # noqa: N802
        reviewer = await self._run(context, _actor, request.reviewer, "reviewer")
        regions = await self._run(context, _regions, request.regions)
        timecodes = await self._run(context, _timecodes, request.timecodes)
        decision = await self._run(context, self.desk.decisions.decide, request.item_id, reviewer, request.outcome, request.notes, regions,
                                   timecodes)
        self.on_decision()
        item = await self._run(context, self.desk.queries.get_item, request.item_id)
        DECISIONS.labels(reviewer=reviewer.subject, outcome=decision.outcome).inc()
        TIME_TO_DECISION.observe((decision.decided_at - item.created_at).total_seconds())
        return decision_pb(decision, item)

    async def ResolveFinding(self, request: review_pb2.ResolveFindingRequest, context: Any) -> review_pb2.Finding:  # noqa: N802
        admin = await self._run(context, _actor, request.admin, "admin")
        return finding_pb(await self._run(context, self.desk.consents.resolve_finding, request.finding_id, admin, request.reason))

    async def RecordConsent(self, request: review_pb2.RecordConsentRequest, context: Any) -> review_pb2.Consent:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        consent = await self._run(context, self.desk.consents.record_consent, actor, request.performer, list(request.scopes),
                                  list(request.production_ids), _from_ts(request.expires_at, request.HasField("expires_at")),
                                  request.reason, list(request.aliases))
        return consent_pb(consent)

    async def RevokeConsent(self, request: review_pb2.RevokeConsentRequest, context: Any) -> review_pb2.Consent:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        return consent_pb(await self._run(context, self.desk.consents.revoke_consent, request.consent_id, actor, request.reason))

    async def ListConsents(self, request: review_pb2.ListConsentsRequest, context: Any) -> review_pb2.ListConsentsResponse:  # noqa: N802
        page = await self._run(context, self.desk.queries.list_consents, page_size=request.page.page_size, cursor=request.page.cursor,
                               performer=request.performer, productions=list(request.production_ids))
        return review_pb2.ListConsentsResponse(consents=[consent_pb(c) for c in page.rows],
                                               page=common_pb2.PageInfo(next_cursor=page.next_cursor))

    async def AddConsentReference(self, request: review_pb2.AddConsentReferenceRequest, context: Any) -> review_pb2.ConsentReference:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        return consent_reference_pb(await self._run(context, self.desk.consents.add_reference, request.consent_id, actor, request.media_type,
                                                    bytes(request.data)))

    async def GetConsentReference(self, request: review_pb2.GetConsentReferenceRequest, context: Any) -> review_pb2.ConsentReferenceMedia:  # noqa: N802
        productions = None if request.every_production else list(request.production_ids)
        reference = await self._run(context, self.desk.consents.reference, request.reference_id, productions)
        return review_pb2.ConsentReferenceMedia(reference=consent_reference_pb(reference), data=reference.data)

    async def SetPolicy(self, request: review_pb2.SetPolicyRequest, context: Any) -> review_pb2.Policy:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        if not request.policy.production_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the policy must name its production")
        policy = await self._run(context, self.desk.consents.set_policy, actor, request.policy.production_id,
                                 list(request.policy.banned_terms), list(request.policy.performers))
        return policy_pb(policy)

    async def GetCasting(self, request: review_pb2.GetCastingRequest, context: Any) -> review_pb2.Casting:  # noqa: N802
        if not request.production_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a casting belongs to a production: name it")
        return casting_pb(await self._run(context, self.desk.castings.casting, request.production_id))

    async def SetCasting(self, request: review_pb2.SetCastingRequest, context: Any) -> review_pb2.Casting:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        casting = await self._run(context, _casting, Casting, request.casting_json)
        return casting_pb(await self._run(context, self.desk.castings.set_casting, actor, casting))

    async def GetSeriesCasting(self, request: review_pb2.GetSeriesCastingRequest, context: Any) -> review_pb2.SeriesCasting:  # noqa: N802
        if not request.series_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a series casting belongs to a series: name it")
        return series_casting_pb(await self._run(context, self.desk.castings.series, request.series_id))

    async def SetSeriesCasting(self, request: review_pb2.SetSeriesCastingRequest, context: Any) -> review_pb2.SeriesCasting:  # noqa: N802
        actor = await self._run(context, _actor, request.actor)
        series = await self._run(context, _casting, SeriesCasting, request.series_json)
        return series_casting_pb(await self._run(context, self.desk.castings.set_series, actor, series))

    async def ListAudit(self, request: review_pb2.ListAuditRequest, context: Any) -> review_pb2.ListAuditResponse:  # noqa: N802
        page = await self._run(context, self.desk.queries.list_audit, page_size=request.page.page_size, cursor=request.page.cursor,
                               item_id=request.item_id, production_id=request.production_id)
        return review_pb2.ListAuditResponse(entries=[audit_pb(e) for e in page.rows], page=common_pb2.PageInfo(next_cursor=page.next_cursor))



    async def ClaimSecondReview(self, request: review_pb2.ClaimNextRequest, context: Any) -> review_pb2.ClaimSecondReviewResponse:  # noqa: N802
        reviewer = await self._run(context, _actor, request.reviewer, "reviewer")
        second = await self._run(context, self.desk.second_reviews.claim_second, reviewer, lease_seconds=request.lease_seconds,
                                 productions=list(request.production_ids))
        return review_pb2.ClaimSecondReviewResponse(second_review=second_review_pb(second)) if second else review_pb2.ClaimSecondReviewResponse()

    async def DecideSecondReview(self, request: review_pb2.DecideSecondReviewRequest, context: Any) -> review_pb2.SecondReview:  # noqa: N802
        reviewer = await self._run(context, _actor, request.reviewer, "reviewer")
        second = await self._run(context, self.desk.second_reviews.decide_second, request.second_review_id, reviewer, request.outcome, request.notes,
                                 list(request.production_ids))
        return second_review_pb(second)

    async def GetDashboard(self, request: review_pb2.GetDashboardRequest, context: Any) -> review_pb2.Dashboard:  # noqa: N802
        board = await self._run(context, self.desk.queries.dashboard, productions=list(request.production_ids), window_hours=request.window_hours,
                                sla_seconds=self.sla_seconds)
        return dashboard_pb(board)
