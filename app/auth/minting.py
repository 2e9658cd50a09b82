"""Mint admin tokens with the configured HMAC secret, for demo mode and local development."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import jwt

from app.auth.keys import keys_for_secret
from app.config import HMAC_ALGORITHMS, Settings, SettingsError

MAX_TOKEN_TTL = timedelta(days=365)

_TTL_PATTERN = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_ttl(value: str | timedelta) -> timedelta:
    """Parse a token lifetime such as ``15m``, ``1h``, ``1d`` or ``3600s``.

    Raises ``ValueError`` naming the value when it has no unit, is not positive or is longer
    than a year.
    """
    if isinstance(value, timedelta):
        ttl = value
    else:
        match = _TTL_PATTERN.fullmatch(value.strip().lower())
        if match is None:
            raise ValueError(
                f"invalid token lifetime {value!r}: expected a whole number and a unit "
                "s, m, h or d, such as 15m, 1h, 1d or 3600s"
            )
        count, unit = match.groups()
        if len(count) > 9:
            raise ValueError(f"invalid token lifetime {value!r}: at most {MAX_TOKEN_TTL.days}d")
        ttl = timedelta(seconds=int(count) * _UNIT_SECONDS[unit])

    if ttl <= timedelta(0):
        raise ValueError(f"invalid token lifetime {value!r}: it must be positive")
    if ttl > MAX_TOKEN_TTL:
        raise ValueError(f"invalid token lifetime {value!r}: at most {MAX_TOKEN_TTL.days}d")
    return ttl


def _nest_claim(claims: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted claim path, creating the nested objects on the way."""
    *parents, leaf = path.split(".")
    target = claims
    for part in parents:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"ADMIN_ROLE_CLAIM {path!r} collides with the claim {part!r}")
        target = child
    target[leaf] = value


def mint_token(
    settings: Settings,
    *,
    role: str = "super_admin",
    ttl: str | timedelta = "1h",
    subject: str = "lookout-cli",
    now: datetime | None = None,
) -> str:
    """Sign a token that Lookout's own verifier accepts, for demo mode and local development.

    It uses the HMAC secret in force and the first HS* algorithm of ``JWT_ALGORITHMS``, puts
    ``role`` at ``ADMIN_ROLE_CLAIM`` (nested when dotted) and adds ``aud`` and ``iss`` when they
    are configured. Raises ``SettingsError`` when only a public key or a JWKS URL is configured,
    because Lookout has no private key, and ``ValueError`` for an invalid ``ttl``.
    """
    lifetime = parse_ttl(ttl)
    secret = settings.jwt_hmac_secret
    if secret is None:
        raise SettingsError(
            "JWT_SECRET is not set: Lookout can mint tokens only with an HMAC secret, while "
            "tokens for JWT_PUBLIC_KEY or JWT_JWKS_URL come from your identity provider"
        )
    algorithm = next((name for name in settings.jwt_algorithms if name in HMAC_ALGORITHMS), None)
    if algorithm is None:
        raise SettingsError("JWT_ALGORITHMS lists no HS256, HS384 or HS512 to mint tokens with")

    issued_at = int((now or datetime.now(UTC)).timestamp())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + int(lifetime.total_seconds()),
    }
    if settings.jwt_audience is not None:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer is not None:
        claims["iss"] = settings.jwt_issuer
    _nest_claim(claims, settings.admin_role_claim, role)

    key = keys_for_secret(secret, [algorithm])[algorithm]
    return jwt.encode(claims, key, algorithm=algorithm)
