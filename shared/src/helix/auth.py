"""Bearer tokens: JWTs carrying a subject, roles and assigned productions.

Verified with HS256 and a shared secret locally, or against an OIDC provider's JWKS in
production (`HELIX_AUTH_JWKS_URL`). `helix token` mints local tokens for people and tests.
Roles: studio-system (machines that submit work), director (people who request
generations), reviewer (people who decide), admin (everything, plus resolving findings).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from pydantic import BaseModel, Field

from helix.settings import HelixSettings

ALL_PRODUCTIONS = "*"


class Role(StrEnum):
    STUDIO_SYSTEM = "studio-system"
    DIRECTOR = "director"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Principal(BaseModel):
    """Who is calling, as their verified token says."""

    subject: str
    roles: frozenset[Role]
    productions: tuple[str, ...] = Field(default=(), description="Assigned productions; '*' means all")

    def has_any(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)

    def assigned_to(self, production_id: str) -> bool:
        return Role.ADMIN in self.roles or ALL_PRODUCTIONS in self.productions or production_id in self.productions


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by whom we trust."""


def mint_token(
    settings: HelixSettings,
    subject: str,
    roles: list[Role] | list[str],
    *,
    productions: list[str] | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    if not settings.auth_secret:
        raise InvalidToken("HELIX_AUTH_SECRET is not set: `helix infra up` writes a local one")
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": [Role(r).value for r in roles],
        "productions": productions or [],
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.auth_secret.get_secret_value(), algorithm="HS256")


class TokenVerifier:
    def __init__(self, settings: HelixSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256"]
            elif self.settings.auth_secret:
                key = self.settings.auth_secret.get_secret_value()
                algorithms = ["HS256"]
            else:
                raise InvalidToken("the server has no way to verify tokens (set HELIX_AUTH_SECRET or HELIX_AUTH_JWKS_URL)")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        try:
            roles = frozenset(Role(r) for r in claims.get(self.settings.auth_roles_claim, []))
        except ValueError as exc:
            raise InvalidToken(f"unknown role in token: {exc}") from None
        productions = claims.get("productions", [])
        if not isinstance(productions, list) or not all(isinstance(p, str) for p in productions):
            raise InvalidToken("the productions claim must be a list of production ids")
        return Principal(subject=claims["sub"], roles=roles, productions=tuple(productions))


def service_token(settings: HelixSettings, service: str, productions: list[str], *, ttl: timedelta = timedelta(minutes=15)) -> str:
    """The bearer token one Helix service presents to another's gRPC API: the configured
    `HELIX_SERVICE_TOKEN` (production: from the identity provider), else one minted from
    `HELIX_AUTH_SECRET` for just these productions, with the studio-system role."""
    if settings.service_token is not None:
        return settings.service_token.get_secret_value()
    return mint_token(settings, f"service:{service}", [Role.STUDIO_SYSTEM], productions=productions, ttl=ttl)
