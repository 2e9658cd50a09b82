"""The request middleware: a request id, one log line and the metrics of every HTTP request.

It is a pure ASGI middleware rather than ``BaseHTTPMiddleware``, so it never buffers a body and
Server-Sent Events stream through it untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import sentry_sdk
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import request_id_var
from app.observability.metrics import UNMATCHED_ROUTE, Metrics

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_HEADER_RAW = REQUEST_ID_HEADER.lower().encode("latin-1")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_request_id() -> str:
    """Generate a request id: a random UUID4 as 32 hex characters."""
    return uuid.uuid4().hex


def incoming_request_id(scope: Scope) -> str | None:
    """Return the request's ``X-Request-ID`` if it is 1-128 characters of ``[A-Za-z0-9._-]``.

    Anything else is ignored, so a client cannot inject line breaks or markup into logs.
    """
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER_RAW:
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """Return the template of the route that serves ``scope`` (``/badge/{component}.json``).

    The router records the matched route in the scope. A request that a middleware rejected
    before routing (a 429) is matched here against the app's routes. ``unmatched`` is returned
    when no route matches, so that raw paths never become log fields or metric labels.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    routes: list[Any] = getattr(getattr(app, "router", None), "routes", [])
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match in (Match.FULL, Match.PARTIAL):
            candidate_path = getattr(candidate, "path", None)
            if isinstance(candidate_path, str):
                return candidate_path
    return UNMATCHED_ROUTE


class RequestObservationMiddleware:
    """Gives each HTTP request an id, then logs one line and records its metrics when done.

    The id comes from a valid incoming ``X-Request-ID`` or is generated. It is echoed in the
    response header, stored in ``request_id_var`` for other log lines and tagged on Sentry
    events. The duration covers the whole response, so for a stream it is the stream's life.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = incoming_request_id(scope) or new_request_id()
        token = request_id_var.set(request_id)
        if sentry_sdk.get_client().is_active():
            sentry_sdk.set_tag("request_id", request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_REQUEST_ID_HEADER_RAW, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except BaseException:
            # The status stays 500 unless the response had started (a client that left a
            # stream). The error handler outside this middleware logs the exception and sends
            # the 500, so the request id stays set for its log line: each request is a task.
            self._finish(scope, status, started, request_id)
            raise
        self._finish(scope, status, started, request_id)
        request_id_var.reset(token)

    def _finish(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        duration_s = time.perf_counter() - started
        method = scope["method"]
        route = route_template(scope)
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, duration_s)
        logger.info(
            "request method=%s route=%s status=%d duration_ms=%.1f",
            method,
            route,
            status,
            duration_s * 1000,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(duration_s * 1000, 1),
            },
        )
