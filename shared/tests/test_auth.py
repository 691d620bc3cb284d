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


def test_oidc_tokens_verified_against_a_jwks_endpoint() -> None:
    """Production mode: RS256 tokens from an identity provider, keys fetched from its JWKS URL."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = HelixSettings(auth_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks", auth_issuer="https://idp.example", auth_audience="helix")
        claims = {"sub": "rhea", "roles": ["reviewer"], "productions": ["p1"], "iss": "https://idp.example", "aud": "helix", "exp": 4102444800}
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        who = TokenVerifier(settings).verify(good)
        assert who.subject == "rhea" and who.roles == {Role.REVIEWER} and who.productions == ("p1",)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(InvalidToken):
            TokenVerifier(settings).verify(jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"}))
        with pytest.raises(InvalidToken):  # an HS256 token signed with the public key must not pass
            TokenVerifier(settings).verify(jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": "k1"}))
    finally:
        server.shutdown()
