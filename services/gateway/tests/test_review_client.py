"""The review service's client against an in-process gRPC server that records each call: every
method reaches its RPC with the client's deadline, inside a client span whose trace context
travels in the call's metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.message_factory import GetMessageClass
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from helix.grpc import create_server
from helix.v1 import review_pb2, review_pb2_grpc
from helix_gateway import review_client
from helix_gateway.review_client import ReviewClient

from .conftest import traced

SERVICE = review_pb2.DESCRIPTOR.services_by_name["ReviewService"]
CALLS: list[tuple[str, Any, dict[str, str], float | None]] = []


def _recorder(name: str, output: type) -> Any:
    async def method(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        CALLS.append((name, request, dict(context.invocation_metadata() or ()), context.time_remaining()))
        return output(item_id="got-it") if name == "GetItem" else output()

    return method


Recorder = type(
    "Recorder",
    (review_pb2_grpc.ReviewServiceServicer,),
    {m.name: _recorder(m.name, GetMessageClass(m.output_type)) for m in SERVICE.methods},
)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    return traced(monkeypatch, review_client)


@pytest.fixture
async def client() -> AsyncIterator[ReviewClient]:
    server, port, _ = create_server("review", address="127.0.0.1:0")
    review_pb2_grpc.add_ReviewServiceServicer_to_server(Recorder(), server)
    await server.start()
    CALLS.clear()
    review = ReviewClient(f"127.0.0.1:{port}", timeout=7.5)
    try:
        yield review
    finally:
        await review.close()
        await server.stop(grace=None)


CASES = [
    ("list_queue", review_pb2.ListQueueRequest(production_ids=["p"]), "ListQueue"),
    ("get_item", "item-9", "GetItem"),
    ("claim_next", review_pb2.ClaimNextRequest(lease_seconds=5), "ClaimNext"),
    ("release_claim", review_pb2.ReleaseClaimRequest(item_id="i"), "ReleaseClaim"),
    ("decide", review_pb2.DecideRequest(item_id="i", outcome="approved"), "Decide"),
    ("resolve_finding", review_pb2.ResolveFindingRequest(finding_id="f"), "ResolveFinding"),
    ("record_consent", review_pb2.RecordConsentRequest(performer="Ann"), "RecordConsent"),
    ("revoke_consent", review_pb2.RevokeConsentRequest(consent_id="c"), "RevokeConsent"),
    ("list_consents", review_pb2.ListConsentsRequest(performer="Ann"), "ListConsents"),
    ("set_policy", review_pb2.SetPolicyRequest(policy=review_pb2.Policy(production_id="p")), "SetPolicy"),
    ("add_consent_reference", review_pb2.AddConsentReferenceRequest(consent_id="c1", media_type="image/png", data=b"x"), "AddConsentReference"),
    ("get_consent_reference", review_pb2.GetConsentReferenceRequest(reference_id="r1", production_ids=["p"]), "GetConsentReference"),
    ("get_casting", review_pb2.GetCastingRequest(production_id="p"), "GetCasting"),
    ("set_casting", review_pb2.SetCastingRequest(casting_json="{}"), "SetCasting"),
    ("get_series_casting", review_pb2.GetSeriesCastingRequest(series_id="s"), "GetSeriesCasting"),
    ("set_series_casting", review_pb2.SetSeriesCastingRequest(series_json="{}"), "SetSeriesCasting"),
    ("list_audit", review_pb2.ListAuditRequest(item_id="i"), "ListAudit"),
    ("claim_second_review", review_pb2.ClaimNextRequest(lease_seconds=9), "ClaimSecondReview"),
    ("decide_second_review", review_pb2.DecideSecondReviewRequest(second_review_id="s"), "DecideSecondReview"),
    ("dashboard", review_pb2.GetDashboardRequest(window_hours=3), "GetDashboard"),
]


def test_every_client_method_is_one_of_the_services_rpcs() -> None:
    methods = {name for name in vars(ReviewClient) if not name.startswith("_") and name != "close"}
    assert {method for method, _, _ in CASES} == methods
    assert {rpc for _, _, rpc in CASES} <= {m.name for m in SERVICE.methods}


@pytest.mark.parametrize(("method", "argument", "rpc"), CASES, ids=[c[0] for c in CASES])
async def test_each_method_calls_its_rpc_with_the_deadline(client: ReviewClient, method: str, argument: Any, rpc: str) -> None:
    await getattr(client, method)(argument)
    [(called, request, _, remaining)] = CALLS
    assert called == rpc
    assert request == (review_pb2.GetItemRequest(item_id=argument) if method == "get_item" else argument)
    assert remaining is not None and 6 < remaining <= 7.6  # gRPC rounds deadlines up a little


async def test_a_call_runs_in_a_client_span_whose_context_travels_with_it(
    client: ReviewClient, spans: InMemorySpanExporter
) -> None:
    item = await client.get_item("item-9")
    assert item.item_id == "got-it"
    [span] = spans.get_finished_spans()
    assert span.name == "helix.v1.ReviewService/GetItem" and span.kind is SpanKind.CLIENT
    assert span.attributes is not None and span.attributes["rpc.method"] == "/helix.v1.ReviewService/GetItem"
    [(_, _, metadata, _)] = CALLS
    assert metadata["traceparent"].split("-")[1:3] == [
        format(span.context.trace_id, "032x"),
        format(span.context.span_id, "016x"),
    ]
