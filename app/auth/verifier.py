"""Verify bearer JWTs against the configured key source and read the caller's roles from them.

The checks, in order: size, shape, header ``alg`` against the allow-list, key lookup, signature
(python-jose, always with an explicit one-algorithm list), then ``exp``, ``nbf``, ``iat``,
``aud`` and ``iss`` against an injected clock. Any failure, including an unexpected exception
from python-jose, becomes one ``NotAuthenticated`` whose message gives no detail about the cause.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from jose import jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError
from pydantic import BaseModel

from app.auth.jwks import JWKSCache
from app.auth.keys import keys_for_public_key, keys_for_secret, load_public_key
from app.config import HMAC_ALGORITHMS, Settings, SettingsError
from app.errors import NotAuthenticated

logger = logging.getLogger(__name__)

INVALID_BEARER_DETAIL = "The bearer token is invalid or expired."

# Three non-empty base64url segments, without padding (RFC 7515 compact serialization).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

# python-jose 3.5 reads the wall clock for exp, nbf and iat and treats a token as expired only a
# second after exp, so Lookout checks times, aud and iss itself and turns those checks off here.
# at_hash needs the OAuth access token that came with an ID token, which a bearer request lacks.
_DECODE_OPTIONS: dict[str, Any] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": True,
    "verify_jti": True,
    "verify_at_hash": False,
}


class TokenRejected(Exception):
    """A token failed one of Lookout's own checks; the message names the check, safe to log."""


