"""Bearer-token authentication and role checks for every endpoint.

Tokens are JWTs verified by `helix.auth.TokenVerifier` (HS256 locally, OIDC/JWKS in
production). Each endpoint declares who may call it with `require(*roles)`; admins pass
every role check. Production access follows `Principal.assigned_to`, except that studio
systems are machine accounts acting for the whole studio and see every production.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helix.auth import ALL_PRODUCTIONS, InvalidToken, Principal, Role, TokenVerifier
from helix.v1 import common_pb2
from helix_gateway.problems import ProblemError

ANY_ROLE = (Role.STUDIO_SYSTEM, Role.DIRECTOR, Role.REVIEWER, Role.ADMIN)

_bearer = HTTPBearer(auto_error=False, description="A Helix JWT: `helix token SUBJECT --role ROLE --production ID`")


def _unauthorized(detail: str, *, invalid: bool) -> ProblemError:
    # RFC 6750: say which scheme, and whether the token itself was the problem.
    challenge = 'Bearer realm="helix"' + (', error="invalid_token"' if invalid else "")
    return ProblemError(401, detail, headers={"WWW-Authenticate": challenge})


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("this endpoint needs an `Authorization: Bearer <token>` header", invalid=False)
    verifier: TokenVerifier = request.app.state.gateway.verifier
    try:
        if verifier.settings.auth_jwks_url:  # fetching the provider's keys is network I/O
            return await asyncio.to_thread(verifier.verify, credentials.credentials)
        return verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(f"the bearer token was refused: {exc}", invalid=True) from None


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates the caller and checks they hold one of `roles`."""
    allowed = frozenset(roles)

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.has_any(*allowed):
            wanted = ", ".join(sorted(r.value for r in allowed | {Role.ADMIN}))
            raise ProblemError(403, f"this endpoint is for {wanted}")
        return principal

    check.roles = allowed  # type: ignore[attr-defined]  # read by the docs and the authorization tests
    return check


def sees_all_productions(principal: Principal) -> bool:
    return Role.ADMIN in principal.roles or Role.STUDIO_SYSTEM in principal.roles or ALL_PRODUCTIONS in principal.productions


def sees_production(principal: Principal, production_id: str) -> bool:
    return Role.STUDIO_SYSTEM in principal.roles or principal.assigned_to(production_id)


def ensure_sees_production(principal: Principal, production_id: str) -> None:
    if not sees_production(principal, production_id):
        raise ProblemError(403, f"you are not assigned to production {production_id!r}")


def reviewer_productions(principal: Principal) -> list[str] | None:
    """The productions a reviewer may work in; None means every production."""
    if Role.ADMIN in principal.roles or ALL_PRODUCTIONS in principal.productions:
        return None
    return sorted(set(principal.productions))


def ensure_reviews_in(principal: Principal, production_id: str) -> None:
    # Studio systems do not review: only an assignment (or admin / "*") counts here.
    if not principal.assigned_to(production_id):
        raise ProblemError(403, f"you are not assigned to review production {production_id!r}")


def actor_proto(principal: Principal) -> common_pb2.Actor:
    return common_pb2.Actor(subject=principal.subject, roles=sorted(r.value for r in principal.roles))


# Who may read: anyone signed in with a Helix role (what they see is then limited by production).
AnyRole = Annotated[Principal, Depends(require(*ANY_ROLE))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
