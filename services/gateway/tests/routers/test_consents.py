"""The consent registry through the review service: reviewers read it, admins record (expiry in
UTC, within what protobuf can carry) and revoke."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import httpx
import pytest

from helix.v1 import common_pb2, review_pb2
from helix_gateway.state import GatewayState

from ..conftest import T0, auth, review_of, rpc_error, stamp

ROOT = auth("root", "admin")
CONSENT = review_pb2.Consent(
    consent_id="c1",
    performer="Ann Lee",
    scopes=["likeness"],
    production_ids=["lighthouse"],
    recorded=common_pb2.AuditStamp(actor=common_pb2.Actor(subject="root"), at=stamp(T0), reason="signed"),
)
BODY = {
    "performer": " Ann Lee ",
    "scopes": ["likeness", "voice"],
    "production_ids": ["lighthouse"],
    "reason": "signed release",
    "aliases": ["Annie"],
}


async def test_reviewers_list_consents_by_performer(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["list_consents"] = review_pb2.ListConsentsResponse(
        consents=[CONSENT], page=common_pb2.PageInfo(next_cursor="n")
    )
    rhea = auth("rhea", "reviewer", productions=["lighthouse"])
    response = await client.get("/consents", params={"performer": "Ann Lee", "limit": 10}, headers=rhea)
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] == "n" and [(c["consent_id"], c["recorded"]["reason"]) for c in page["items"]] == [
        ("c1", "signed")
    ]
    [request] = review_of(gateway).requests("list_consents")
    assert (request.performer, request.page.page_size, request.page.cursor) == ("Ann Lee", 10, "")
    assert list(request.production_ids) == ["lighthouse"], "a reviewer reads the consents of their productions"
    unassigned = await client.get("/consents", headers=auth("ivo", "reviewer"))
    assert unassigned.status_code == 200 and unassigned.json()["items"] == [], "assigned to nothing: no consent at all"
    assert len(review_of(gateway).requests("list_consents")) == 1, "and review is not asked for every consent"
    assert (await client.get("/consents", headers=auth("dana", "director"))).status_code == 403


async def test_admins_record_a_consent_with_its_expiry_in_utc(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["record_consent"] = CONSENT
    response = await client.post("/consents", json={**BODY, "expires_at": "2027-01-01T02:00:00+02:00"}, headers=ROOT)
    assert response.status_code == 201 and response.json()["consent_id"] == "c1"
    [request] = review_of(gateway).requests("record_consent")
    assert (request.actor.subject, request.performer, list(request.scopes), list(request.aliases), request.reason) == (
        "root",
        "Ann Lee",
        ["likeness", "voice"],
        ["Annie"],
        "signed release",
    )
    assert request.expires_at.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 1, tzinfo=UTC)


async def test_a_consent_without_expiry_sends_none(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["record_consent"] = CONSENT
    assert (await client.post("/consents", json=BODY, headers=ROOT)).status_code == 201
    assert not review_of(gateway).requests("record_consent")[0].HasField("expires_at")


@pytest.mark.parametrize(
    "change",
    [
        {"expires_at": "2027-01-01T00:00:00"},
        {"expires_at": "1969-12-31T23:00:00Z"},
        {"expires_at": "9999-12-31T23:59:59-05:00"},
        {"scopes": []},
        {"scopes": ["smell"]},
        {"reason": " "},
    ],
    ids=["naive", "before 1970", "past year 9999 in UTC", "no scope", "unknown scope", "no reason"],
)
async def test_consents_protobuf_cannot_carry_or_that_say_nothing_are_refused(
    client: httpx.AsyncClient, gateway: GatewayState, change: dict[str, object]
) -> None:
    assert (await client.post("/consents", json={**BODY, **change}, headers=ROOT)).status_code == 422
    assert review_of(gateway).calls == []


async def test_only_admins_record_and_revoke(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    reviewer = auth("rhea", "reviewer", productions=["*"])
    assert (await client.post("/consents", json=BODY, headers=reviewer)).status_code == 403
    assert (await client.post("/consents/c1/revoke", json={"reason": "x"}, headers=reviewer)).status_code == 403
    assert review_of(gateway).calls == []


async def test_revoking_a_consent(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["revoke_consent"] = review_pb2.Consent(
        consent_id="c1", performer="Ann Lee", scopes=["likeness"], revoked=common_pb2.AuditStamp(reason="withdrawn")
    )
    response = await client.post("/consents/c1/revoke", json={"reason": "withdrawn"}, headers=ROOT)
    assert response.status_code == 200 and response.json()["revoked"]["reason"] == "withdrawn"
    [request] = review_of(gateway).requests("revoke_consent")
    assert (request.consent_id, request.actor.subject, request.reason) == ("c1", "root", "withdrawn")
    review_of(gateway).errors["revoke_consent"] = rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "consent c1 was already revoked")
    again = await client.post("/consents/c1/revoke", json={"reason": "withdrawn"}, headers=ROOT)
    assert again.status_code == 409 and again.json()["detail"] == "consent c1 was already revoked"


async def test_a_reviewer_asks_only_for_the_consents_of_their_productions(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["list_consents"] = review_pb2.ListConsentsResponse(consents=[CONSENT], page=common_pb2.PageInfo())
    for headers, productions in ((auth("rhea", "reviewer", productions=["lighthouse", "harbour"]), ["harbour", "lighthouse"]),
                                 (ROOT, []), (auth("sam", "reviewer", productions=["*"]), [])):
        assert (await client.get("/consents", headers=headers)).status_code == 200
        assert list(review_of(gateway).requests("list_consents")[-1].production_ids) == productions


PNG = b"\x89PNG\r\n\x1a\nimage"
REFERENCE = review_pb2.ConsentReference(reference_id="r1", consent_id="c1", media_type="image/png", sha256="ab" * 32, size_bytes=len(PNG),
                                        embedded=True)


async def test_admins_add_reference_media_with_its_type(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["add_consent_reference"] = REFERENCE
    response = await client.post("/consents/c1/references", content=PNG, headers={**ROOT, "Content-Type": "image/png"})
    assert response.status_code == 201, response.text
    assert response.json()["reference_id"] == "r1" and response.json()["embedded"] is True
    [sent] = review_of(gateway).requests("add_consent_reference")
    assert (sent.consent_id, sent.media_type, sent.data, sent.actor.subject) == ("c1", "image/png", PNG, "root")
    gif = await client.post("/consents/c1/references", content=b"GIF89a", headers={**ROOT, "Content-Type": "image/gif"})
    assert gif.status_code == 415 and "image/png" in gif.json()["detail"]
    director = await client.post("/consents/c1/references", content=PNG, headers={**auth("dana", "director"), "Content-Type": "image/png"})
    assert director.status_code == 403 and len(review_of(gateway).requests("add_consent_reference")) == 1


async def test_reference_media_are_served_under_the_consents_own_visibility(client: httpx.AsyncClient, gateway: GatewayState) -> None:
    review_of(gateway).answers["get_consent_reference"] = review_pb2.ConsentReferenceMedia(reference=REFERENCE, data=PNG)
    rhea = auth("rhea", "reviewer", productions=["lighthouse"])
    response = await client.get("/consents/c1/references/r1", headers=rhea)
    assert response.status_code == 200 and response.content == PNG and response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, no-store"
    [asked] = review_of(gateway).requests("get_consent_reference")
    assert (list(asked.production_ids), asked.every_production) == (["lighthouse"], False)
    await client.get("/consents/c1/references/r1", headers=ROOT)
    assert review_of(gateway).requests("get_consent_reference")[-1].every_production is True
    assert (await client.get("/consents/other/references/r1", headers=rhea)).status_code == 404, "a reference of another consent"
    review_of(gateway).errors["get_consent_reference"] = rpc_error(grpc.StatusCode.NOT_FOUND, "no consent reference 'r1'")
    assert (await client.get("/consents/c1/references/r1", headers=rhea)).status_code == 404