class Principal(BaseModel):
    """The caller a verified token names: its subject, its roles and all of its claims."""

    subject: str | None
    roles: list[str]
    claims: dict[str, Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """Read a NumericDate claim (seconds since the epoch, JSON number); absent gives ``None``."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenRejected(f"claim {name} is not a number of seconds")
    return float(value)


def _claim_at_path(claims: dict[str, Any], path: str) -> Any:
    """Look up a claim by its full name first, then as a dotted path into nested objects.

    The full-name lookup keeps namespaced claims such as ``https://example.com/roles`` working.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def roles_from_claims(claims: dict[str, Any], role_claim: str) -> list[str]:
    """Read the roles at ``role_claim``: a string is one role, a list contributes its strings."""
    value = _claim_at_path(claims, role_claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class TokenVerifier:
    """Verifies bearer tokens with the key source the settings configure.

    The source is exactly one of: ``JWT_PUBLIC_KEY`` (RS*, PS* or ES*), ``JWT_JWKS_URL`` (fetched
    through ``http_client``) or an HMAC secret (``JWT_SECRET``, or the demo key in demo mode).
    Keys are built once here, so a bad key stops start-up with a ``SettingsError``. ``clock``
    returns an aware UTC datetime and drives the ``exp``, ``nbf`` and ``iat`` checks and the
    JWKS cache. Without ``JWT_AUDIENCE`` the ``aud`` claim is not checked, so set it whenever
    the issuer also signs tokens for other APIs.
    """

    def __init__(
        self,
        settings: Settings,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._clock = clock
        self._algorithms = tuple(settings.jwt_algorithms)
        self._leeway_s = settings.jwt_leeway_seconds
        self._max_token_bytes = settings.jwt_max_token_bytes
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        self._role_claim = settings.admin_role_claim
        self._admin_roles = frozenset(settings.admin_roles)
        self._static_keys: dict[str, Key] = {}
        self._jwks: JWKSCache | None = None

        if settings.jwt_public_key is not None and settings.jwt_jwks_url is not None:
            raise SettingsError("JWT_PUBLIC_KEY and JWT_JWKS_URL are both set; set only one")
        asymmetric = [name for name in self._algorithms if name not in HMAC_ALGORITHMS]
        hmac_secret = settings.jwt_hmac_secret

        if settings.jwt_public_key is not None:
            self._static_keys = _keys_from_public_key(
                settings.jwt_public_key.get_secret_value(), asymmetric
            )
        elif settings.jwt_jwks_url is not None:
            if http_client is None:
                raise SettingsError(
                    "JWT_JWKS_URL is set but TokenVerifier got no http_client to fetch it with"
                )
            if not asymmetric:
                raise SettingsError("JWT_ALGORITHMS must list RS*, ES* or PS* with JWT_JWKS_URL")
            self._jwks = JWKSCache(
                settings.jwt_jwks_url,
                http_client,
                algorithms=asymmetric,
                ttl=timedelta(seconds=settings.jwt_jwks_ttl_seconds),
                clock=clock,
            )
        elif hmac_secret is not None:
            self._static_keys = keys_for_secret(hmac_secret, self._algorithms)
            if not self._static_keys:
                raise SettingsError(
                    "JWT_ALGORITHMS must list HS256, HS384 or HS512 with JWT_SECRET"
                )
        else:
            raise SettingsError(
                "JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL must be set to verify admin tokens"
            )

    async def verify(self, token: str) -> dict[str, Any]:
        """Verify the token's signature and claims and return its claims.

        Raises ``NotAuthenticated`` (with ``token_given=True``) for every failure. The reason
        is logged without the token, and the response detail stays generic.
        """
        try:
            return await self._verify(token)
        except TokenRejected as exc:
            logger.info("token rejected reason=%s", exc)
        except JOSEError as exc:
            logger.info("token rejected reason=%s: %s", type(exc).__name__, exc)
        except Exception as exc:
            # The message of an unknown exception could quote the token, so only its type is kept.
            logger.warning("token verification failed unexpectedly error=%s", type(exc).__name__)
        raise NotAuthenticated(INVALID_BEARER_DETAIL, token_given=True)

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Build the caller from verified claims; the role check is ``is_admin``'s job."""
        subject = claims.get("sub")
        return Principal(
            subject=subject if isinstance(subject, str) else None,
            roles=roles_from_claims(claims, self._role_claim),
            claims=claims,
        )

    def is_admin(self, principal: Principal) -> bool:
        """Tell whether the caller has one of ``ADMIN_ROLES``."""
        return any(role in self._admin_roles for role in principal.roles)

    async def _verify(self, token: str) -> dict[str, Any]:
        size = len(token.encode("utf-8", "surrogatepass"))
        if size > self._max_token_bytes:
            raise TokenRejected(f"token of {size} bytes exceeds {self._max_token_bytes}")
        if not _COMPACT_JWS.fullmatch(token):
            raise TokenRejected("token is not three base64url segments")

        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise TokenRejected("header alg is missing or none")
        if algorithm not in self._algorithms:
            raise TokenRejected(f"header alg {algorithm!r} is not in JWT_ALGORITHMS")
        if "crit" in header:
            raise TokenRejected("header lists crit extensions, which Lookout does not support")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected("header kid is not a string")

        keys = await self._keys_for(kid, algorithm)
        if not keys:
            raise TokenRejected(f"no key for kid {kid!r} and alg {algorithm}")
        claims = self._decode(token, keys, algorithm)
        self._check_claims(claims)
        return claims

    async def _keys_for(self, kid: str | None, algorithm: str) -> list[Key]:
        if self._jwks is not None:
            return await self._jwks.keys_for(kid, algorithm)
        key = self._static_keys.get(algorithm)
        return [] if key is None else [key]

    def _decode(self, token: str, keys: Sequence[Key], algorithm: str) -> dict[str, Any]:
        """Check the signature with each candidate key until one matches."""
        failure: JOSEError | None = None
        for key in keys:
            try:
                return jwt.decode(token, key, algorithms=[algorithm], options=_DECODE_OPTIONS)
            except JOSEError as exc:
                failure = exc
        raise TokenRejected(f"signature check failed: {failure}")

    def _check_claims(self, claims: dict[str, Any]) -> None:
        """Check the time, audience and issuer claims.

        A token is expired from ``exp + leeway`` on, so with no leeway it is already rejected at
        ``exp`` itself. It is not yet valid before ``nbf - leeway``, and an ``iat`` later than
        ``now + leeway`` is rejected as issued in the future.
        """
        now = self._clock()
        if now.tzinfo is None:
            raise TypeError("the clock returned a naive datetime; it must return aware UTC")
        now_s = now.timestamp()

        expires_at = _numeric_date(claims, "exp")
        if expires_at is None:
            raise TokenRejected("claim exp is missing")
        if now_s >= expires_at + self._leeway_s:
            raise TokenRejected("token expired")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and now_s < not_before - self._leeway_s:
            raise TokenRejected("token not valid yet (nbf)")
        issued_at = _numeric_date(claims, "iat")
        if issued_at is not None and issued_at > now_s + self._leeway_s:
            raise TokenRejected("token issued in the future (iat)")

        if self._audience is not None:
            audience = claims.get("aud")
            audiences = [audience] if isinstance(audience, str) else audience
            if not isinstance(audiences, list) or self._audience not in audiences:
                raise TokenRejected("claim aud is missing or does not contain JWT_AUDIENCE")
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise TokenRejected("claim iss is missing or not JWT_ISSUER")


def _keys_from_public_key(pem: str, algorithms: Sequence[str]) -> dict[str, Key]:
    try:
        public_key = load_public_key(pem)
    except ValueError as exc:
        raise SettingsError(f"JWT_PUBLIC_KEY is invalid: {exc}") from None
    keys = keys_for_public_key(public_key, algorithms)
    if not keys:
        raise SettingsError(
            f"JWT_ALGORITHMS ({','.join(algorithms) or 'no asymmetric algorithm'}) has no "
            "algorithm that fits the key in JWT_PUBLIC_KEY; use RS*/PS* for RSA, ES* for EC"
        )
    return keys
