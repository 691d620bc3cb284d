from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from helix.auth import InvalidToken, Role, TokenVerifier, mint_token
from helix.settings import HelixSettings

SETTINGS = HelixSettings(auth_secret="s" * 32)


def test_mint_and_verify() -> None:
    token = mint_token(SETTINGS, "rhea", [Role.REVIEWER], productions=["lighthouse"])
    who = TokenVerifier(SETTINGS).verify(token)
    assert who.subject == "rhea" and who.roles == {Role.REVIEWER}
    assert who.assigned_to("lighthouse") and not who.assigned_to("other")
    assert who.has_any(Role.REVIEWER) and not who.has_any(Role.DIRECTOR)


def test_admin_is_assigned_everywhere() -> None:
    who = TokenVerifier(SETTINGS).verify(mint_token(SETTINGS, "root", [Role.ADMIN]))
    assert who.assigned_to("anything") and who.has_any(Role.DIRECTOR)


@pytest.mark.parametrize(
    "token, why",
    [
        (mint_token(SETTINGS, "x", [Role.DIRECTOR], ttl=timedelta(seconds=-5)), "expired"),
        (mint_token(HelixSettings(auth_secret="t" * 32), "x", [Role.DIRECTOR]), "Signature"),
        (mint_token(HelixSettings(auth_secret="s" * 32, auth_audience="other"), "x", [Role.DIRECTOR]), "(?i)audience"),
        (jwt.encode({"sub": "x", "roles": ["god"], "iss": "helix-local", "aud": "helix", "exp": 4102444800}, "s" * 32), "unknown role"),
        ("not-a-jwt", "segments"),
    ],
)
def test_bad_tokens_are_refused(token: str, why: str) -> None:
    with pytest.raises(InvalidToken, match=why):
        TokenVerifier(SETTINGS).verify(token)


def test_none_algorithm_is_refused() -> None:
    forged = jwt.encode({"sub": "x", "roles": ["admin"], "iss": "helix-local", "aud": "helix", "exp": 4102444800}, None, algorithm="none")
    with pytest.raises(InvalidToken):
        TokenVerifier(SETTINGS).verify(forged)
