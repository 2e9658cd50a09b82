"""Keys, a frozen clock, a token signer and a one-route admin app for the auth tests.

Tokens are signed here with ``cryptography`` directly, not with python-jose, so that the tests do
not share the code under test and can build malformed or hostile tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.auth import AdminUser, TokenVerifier
from app.config import Settings
from app.errors import LookoutError

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START_S = int(START.timestamp())
SECRET = "my-keys-secret-for-lookout-tests-0123456789abcdef"
JWKS_URL = "http://127.0.0.1/.well-known/jwks.json"

_ENV_VARIABLES = (
    "DEMO_MODE",
    "JWT_SECRET",
    "JWT_PUBLIC_KEY",
    "JWT_JWKS_URL",
    "JWT_ALGORITHMS",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "JWT_LEEWAY_SECONDS",
    "JWT_MAX_TOKEN_BYTES",
    "JWT_JWKS_TTL_SECONDS",
    "ADMIN_ROLE_CLAIM",
    "ADMIN_ROLES",
)


@pytest.fixture(autouse=True)
def _clean_auth_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own JWT settings out of the tests."""
    for name in _ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: Any) -> Settings:
    """Demo-mode settings (no upstream keys needed) without any ``.env`` file."""
    values: dict[str, Any] = {"demo_mode": True, "poller_enabled": False, "jwt_leeway_seconds": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class FakeClock:
    """A clock the test moves by hand; returns aware UTC datetimes."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def json_segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    """Admin claims valid at ``START`` for ten minutes; ``None`` values are dropped."""
    values: dict[str, Any] = {
        "sub": "user-1",
        "role": "super_admin",
        "iat": START_S,
        "nbf": START_S,
        "exp": START_S + 600,
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def sign(
    payload: dict[str, Any],
    key: Any,
    alg: str,
    *,
    header: dict[str, Any] | None = None,
) -> str:
    """Build a compact JWS: HS* with bytes, RS*/PS* with an RSA private key, ES* with an EC one."""
    head = {"alg": alg, "typ": "JWT", **(header or {})}
    signing_input = f"{json_segment(head)}.{json_segment(payload)}".encode()
    digest = _HASHES[alg[-3:]]()
    if alg.startswith("HS"):
        signature = hmac.new(key, signing_input, getattr(hashlib, digest.name)).digest()
    elif alg.startswith("RS"):
        signature = key.sign(signing_input, padding.PKCS1v15(), digest)
    elif alg.startswith("PS"):
        pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        signature = key.sign(signing_input, pss, digest)
    elif alg.startswith("ES"):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        raise ValueError(alg)
    return f"{signing_input.decode()}.{b64url(signature)}"


def public_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_jwk(private_key: rsa.RSAPrivateKey, kid: str, alg: str = "RS256") -> dict[str, Any]:
    numbers = private_key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": alg,
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def build_admin_app(verifier: TokenVerifier) -> FastAPI:
    """A tiny app with one admin route and a handler that renders ``LookoutError`` as JSON."""
    app = FastAPI()
    app.state.token_verifier = verifier

    @app.exception_handler(LookoutError)
    async def _render(request: Request, exc: LookoutError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.get("/admin/ping")
    async def ping(user: AdminUser) -> dict[str, Any]:
        return {"subject": user.subject, "roles": user.roles}

    return app


@dataclass
class AdminCaller:
    """Sends ``GET /admin/ping`` to an app whose verifier the test configures."""

    clock: FakeClock
    http_client: httpx.AsyncClient | None = None

    def verifier(self, **overrides: Any) -> TokenVerifier:
        return TokenVerifier(make_settings(**overrides), self.http_client, clock=self.clock)

    async def call(
        self,
        token: str | None = None,
        *,
        authorization: str | None = None,
        verifier: TokenVerifier | None = None,
        **overrides: Any,
    ) -> httpx.Response:
        """Call the route with ``Bearer <token>``, or with a raw ``authorization`` value."""
        app = build_admin_app(verifier or self.verifier(**overrides))
        headers: dict[str, str] = {}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/admin/ping", headers=headers)


@pytest.fixture
async def admin(clock: FakeClock) -> AsyncIterator[AdminCaller]:
    yield AdminCaller(clock=clock)


class JWTKit:
    """The helpers above as one fixture, since test modules cannot import from conftest."""

    start = START
    start_s = START_S
    secret = SECRET
    secret_bytes = SECRET.encode()
    jwks_url = JWKS_URL
    b64url = staticmethod(b64url)
    json_segment = staticmethod(json_segment)
    claims = staticmethod(claims)
    sign = staticmethod(sign)
    public_pem = staticmethod(public_pem)
    rsa_jwk = staticmethod(rsa_jwk)
    make_settings = staticmethod(make_settings)
    build_admin_app = staticmethod(build_admin_app)

    def hs_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings overrides for an HS256 service with the test secret."""
        return {"jwt_secret": SECRET, "jwt_algorithms": ["HS256"], **overrides}

    def hs_token(self, **claim_overrides: Any) -> str:
        """An HS256 admin token signed with the test secret."""
        return sign(claims(**claim_overrides), SECRET.encode(), "HS256")


@pytest.fixture
def kit() -> JWTKit:
    return JWTKit()
