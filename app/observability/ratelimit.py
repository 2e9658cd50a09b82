"""Per-client rate limits on Lookout's public endpoints and on the admin refresh.

Each client (the peer address in the ASGI scope, which uvicorn's proxy-header support sets from
``X-Forwarded-For`` for trusted proxies) gets a token bucket per rule. Over the limit, the
middleware returns 429 with ``Retry-After`` and the JSON error shape, before routing.
Operations endpoints (``/healthz``, ``/readyz``, ``/metrics``), admin reads and webhooks are not
limited here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Literal

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_response
from app.config import Settings
from app.errors import RateLimited
from app.observability.middleware import path_without_root

RuleName = Literal["public", "refresh"]

WINDOW_S = 60.0
# Clients tracked per rule. Past this the longest-known client is forgotten, so a flood of
# distinct addresses costs at most this many small entries.
DEFAULT_MAX_CLIENTS = 10_000
UNKNOWN_CLIENT = "unknown"
# Absorbs floating-point error, so that a slot due exactly now counts as free.
_TOLERANCE_S = 1e-6

REFRESH_PATH = "/api/v1/admin/refresh"
PUBLIC_PATHS = frozenset({"/api/monitoring/public-status", "/status", "/feed.atom"})
PUBLIC_PREFIXES = ("/api/v1/status", "/api/v2/", "/badge/")
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def rule_for(method: str, path: str) -> RuleName | None:
    """Name the rate-limit rule that applies to a request, or ``None`` if it is not limited."""
    if path != "/":
        path = path.rstrip("/")
    if path in UNLIMITED_PATHS:
        return None
    if path == REFRESH_PATH:
        return "refresh" if method == "POST" else None
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return "public"
    return None


class TokenBucketLimiter:
    """Allows ``per_minute`` requests a minute per client, in bursts of up to ``per_minute``.

    The bucket of each client is kept as one number, the time at which it will be full again
    (the generic cell rate algorithm). ``clock`` returns monotonic seconds. Clients whose bucket
    is full again are forgotten once a window, and at most ``max_clients`` are kept.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = DEFAULT_MAX_CLIENTS,
    ) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._interval_s = WINDOW_S / per_minute
        self._clock = clock
        self._max_clients = max_clients
        # Client -> when its bucket is full again. A plain dict is several times faster than a
        # TTL cache on this per-request path; ``_prune`` and ``max_clients`` keep it small.
        self._full_at: dict[str, float] = {}
        self._next_prune_at = clock() + WINDOW_S

    def acquire(self, client: str) -> float | None:
        """Take one request slot for ``client``; return ``None`` if allowed, else the seconds
        until a slot frees."""
        now = self._clock()
        full_at = max(self._full_at.get(client, now), now)
        next_full_at = full_at + self._interval_s
        wait_s = next_full_at - now - WINDOW_S
        if wait_s > _TOLERANCE_S:
            return wait_s
        if now >= self._next_prune_at:
            self._prune(now)
        if client not in self._full_at and len(self._full_at) >= self._max_clients:
            # NOTE: under a flood of distinct addresses the longest-known client is forgotten,
            # and if it was throttled it starts again with a full allowance.
            del self._full_at[next(iter(self._full_at))]
        self._full_at[client] = next_full_at
        return None

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket is full again (``acquire`` calls this once a window)."""
        self._full_at = {client: at for client, at in self._full_at.items() if at > now}
        self._next_prune_at = now + WINDOW_S

    def __len__(self) -> int:
        return len(self._full_at)


def client_address(scope: Scope) -> str:
    """Return the client's address from the ASGI scope, or ``unknown`` when the server gave none.

    NOTE: every client without an address (a Unix socket without proxy headers) shares the
    ``unknown`` bucket.
    """
    client = scope.get("client")
    if client and client[0]:
        return str(client[0])
    return UNKNOWN_CLIENT


def build_limiters(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    max_clients: int = DEFAULT_MAX_CLIENTS,
) -> dict[RuleName, TokenBucketLimiter]:
    """Build one limiter per rule from ``RATE_LIMIT_PUBLIC_PER_MINUTE`` and
    ``RATE_LIMIT_REFRESH_PER_MINUTE``."""
    return {
        "public": TokenBucketLimiter(
            settings.rate_limit_public_per_minute, clock=clock, max_clients=max_clients
        ),
        "refresh": TokenBucketLimiter(
            settings.rate_limit_refresh_per_minute, clock=clock, max_clients=max_clients
        ),
    }


class RateLimitMiddleware:
    """Rejects with 429 a client over its limit on a public endpoint or on the admin refresh."""

    def __init__(self, app: ASGIApp, *, limiters: Mapping[RuleName, TokenBucketLimiter]) -> None:
        self.app = app
        self.limiters = limiters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = rule_for(scope["method"], path_without_root(scope))
        if rule is None:
            await self.app(scope, receive, send)
            return

        limiter = self.limiters[rule]
        wait_s = limiter.acquire(client_address(scope))
        if wait_s is None:
            await self.app(scope, receive, send)
            return

        response = rejection_response(rule, limiter, wait_s)
        await response(scope, receive, send)


def rejection_response(rule: RuleName, limiter: TokenBucketLimiter, wait_s: float) -> Response:
    """Build the 429 JSON error for a client ``wait_s`` seconds away from its next slot."""
    retry_after_s = max(math.ceil(round(wait_s, 3)), 1)
    detail = _describe_limit(rule, limiter.per_minute, retry_after_s)
    error = RateLimited(detail, retry_after_s=retry_after_s)
    return error_response(error.status_code, error.detail, error.code, error.headers)


def _describe_limit(rule: RuleName, per_minute: int, retry_after_s: int) -> str:
    if rule == "refresh":
        return (
            f"Refresh is limited to {per_minute} per minute per client; retry in {retry_after_s} s."
        )
    return (
        f"Too many requests: the public endpoints allow {per_minute} per minute per client; "
        f"retry in {retry_after_s} s."
    )
