"""A fast path for the busiest endpoint: ``GET /api/v1/status`` served from the cached view.

While the precomputed view is valid, the response is the same bytes for every caller, so the app
sends them before Starlette's own layers, routing, dependency injection or response models run.
It keeps what the full stack does for such a request: the per-client rate limit, the request
id, the request metrics and log line, the ETag and 304. Every step is kept cheap, because the
whole request costs the server about 20 µs: the headers are built once per view, the metrics
are plain counters, and the log lines are written in batches (``RequestLineBatch``).
Anything else (another path, a browser request carrying ``Origin`` that needs CORS headers, an
expired view) goes down the full stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Scope, Send

from app.api.http import cors_enabled, public_cache_control
from app.observability.metrics import RequestSeries
from app.observability.middleware import new_request_id
from app.observability.ratelimit import client_address, rejection_response
from app.observability.request_log import RequestLineBatch

if TYPE_CHECKING:
    from app.main import Runtime
    from app.observability import Observability
    from app.views import StatusView

# The same logger as the full stack's request lines, so both kinds read and filter alike.
logger = logging.getLogger("app.observability.middleware")

STATUS_PATH = "/api/v1/status"
_ORIGIN = b"origin"
_IF_NONE_MATCH = b"if-none-match"
_REQUEST_ID = b"x-request-id"
_REQUEST_ID_CHARACTERS = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
)


@dataclass(frozen=True, slots=True)
class _PreparedView:
    """The response headers of one cached view, but the request id, built once."""

    view: StatusView
    etag: bytes
    not_modified_headers: list[tuple[bytes, bytes]]
    ok_headers: list[tuple[bytes, bytes]]

    @classmethod
    def of(cls, view: StatusView, cache_control: bytes, *, vary_origin: bool) -> _PreparedView:
        etag = view.public_etag.encode()
        not_modified = [(b"etag", etag), (b"cache-control", cache_control)]
        if vary_origin:
            # The CORS layer sends this on every response of the full stack, Origin or not, so
            # a shared cache keeps browser and non-browser copies apart on both paths alike.
            not_modified.append((b"vary", b"Origin"))
        ok = [
            *not_modified,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(view.public_body)).encode()),
        ]
        return cls(view, etag, not_modified, ok)


class CachedStatusResponder:
    """Serves ``GET /api/v1/status`` from the cached view while it is valid.

    It serves nothing until ``start`` hands it the runtime, and again after ``stop``.
    """

    def __init__(self, observability: Observability) -> None:
        self.observability = observability
        self.request_lines = RequestLineBatch(logger, method="GET", route=STATUS_PATH)
        self._runtime: Runtime | None = None
        self._prepared: _PreparedView | None = None
        self._series: dict[int, RequestSeries] = {}
        self._flusher: asyncio.Task[None] | None = None

    def start(self, runtime: Runtime) -> None:
        """Serve from ``runtime``'s views, and write request lines once a second."""
        self._runtime = runtime
        self._flusher = asyncio.create_task(
            self.request_lines.flush_periodically(), name="request-line-flush"
        )

    async def stop(self) -> None:
        """Stop serving and write the request lines still pending."""
        self._runtime = None
        self._prepared = None
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        self.request_lines.flush()

    async def serve(self, scope: Scope, send: Send) -> bool:
        """Send the cached status for this GET and return True, or return False to pass it on."""
        runtime = self._runtime
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
            elif name == _REQUEST_ID and request_id is None:
                # Only the first one counts, valid or not, as in the full stack's middleware.
                request_id = value
        if request_id is None or not (
            0 < len(request_id) <= 128 and _REQUEST_ID_CHARACTERS.issuperset(request_id)
        ):
            request_id = new_request_id().encode()

        limiter = self.observability.limiters["public"]
        wait_s = limiter.acquire(client_address(scope))
        if wait_s is not None:
            response = rejection_response("public", limiter, wait_s)
            response.headers["x-request-id"] = request_id.decode()
            await response(scope, _no_body, send)
            self._finish(response.status_code, started, request_id)
            return True

        prepared = self._prepared
        if prepared is None or prepared.view is not view:
            settings = runtime.settings
            prepared = self._prepared = _PreparedView.of(
                view,
                public_cache_control(settings).encode(),
                vary_origin=cors_enabled(settings),
            )
        if if_none_match is not None and _matches(if_none_match, prepared.etag):
            status, body, headers = 304, b"", prepared.not_modified_headers
        else:
            status, body, headers = 200, view.public_body, prepared.ok_headers
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"x-request-id", request_id)],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self._finish(status, started, request_id)
        return True

    def _finish(self, status: int, started: float, request_id: bytes) -> None:
        duration_s = time.perf_counter() - started
        series = self._series.get(status)
        if series is None:
            series = self.observability.metrics.requests.series("GET", STATUS_PATH, status)
            self._series[status] = series
        series.observe(duration_s)
        self.request_lines.add(request_id, status, duration_s)


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _matches(header: bytes, etag: bytes) -> bool:
    """Return whether ``If-None-Match`` names ``etag`` or ``*``; weak validators match too."""
    for candidate in header.split(b","):
        candidate = candidate.strip().removeprefix(b"W/")
        if candidate in (etag, b"*"):
            return True
    return False
