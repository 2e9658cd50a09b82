"""A cache of an issuer's signing keys, fetched from its JWKS URL through the shared client.

Keys are kept for ``JWT_JWKS_TTL_SECONDS``. A token whose ``kid`` the cache does not contain
triggers a refetch, so a key rotation at the issuer needs no restart. Every fetch attempt,
successful or not, is at least ``MIN_FETCH_INTERVAL`` after the previous one, so tokens with made-up
``kid`` values cannot turn Lookout into a load generator for the issuer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from jose.backends.base import Key

from app.auth.keys import keys_from_jwk

logger = logging.getLogger(__name__)

MIN_FETCH_INTERVAL = timedelta(minutes=1)
MAX_JWKS_BYTES = 1_048_576


@dataclass(frozen=True)
class JWKSEntry:
    """One usable key of a JWKS: its ``kid`` (if any) and a verification key per algorithm."""

    kid: str | None
    keys: dict[str, Key]


class JWKSFetchError(Exception):
    """The JWKS could not be fetched or contained no usable key; the message is safe to log."""


def parse_jwks(document: Any, algorithms: Sequence[str]) -> list[JWKSEntry]:
    """Turn a JWKS document into entries, skipping (and logging) keys Lookout cannot use."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSFetchError("the response is not a JWKS: expected an object with a keys list")

    entries: list[JWKSEntry] = []
    for index, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, dict):
            logger.warning("jwks key skipped index=%d reason=not an object", index)
            continue
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            logger.warning("jwks key skipped index=%d reason=kid is not a string", index)
            continue
        try:
            keys = keys_from_jwk(jwk, algorithms)
        except ValueError as exc:
            logger.warning("jwks key skipped index=%d kid=%r reason=%s", index, kid, exc)
            continue
        if keys:
            entries.append(JWKSEntry(kid=kid, keys=keys))
    return entries


class JWKSCache:
    """Signing keys from a JWKS URL, cached for a TTL and refetched when an unknown ``kid`` shows.

    When a refresh fails, the last good keys stay in use and the failure is logged, so an outage
    of the JWKS endpoint does not lock every admin out. The cost is that a key the issuer removed
    stays trusted until a refresh succeeds.
    """

    def __init__(
        self,
        url: str,
        http_client: httpx.AsyncClient,
        *,
        algorithms: Sequence[str],
        ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._url = url
        self._client = http_client
        self._algorithms = tuple(algorithms)
        self._ttl = ttl
        self._clock = clock
        self._entries: list[JWKSEntry] = []
        self._fetched_at: datetime | None = None
        self._last_attempt_at: datetime | None = None
        self._lock = asyncio.Lock()
        parts = urlsplit(url)
        # Logged instead of the URL itself, which could carry credentials in its query.
        self._url_for_logs = f"{parts.scheme}://{parts.hostname}{parts.path}"

    async def keys_for(self, kid: str | None, algorithm: str) -> list[Key]:
        """Return the keys that may have signed a token with this ``kid`` and ``alg``.

        A token without ``kid`` may match any key of the set. An empty list means no key fits,
        even after the refetch the rate limit allowed.
        """
        if self._needs_fetch(kid):
            async with self._lock:
                # Another request may have refreshed the keys while this one waited.
                if self._needs_fetch(kid) and self._may_fetch():
                    await self._refresh()
        return [
            entry.keys[algorithm]
            for entry in self._entries
            if algorithm in entry.keys and (kid is None or entry.kid == kid)
        ]

    def _needs_fetch(self, kid: str | None) -> bool:
        if self._fetched_at is None or self._clock() >= self._fetched_at + self._ttl:
            return True
        return kid is not None and all(entry.kid != kid for entry in self._entries)

    def _may_fetch(self) -> bool:
        last = self._last_attempt_at
        return last is None or self._clock() >= last + MIN_FETCH_INTERVAL

    async def _refresh(self) -> None:
        self._last_attempt_at = self._clock()
        try:
            entries = await self._fetch()
        except JWKSFetchError as exc:
            logger.warning(
                "jwks fetch failed url=%s error=%s cached_keys=%d",
                self._url_for_logs,
                exc,
                len(self._entries),
            )
            return

        self._entries = entries
        self._fetched_at = self._clock()
        logger.info("jwks fetched url=%s keys=%d", self._url_for_logs, len(entries))

    async def _fetch(self) -> list[JWKSEntry]:
        try:
            response = await self._client.get(self._url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise JWKSFetchError(f"request failed with {type(exc).__name__}") from exc
        if response.status_code != httpx.codes.OK:
            raise JWKSFetchError(f"HTTP status {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise JWKSFetchError(f"response of {len(response.content)} bytes is too large")
        try:
            document = response.json()
        except ValueError:
            raise JWKSFetchError("response is not JSON") from None

        entries = parse_jwks(document, self._algorithms)
        if not entries:
            raise JWKSFetchError("no usable signing key for the configured algorithms")
        return entries
