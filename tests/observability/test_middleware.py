"""Tests of the request middleware: request ids, the access log line and request metrics."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse

from app.observability.logging import configure_logging, request_id_var
from app.observability.metrics import Metrics
from app.observability.middleware import RequestObservationMiddleware, RouteTable
from tests.observability.conftest import make_settings


def build_app(metrics: Metrics | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, Any]:
        logging.getLogger("tests.endpoint").info("reading item %s", item_id)
        return {"item_id": item_id, "request_id": request_id_var.get()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app.add_middleware(RequestObservationMiddleware, metrics=metrics or Metrics())
    return app


def client_for(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_request_id_generated_when_absent() -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/items/1")

    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert response.json()["request_id"] == request_id


async def test_valid_request_id_echoed() -> None:
    incoming = "frontend-42.retry_1"
    async with client_for(build_app()) as client:
        response = await client.get("/items/1", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert response.json()["request_id"] == incoming


async def test_request_id_of_128_characters_accepted() -> None:
    incoming = "a" * 128
    async with client_for(build_app()) as client:
        response = await client.get("/items/1", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize("incoming", ["a" * 129, "abc<script>", "two words", "semi;colon", ""])
async def test_invalid_request_id_replaced(incoming: str) -> None:
    async with client_for(build_app()) as client:
        response = await client.get("/items/1", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_id_reset_after_request() -> None:
    async with client_for(build_app()) as client:
        await client.get("/items/1", headers={"X-Request-ID": "done-1"})

    assert request_id_var.get() is None


async def test_access_log_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.observability.middleware")
    async with client_for(build_app()) as client:
        await client.get("/items/7", headers={"X-Request-ID": "req-7"})

    lines = [r for r in caplog.records if r.name == "app.observability.middleware"]
    assert len(lines) == 1
    line = lines[0]
    assert line.getMessage().startswith("request method=GET route=/items/{item_id} status=200 ")
    assert re.search(r"duration_ms=\d+\.\d", line.getMessage())
    assert line.request_id == "req-7"  # type: ignore[attr-defined]
    assert line.route == "/items/{item_id}"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]


async def test_request_id_in_endpoint_log_lines(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(), stream=stream)

    async with client_for(build_app()) as client:
        await client.get("/items/3", headers={"X-Request-ID": "trace-me"})

    endpoint_lines = [line for line in stream.getvalue().splitlines() if "reading item 3" in line]
    assert len(endpoint_lines) == 1
    assert "[trace-me]" in endpoint_lines[0]


async def test_metrics_use_route_template_not_path() -> None:
    metrics = Metrics()
    async with client_for(build_app(metrics)) as client:
        await client.get("/items/1")
        await client.get("/items/2")

    value = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/items/{item_id}", "status": "200"}
    assert value("lookout_http_requests_total", labels) == 2
    assert value("lookout_http_requests_total", {**labels, "route": "/items/1"}) is None
    duration = {"method": "GET", "route": "/items/{item_id}"}
    assert value("lookout_http_request_duration_seconds_count", duration) == 2


async def test_unknown_path_labelled_unmatched() -> None:
    metrics = Metrics()
    async with client_for(build_app(metrics)) as client:
        response = await client.get("/secret-token-in-path")

    assert response.status_code == 404
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1


async def test_wrong_method_labelled_with_route() -> None:
    metrics = Metrics()
    async with client_for(build_app(metrics)) as client:
        response = await client.post("/items/1")

    assert response.status_code == 405
    labels = {"method": "POST", "route": "/items/{item_id}", "status": "405"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1


async def test_custom_method_folded_into_other() -> None:
    metrics = Metrics()
    async with client_for(build_app(metrics)) as client:
        await client.request("PURGE", "/items/1")

    labels = {"method": "OTHER", "route": "/items/{item_id}", "status": "405"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1


async def test_unhandled_error_counted_as_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.observability.middleware")
    metrics = Metrics()
    async with client_for(build_app(metrics), raise_app_exceptions=False) as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    labels = {"method": "GET", "route": "/boom", "status": "500"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1
    assert "route=/boom status=500" in caplog.text


async def test_stream_chunks_forwarded_before_body_ends() -> None:
    first_chunk_sent = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        yield b"data: one\n\n"
        # Waits until the client side has seen the first chunk: a buffering middleware would
        # never forward it, and the test would time out.
        await first_chunk_sent.wait()
        yield b"data: two\n\n"

    async def stream_app(scope: Any, receive: Any, send: Any) -> None:
        response = StreamingResponse(events(), media_type="text/event-stream")
        await response(scope, receive, send)

    middleware = RequestObservationMiddleware(stream_app, metrics=Metrics())
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"data: one\n\n":
            first_chunk_sent.set()

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/stream",
        "headers": [],
        "query_string": b"",
    }
    await asyncio.wait_for(middleware(scope, receive, send), timeout=2)

    bodies = [m.get("body") for m in sent if m["type"] == "http.response.body"]
    assert bodies[:2] == [b"data: one\n\n", b"data: two\n\n"]
    start = sent[0]
    assert start["type"] == "http.response.start"
    assert any(name == b"x-request-id" for name, _ in start["headers"])


async def test_non_http_scope_passed_through() -> None:
    seen: list[str] = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    middleware = RequestObservationMiddleware(lifespan_app)

    async def noop() -> dict[str, Any]:
        return {}

    async def ignore(message: Any) -> None:
        return None

    await middleware({"type": "lifespan"}, noop, ignore)

    assert seen == ["lifespan"]


def build_nested_app(metrics: Metrics) -> FastAPI:
    inner = APIRouter(prefix="/admin")

    @inner.get("/monitors/{monitor_id}")
    async def read_monitor(monitor_id: int) -> dict[str, int]:
        return {"monitor_id": monitor_id}

    outer = APIRouter()
    outer.include_router(inner, prefix="/v1")
    app = FastAPI()
    app.include_router(outer, prefix="/api")
    app.add_middleware(RequestObservationMiddleware, metrics=metrics)
    return app


async def test_include_prefixes_kept_in_route_label() -> None:
    metrics = Metrics()
    async with client_for(build_nested_app(metrics)) as client:
        response = await client.get("/api/v1/admin/monitors/5")

    assert response.status_code == 200
    labels = {"method": "GET", "route": "/api/v1/admin/monitors/{monitor_id}", "status": "200"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1


def test_route_table_matches_included_routes() -> None:
    table = RouteTable(build_nested_app(Metrics()))

    assert table.match("/api/v1/admin/monitors/5") == "/api/v1/admin/monitors/{monitor_id}"
    assert table.match("/docs") == "/docs"
    assert table.match("/api/v1/admin/nothing") is None
