"""The request middleware: a request id, one log line and the metrics of every HTTP request.

It is a pure ASGI middleware rather than ``BaseHTTPMiddleware``, so it never buffers a body and
Server-Sent Events stream through it untouched.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from typing import Any

import sentry_sdk
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import REQUEST_LINE, request_id_var, request_line_extra
from app.observability.metrics import UNMATCHED_ROUTE, Metrics

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_HEADER_RAW = REQUEST_ID_HEADER.lower().encode("latin-1")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


_ID_PREFIX = uuid.uuid4().hex[:16]
_id_counter = itertools.count(1)


def new_request_id() -> str:
    """Generate a request id: 32 hex characters, unique per process and across processes.

    A random per-process prefix and a counter cost far less than a UUID4 per request, and ids
    only need to be unique, not unguessable.
    """
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


def incoming_request_id(scope: Scope) -> str | None:
    """Return the request's ``X-Request-ID`` if it is 1-128 characters of ``[A-Za-z0-9._-]``.

    Anything else is ignored, so a client cannot inject line breaks or markup into logs.
    """
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_HEADER_RAW:
            text = value.decode("latin-1")
            return text if _VALID_REQUEST_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str | None:
    """Return the template of the route the router matched for ``scope``, if it ran."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return None
    # NOTE: FastAPI 0.165 records the route as declared and keeps the prefix given to
    # include_router() in its own scope entry. Other versions record the full path.
    included = scope.get("fastapi", {}).get("included_router")
    return _include_prefix(included) + template


def _include_prefix(included_router: Any) -> str:
    prefix = getattr(getattr(included_router, "include_context", None), "prefix", "")
    return prefix if isinstance(prefix, str) else ""


def path_without_root(scope: Scope) -> str:
    """Return the request path relative to the app's root path, as routes see it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path


class RouteTable:
    """The path templates of an app, to label requests that a middleware rejected before
    routing (a 429)."""

    def __init__(self, app: Any) -> None:
        routes = getattr(getattr(app, "router", None), "routes", [])
        templates = dict.fromkeys(_collect_templates(routes, ""))
        self._patterns = [(compile_path(template)[0], template) for template in templates]

    def match(self, path: str) -> str | None:
        """Return the first template that matches ``path``, or ``None``."""
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return None


def _collect_templates(routes: list[Any], prefix: str) -> list[str]:
    templates: list[str] = []
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            templates.append(prefix + path)
            continue
        # FastAPI 0.165 wraps each included router in an object without a path of its own.
        router = getattr(route, "original_router", None)
        if router is not None:
            nested_prefix = prefix + _include_prefix(route)
            templates.extend(_collect_templates(getattr(router, "routes", []), nested_prefix))
    return templates


class RequestObservationMiddleware:
    """Gives each HTTP request an id, then logs one line and records its metrics when done.

    The id comes from a valid incoming ``X-Request-ID`` or is generated. It is echoed in the
    response header, stored in ``request_id_var`` for other log lines and tagged on Sentry
    events. The duration covers the whole response, so for a stream it is the stream's life.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self._route_table: RouteTable | None = None

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

    def _match_unrouted(self, scope: Scope) -> str:
        # Only requests that never reached the router get here: 404s and early rejections.
        if self._route_table is None:
            self._route_table = RouteTable(scope.get("app"))
        return self._route_table.match(path_without_root(scope)) or UNMATCHED_ROUTE

    def _finish(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        duration_s = time.perf_counter() - started
        method = scope["method"]
        route = route_template(scope) or self._match_unrouted(scope)
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, duration_s)
        logger.info(
            REQUEST_LINE,
            method,
            route,
            status,
            duration_s * 1000,
            extra=request_line_extra(request_id, method, route, status, duration_s),
        )
