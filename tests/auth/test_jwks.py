"""Verification against a JWKS served by a local ASGI app: caching, rotation and failures."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth import TokenVerifier
from app.auth.jwks import parse_jwks
from app.errors import NotAuthenticated


@dataclass
class JWKSServer:
    """The issuer's JWKS endpoint; tests change ``keys`` or make it fail, and count requests."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    status_code: int = 200
    body: bytes | None = None
    requests: int = 0

    async def endpoint(self, request: Request) -> Response:
        self.requests += 1
        if self.body is not None:
            return Response(self.body, status_code=self.status_code)
        return JSONResponse({"keys": self.keys}, status_code=self.status_code)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/.well-known/jwks.json", self.endpoint)])


@pytest.fixture
def jwks_server(kit, rsa_key) -> JWKSServer:
    return JWKSServer(keys=[kit.rsa_jwk(rsa_key, "key-a")])


@pytest.fixture
async def jwks_client(jwks_server: JWKSServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=jwks_server.app())
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


def jwks_verifier(kit, client: httpx.AsyncClient, clock, **overrides: Any) -> TokenVerifier:
    values = {"jwt_jwks_url": kit.jwks_url, "jwt_algorithms": ["RS256"], **overrides}
    return TokenVerifier(kit.make_settings(**values), client, clock=clock)


def rs_token(kit, private_key: Any, kid: str | None, alg: str = "RS256") -> str:
    """An admin token valid for an hour from the clock's current time."""
    header = {} if kid is None else {"kid": kid}
    return kit.sign(kit.claims(exp=kit.start_s + 3600), private_key, alg, header=header)


