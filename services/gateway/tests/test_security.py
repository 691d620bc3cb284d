"""Bearer tokens and role checks on the gateway's routes (401 with a challenge, 403 naming the
roles), admins passing every check, and who sees and reviews which production."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from helix.auth import Principal, Role, mint_token
from helix_gateway.problems import ProblemError
from helix_gateway.security import (
    actor_proto,
    ensure_reviews_in,
    ensure_sees_production,
    require,
    reviewer_productions,
    sees_all_productions,
    sees_production,
)
from helix_gateway.settings import GatewaySettings

from .conftest import SECRET, auth


def who(*roles: Role, productions: tuple[str, ...] = ()) -> Principal:
    return Principal(subject="sam", roles=frozenset(roles), productions=productions)


async def test_a_missing_header_is_a_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic c2FtOnB3"}):
        response = await client.get("/productions", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == 'Bearer realm="helix"'


async def test_a_refused_token_says_why_and_that_the_token_is_the_problem(client: httpx.AsyncClient) -> None:
    expired = mint_token(GatewaySettings(auth_secret=SECRET), "sam", ["director"], ttl=timedelta(seconds=-60))
    forged = mint_token(GatewaySettings(auth_secret="someone-else-" + "x" * 40), "sam", ["director"])
    for token in (expired, forged, "not.a.jwt"):
        response = await client.get("/productions", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == 'Bearer realm="helix", error="invalid_token"'
        assert response.json()["detail"].startswith("the bearer token was refused: ")


async def test_a_role_check_names_the_roles_it_wants_and_admins_pass(client: httpx.AsyncClient) -> None:
    refused = await client.get("/reviews/queue", headers=auth("dana", "director", productions=["p"]))
    assert refused.status_code == 403 and refused.json()["detail"] == "this endpoint is for admin, reviewer"
    assert (await client.get("/audit", headers=auth("rhea", "reviewer"))).status_code == 403
    assert (await client.get("/console/me", headers=auth("root", "admin"))).status_code == 200


def test_require_records_the_roles_it_admits() -> None:
    assert require(Role.DIRECTOR, Role.REVIEWER).roles == {Role.DIRECTOR, Role.REVIEWER}  # type: ignore[attr-defined]


def test_studio_systems_and_admins_see_every_production_others_their_own() -> None:
    assert sees_all_productions(who(Role.ADMIN)) and sees_all_productions(who(Role.STUDIO_SYSTEM))
    assert sees_all_productions(who(Role.DIRECTOR, productions=("*",)))
    assert not sees_all_productions(who(Role.DIRECTOR, productions=("p",)))
    assert sees_production(who(Role.STUDIO_SYSTEM), "any") and sees_production(who(Role.REVIEWER, productions=("p",)), "p")
    assert not sees_production(who(Role.REVIEWER, productions=("p",)), "q")
    with pytest.raises(ProblemError) as caught:
        ensure_sees_production(who(Role.DIRECTOR, productions=("p",)), "q")
    assert caught.value.status == 403 and "'q'" in (caught.value.detail or "")


def test_studio_systems_review_nothing_they_are_not_assigned_to() -> None:
    with pytest.raises(ProblemError):
        ensure_reviews_in(who(Role.STUDIO_SYSTEM), "p")
    ensure_reviews_in(who(Role.REVIEWER, productions=("p",)), "p")
    ensure_reviews_in(who(Role.ADMIN), "p")


def test_a_reviewers_productions_none_meaning_all() -> None:
    assert reviewer_productions(who(Role.ADMIN)) is None
    assert reviewer_productions(who(Role.REVIEWER, productions=("*",))) is None
    assert reviewer_productions(who(Role.REVIEWER, productions=("b", "a", "b"))) == ["a", "b"]
    assert reviewer_productions(who(Role.REVIEWER)) == []


def test_the_actor_sent_to_the_review_service_lists_its_roles_sorted() -> None:
    actor = actor_proto(who(Role.REVIEWER, Role.ADMIN))
    assert actor.subject == "sam" and list(actor.roles) == ["admin", "reviewer"]
