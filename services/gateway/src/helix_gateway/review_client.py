"""The review service, reached only through its gRPC API (helix.v1.ReviewService).

Each call carries a deadline and the caller's trace context, so one trace follows a
request from HTTP through the gateway into the review service.
"""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from helix.v1 import review_pb2, review_pb2_grpc

_tracer = trace.get_tracer("helix.gateway.review_client")


class _TraceContext(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        with _tracer.start_as_current_span(method.lstrip("/"), kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc", "rpc.method": method}):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            metadata = grpc.aio.Metadata(*(details.metadata or ()), *carrier.items())
            details = grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready)
            return await continuation(details, request)


class ReviewClient:
    def __init__(self, address: str, *, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self.channel = grpc.aio.insecure_channel(address, interceptors=[_TraceContext()])
        self.stub = review_pb2_grpc.ReviewServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def list_queue(self, request: review_pb2.ListQueueRequest) -> review_pb2.ListItemsResponse:
        return await self.stub.ListQueue(request, timeout=self.timeout)

    async def get_item(self, item_id: str) -> review_pb2.ReviewItem:
        return await self.stub.GetItem(review_pb2.GetItemRequest(item_id=item_id), timeout=self.timeout)

    async def claim_next(self, request: review_pb2.ClaimNextRequest) -> review_pb2.ClaimNextResponse:
        return await self.stub.ClaimNext(request, timeout=self.timeout)

    async def release_claim(self, request: review_pb2.ReleaseClaimRequest) -> review_pb2.ReviewItem:
        return await self.stub.ReleaseClaim(request, timeout=self.timeout)

    async def decide(self, request: review_pb2.DecideRequest) -> review_pb2.Decision:
        return await self.stub.Decide(request, timeout=self.timeout)

    async def resolve_finding(self, request: review_pb2.ResolveFindingRequest) -> review_pb2.Finding:
        return await self.stub.ResolveFinding(request, timeout=self.timeout)

    async def record_consent(self, request: review_pb2.RecordConsentRequest) -> review_pb2.Consent:
        return await self.stub.RecordConsent(request, timeout=self.timeout)

    async def revoke_consent(self, request: review_pb2.RevokeConsentRequest) -> review_pb2.Consent:
        return await self.stub.RevokeConsent(request, timeout=self.timeout)

    async def list_consents(self, request: review_pb2.ListConsentsRequest) -> review_pb2.ListConsentsResponse:
        return await self.stub.ListConsents(request, timeout=self.timeout)

    async def add_consent_reference(self, request: review_pb2.AddConsentReferenceRequest) -> review_pb2.ConsentReference:
        return await self.stub.AddConsentReference(request, timeout=self.timeout)

    async def get_consent_reference(self, request: review_pb2.GetConsentReferenceRequest) -> review_pb2.ConsentReferenceMedia:
        return await self.stub.GetConsentReference(request, timeout=self.timeout)

    async def set_policy(self, request: review_pb2.SetPolicyRequest) -> review_pb2.Policy:
        return await self.stub.SetPolicy(request, timeout=self.timeout)

    async def get_casting(self, request: review_pb2.GetCastingRequest) -> review_pb2.Casting:
        return await self.stub.GetCasting(request, timeout=self.timeout)

    async def set_casting(self, request: review_pb2.SetCastingRequest) -> review_pb2.Casting:
        return await self.stub.SetCasting(request, timeout=self.timeout)

    async def get_series_casting(self, request: review_pb2.GetSeriesCastingRequest) -> review_pb2.SeriesCasting:
        return await self.stub.GetSeriesCasting(request, timeout=self.timeout)

    async def set_series_casting(self, request: review_pb2.SetSeriesCastingRequest) -> review_pb2.SeriesCasting:
        return await self.stub.SetSeriesCasting(request, timeout=self.timeout)

    async def list_audit(self, request: review_pb2.ListAuditRequest) -> review_pb2.ListAuditResponse:
        return await self.stub.ListAudit(request, timeout=self.timeout)

    async def claim_second_review(self, request: review_pb2.ClaimNextRequest) -> review_pb2.ClaimSecondReviewResponse:
        return await self.stub.ClaimSecondReview(request, timeout=self.timeout)

    async def decide_second_review(self, request: review_pb2.DecideSecondReviewRequest) -> review_pb2.SecondReview:
        return await self.stub.DecideSecondReview(request, timeout=self.timeout)

    async def dashboard(self, request: review_pb2.GetDashboardRequest) -> review_pb2.Dashboard:
        return await self.stub.GetDashboard(request, timeout=self.timeout)