async def test_jwks_token_accepted_and_keys_cached(
    admin, kit, rsa_key, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    token = rs_token(kit, rsa_key, "key-a")

    first = await admin.call(token, verifier=verifier)
    admin.clock.advance(10)
    second = await admin.call(token, verifier=verifier)

    assert first.status_code == 200
    assert second.status_code == 200
    assert jwks_server.requests == 1


async def test_key_rotation_accepted_after_one_refetch(
    admin, kit, rsa_key, other_rsa_key, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    assert (await admin.call(rs_token(kit, rsa_key, "key-a"), verifier=verifier)).status_code == 200
    assert jwks_server.requests == 1

    # The issuer publishes key-b 90 s later; the cache holds only key-a until a refetch.
    jwks_server.keys.append(kit.rsa_jwk(other_rsa_key, "key-b"))
    admin.clock.advance(90)
    rotated = rs_token(kit, other_rsa_key, "key-b")

    assert (await admin.call(rotated, verifier=verifier)).status_code == 200
    assert jwks_server.requests == 2
    assert (await admin.call(rotated, verifier=verifier)).status_code == 200
    assert jwks_server.requests == 2


async def test_unknown_kid_refetch_once_a_minute(
    admin, kit, rsa_key, other_rsa_key, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    assert (await admin.call(rs_token(kit, rsa_key, "key-a"), verifier=verifier)).status_code == 200

    jwks_server.keys.append(kit.rsa_jwk(other_rsa_key, "key-b"))
    rotated = rs_token(kit, other_rsa_key, "key-b")
    admin.clock.advance(59)
    assert (await admin.call(rotated, verifier=verifier)).status_code == 401
    assert jwks_server.requests == 1

    admin.clock.advance(1)
    assert (await admin.call(rotated, verifier=verifier)).status_code == 200
    assert jwks_server.requests == 2


async def test_made_up_kids_fetch_once_a_minute(
    admin, kit, rsa_key, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    for second in range(120):
        token = rs_token(kit, rsa_key, f"made-up-{second}")
        assert (await admin.call(token, verifier=verifier)).status_code == 401
        admin.clock.advance(1)
    assert jwks_server.requests == 2


async def test_concurrent_unknown_kids_share_one_fetch(
    kit, rsa_key, other_rsa_key, clock, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, clock)
    await verifier.verify(rs_token(kit, rsa_key, "key-a"))
    jwks_server.keys.append(kit.rsa_jwk(other_rsa_key, "key-b"))
    clock.advance(61)
    rotated = rs_token(kit, other_rsa_key, "key-b")

    results = await asyncio.gather(*(verifier.verify(rotated) for _ in range(20)))

    assert all(claims["sub"] == "user-1" for claims in results)
    assert jwks_server.requests == 2


async def test_unknown_kid_rejected(admin, kit, rsa_key, jwks_client) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    response = await admin.call(rs_token(kit, rsa_key, "key-z"), verifier=verifier)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_key_from_another_jwks_rejected(admin, kit, other_rsa_key, jwks_client) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    response = await admin.call(rs_token(kit, other_rsa_key, "key-a"), verifier=verifier)
    assert response.status_code == 401


async def test_token_without_kid_matches_any_key(
    admin, kit, rsa_key, other_rsa_key, jwks_server, jwks_client
) -> None:
    jwks_server.keys.insert(0, kit.rsa_jwk(other_rsa_key, "key-0"))
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    response = await admin.call(rs_token(kit, rsa_key, None), verifier=verifier)
    assert response.status_code == 200


async def test_keys_refetched_after_ttl(admin, kit, rsa_key, jwks_server, jwks_client) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock, jwt_jwks_ttl_seconds=300)
    token = rs_token(kit, rsa_key, "key-a")
    await admin.call(token, verifier=verifier)
    admin.clock.advance(299)
    await admin.call(token, verifier=verifier)
    assert jwks_server.requests == 1

    admin.clock.advance(1)
    assert (await admin.call(token, verifier=verifier)).status_code == 200
    assert jwks_server.requests == 2


async def test_removed_key_rejected_after_ttl(
    admin, kit, rsa_key, other_rsa_key, jwks_server, jwks_client
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock, jwt_jwks_ttl_seconds=300)
    token = rs_token(kit, rsa_key, "key-a")
    assert (await admin.call(token, verifier=verifier)).status_code == 200

    jwks_server.keys[:] = [kit.rsa_jwk(other_rsa_key, "key-b")]
    admin.clock.advance(300)
    assert (await admin.call(token, verifier=verifier)).status_code == 401


@pytest.mark.parametrize(
    ("status_code", "body"),
    [(500, None), (404, b"not found"), (200, b"<html>maintenance</html>"), (200, b'{"k": []}')],
)
async def test_jwks_fetch_failure_gives_401(
    admin,
    kit,
    rsa_key,
    jwks_server,
    jwks_client,
    caplog: pytest.LogCaptureFixture,
    status_code: int,
    body: bytes | None,
) -> None:
    jwks_server.status_code = status_code
    jwks_server.body = body
    verifier = jwks_verifier(kit, jwks_client, admin.clock)

    with caplog.at_level(logging.WARNING, logger="app.auth"):
        response = await admin.call(rs_token(kit, rsa_key, "key-a"), verifier=verifier)

    assert response.status_code == 401
    assert "jwks fetch failed" in caplog.text
    assert jwks_server.requests == 1


async def test_jwks_unreachable_gives_401(
    admin, kit, rsa_key, caplog: pytest.LogCaptureFixture
) -> None:
    def reject_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(reject_connection)) as client:
        verifier = jwks_verifier(kit, client, admin.clock)
        with caplog.at_level(logging.WARNING, logger="app.auth"):
            response = await admin.call(rs_token(kit, rsa_key, "key-a"), verifier=verifier)

    assert response.status_code == 401
    assert "jwks fetch failed" in caplog.text
    assert "ConnectError" in caplog.text


async def test_last_good_keys_used_when_refresh_fails(
    admin, kit, rsa_key, jwks_server, jwks_client, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock, jwt_jwks_ttl_seconds=300)
    token = rs_token(kit, rsa_key, "key-a")
    assert (await admin.call(token, verifier=verifier)).status_code == 200

    jwks_server.status_code = 503
    admin.clock.advance(301)
    with caplog.at_level(logging.WARNING, logger="app.auth"):
        response = await admin.call(token, verifier=verifier)

    assert response.status_code == 200
    assert jwks_server.requests == 2
    assert "cached_keys=1" in caplog.text


async def test_empty_jwks_keeps_last_keys(admin, kit, rsa_key, jwks_server, jwks_client) -> None:
    verifier = jwks_verifier(kit, jwks_client, admin.clock, jwt_jwks_ttl_seconds=300)
    token = rs_token(kit, rsa_key, "key-a")
    assert (await admin.call(token, verifier=verifier)).status_code == 200

    jwks_server.keys[:] = [{"kty": "oct", "kid": "key-a", "k": "c2VjcmV0"}]
    admin.clock.advance(300)
    assert (await admin.call(token, verifier=verifier)).status_code == 200
    assert jwks_server.requests == 2


async def test_oversized_jwks_rejected(admin, kit, rsa_key, jwks_server, jwks_client) -> None:
    document = {"keys": [kit.rsa_jwk(rsa_key, "key-a")], "padding": "x" * 1_100_000}
    jwks_server.body = json.dumps(document).encode()
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    response = await admin.call(rs_token(kit, rsa_key, "key-a"), verifier=verifier)
    assert response.status_code == 401


async def test_jwks_query_string_not_logged(
    kit, rsa_key, clock, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as client:
        verifier = jwks_verifier(
            kit, client, clock, jwt_jwks_url=f"{kit.jwks_url}?api_key=hidden-value"
        )
        with caplog.at_level(logging.INFO, logger="app.auth"), pytest.raises(NotAuthenticated):
            await verifier.verify(rs_token(kit, rsa_key, "key-a"))

    assert "jwks fetch failed" in caplog.text
    assert "hidden-value" not in caplog.text


async def test_es256_jwk_accepted(admin, kit, jwks_server, jwks_client) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    numbers = private_key.public_key().public_numbers()
    jwks_server.keys.append(
        {
            "kty": "EC",
            "kid": "ec-1",
            "crv": "P-256",
            "x": kit.b64url(numbers.x.to_bytes(32, "big")),
            "y": kit.b64url(numbers.y.to_bytes(32, "big")),
        }
    )
    verifier = jwks_verifier(kit, jwks_client, admin.clock, jwt_algorithms=["RS256", "ES256"])
    response = await admin.call(rs_token(kit, private_key, "ec-1", "ES256"), verifier=verifier)
    assert response.status_code == 200


async def test_jwks_oct_key_never_used(admin, kit, jwks_server, jwks_client) -> None:
    shared = b"a-symmetric-key-that-must-never-be-published-0123"
    jwks_server.keys.append({"kty": "oct", "kid": "oct-1", "k": kit.b64url(shared)})
    token = kit.sign(kit.claims(), shared, "HS256", header={"kid": "oct-1"})
    verifier = jwks_verifier(kit, jwks_client, admin.clock)
    response = await admin.call(token, verifier=verifier)
    assert response.status_code == 401


def test_parse_jwks_skips_unusable_keys(kit, rsa_key, caplog: pytest.LogCaptureFixture) -> None:
    usable = kit.rsa_jwk(rsa_key, "sig-1")
    document = {
        "keys": [
            {"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0"},
            {**kit.rsa_jwk(rsa_key, "enc-1"), "use": "enc"},
            {**kit.rsa_jwk(rsa_key, "ops-1"), "key_ops": ["encrypt"]},
            {**kit.rsa_jwk(rsa_key, "rs512-1"), "alg": "RS512"},
            {**kit.rsa_jwk(rsa_key, "bad-n"), "n": "not base64!"},
            {**kit.rsa_jwk(rsa_key, "int-kid"), "kid": 7},
            "not an object",
            usable,
        ]
    }
    with caplog.at_level(logging.WARNING, logger="app.auth"):
        entries = parse_jwks(document, ["RS256"])

    assert [entry.kid for entry in entries] == ["sig-1"]
    assert list(entries[0].keys) == ["RS256"]
    assert "c2VjcmV0" not in caplog.text


def test_parse_jwks_rejects_short_rsa_key(kit) -> None:
    short_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    assert parse_jwks({"keys": [kit.rsa_jwk(short_key, "short")]}, ["RS256"]) == []


def test_parse_jwks_rejects_point_off_curve(kit) -> None:
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": kit.b64url(b"\x01" * 32),
        "y": kit.b64url(b"\x02" * 32),
    }
    assert parse_jwks({"keys": [jwk]}, ["ES256"]) == []
