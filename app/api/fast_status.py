"""A fast path for the busiest endpoint: ``GET /api/v1/status`` served from the cached view.

While the precomputed view is valid, the response is the same bytes for every caller, so the app
sends them before Starlette's own layers, routing, dependency injection or response models run.
It keeps what the full stack does for such a request: the per-client rate limit, the request
id, the request metrics and log line, the ETag and 304. Anything else (another path, a browser
request carrying ``Origin`` that needs CORS headers, an expired view) goes down the full stack.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.types import Scope, Send

from app.api.http import public_cache_control
from app.observability.logging import REDACTION_EXEMPT
from app.observability.middleware import new_request_id
from app.observability.ratelimit import client_address, rejection_response

if TYPE_CHECKING:
    from app.main import Runtime
    from app.observability import Observability

# The same logger as the full stack's request lines, so both kinds read and filter alike.
logger = logging.getLogger("app.observability.middleware")

STATUS_PATH = "/api/v1/status"
_ORIGIN = b"origin"
_IF_NONE_MATCH = b"if-none-match"
_REQUEST_ID = b"x-request-id"
_REQUEST_ID_CHARACTERS = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
)


class CachedStatusResponder:
    """Serves ``GET /api/v1/status`` from the cached view while it is valid."""

    def __init__(self, observability: Observability) -> None:
        self.observability = observability
        self._cache_control: bytes | None = None
        self._metric_children: dict[int, tuple[Any, Any]] = {}

    async def serve(self, runtime: Runtime | None, scope: Scope, send: Send) -> bool:
        """Send the cached status for this GET and return True, or return False to pass it on."""
        if runtime is None or scope["method"] != "GET":
            return False
        view = runtime.views.peek()
        if view is None:
            return False

        started = time.perf_counter()
        if_none_match = request_id = None
        for name, value in scope["headers"]:
            if name == _ORIGIN:
                return False
            if name == _IF_NONE_MATCH:
                if_none_match = value
            elif (
                name == _REQUEST_ID
                and 0 < len(value) <= 128
                and _REQUEST_ID_CHARACTERS.issuperset(value)
            ):
                request_id = value
        request_id = request_id or new_request_id().encode()

        limiter = self.observability.limiters["public"]
        wait_s = limiter.acquire(client_address(scope))
        if wait_s is not None:
            response = rejection_response("public", limiter, wait_s)
            response.headers["x-request-id"] = request_id.decode()
            await response(scope, _no_body, send)
            self._finish(response.status_code, started, request_id)
            return True

        if self._cache_control is None:
            self._cache_control = public_cache_control(runtime.settings).encode()
        etag = view.public_etag.encode()
        headers = [
            (b"etag", etag),
            (b"cache-control", self._cache_control),
            (b"x-request-id", request_id),
        ]
        if if_none_match is not None and _matches(if_none_match, etag):
            status, body = 304, b""
        else:
            status, body = 200, view.public_body
            headers.append((b"content-type", b"application/json"))
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self._finish(status, started, request_id)
        return True

    def _finish(self, status: int, started: float, request_id: bytes) -> None:
        duration_s = time.perf_counter() - started
        children = self._metric_children.get(status)
        if children is None:
            metrics = self.observability.metrics
            children = (
                metrics.requests.labels("GET", STATUS_PATH, str(status)),
                metrics.request_duration.labels("GET", STATUS_PATH),
            )
            self._metric_children[status] = children
        children[0].inc()
        children[1].observe(duration_s)
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "request method=GET route=%s status=%d duration_ms=%.1f",
                STATUS_PATH,
                status,
                duration_s * 1000,
                extra={
                    "request_id": request_id.decode(),
                    "method": "GET",
                    "route": STATUS_PATH,
                    "status": status,
                    "duration_ms": round(duration_s * 1000, 1),
                    REDACTION_EXEMPT: True,
                },
            )


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _matches(header: bytes, etag: bytes) -> bool:
    """Return whether ``If-None-Match`` names ``etag`` or ``*``; weak validators match too."""
    for candidate in header.split(b","):
        candidate = candidate.strip().removeprefix(b"W/")
        if candidate in (etag, b"*"):
            return True
    return False
