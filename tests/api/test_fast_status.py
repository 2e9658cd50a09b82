"""The cached public status path: same answer as the full stack, with its limits and logs."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.api import fast_status
from app.config import Settings
from app.observability import configure_logging
from tests.api.conftest import Harness


async def _warm(harness: Harness) -> Any:
    """Read the status twice: the cold read fetches, the second settles the cached view."""
    await harness.client.get("/api/v1/status")
    return await harness.client.get("/api/v1/status")


def _spy_on_fast_path(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    served: list[int] = []
    original = fast_status.CachedStatusResponder._finish

    def finish(self: Any, status: int, started: float, request_id: bytes) -> None:
        served.append(status)
        original(self, status, started, request_id)

    monkeypatch.setattr(fast_status.CachedStatusResponder, "_finish", finish)
    return served


async def test_warm_status_is_served_by_fast_path(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _warm(harness)
    served = _spy_on_fast_path(monkeypatch)

    second = await harness.client.get("/api/v1/status")

    assert served == [200]
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == first.headers["cache-control"]
    assert second.headers["content-type"] == "application/json"
    assert len(second.headers["x-request-id"]) == 32


async def test_fast_path_answers_304_to_matching_etag(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = (await _warm(harness)).headers["etag"]
    served = _spy_on_fast_path(monkeypatch)

    response = await harness.client.get("/api/v1/status", headers={"If-None-Match": f"W/{etag}"})

    assert served == [304]
    assert response.status_code == 304
    assert response.content == b""


async def test_fast_path_echoes_valid_request_id(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")

    response = await harness.client.get("/api/v1/status", headers={"X-Request-ID": "req.42"})

    assert response.headers["x-request-id"] == "req.42"


async def test_fast_path_replaces_invalid_request_id(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")

    response = await harness.client.get("/api/v1/status", headers={"X-Request-ID": "a b<c>"})

    assert response.headers["x-request-id"] != "a b<c>"
    assert len(response.headers["x-request-id"]) == 32


async def test_browser_request_takes_full_stack_for_cors(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _warm(harness)
    served = _spy_on_fast_path(monkeypatch)

    response = await harness.client.get(
        "/api/v1/status", headers={"Origin": "https://app.example.com"}
    )

    assert served == []
    assert response.headers["access-control-allow-origin"] == "*"


async def test_fast_path_counts_request_metrics(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")
    for _ in range(3):
        await harness.client.get("/api/v1/status")

    text = (await harness.client.get("/metrics")).text

    counts = [
        line
        for line in text.splitlines()
        if line.startswith("lookout_http_requests_total")
        and 'route="/api/v1/status"' in line
        and 'status="200"' in line
    ]
    assert counts
    assert counts[0].endswith(" 4.0")


async def test_fast_path_applies_public_rate_limit(make_harness: Callable[..., Any]) -> None:
    async with make_harness(rate_limit_public_per_minute=3) as harness:
        statuses = [(await harness.client.get("/api/v1/status")).status_code for _ in range(4)]
        limited = await harness.client.get("/api/v1/status")

    assert statuses == [200, 200, 200, 429]
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Lookout's log handler writing to a string, removed again after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]
    configure_logging(settings, stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_fast_path_request_lines_written_at_shutdown(
    make_harness: Callable[..., Any], log_stream: io.StringIO
) -> None:
    async with make_harness() as harness:
        await _warm(harness)
        await harness.client.get("/api/v1/status", headers={"X-Request-ID": "fast-1"})
        await harness.client.get("/api/v1/status", headers={"X-Request-ID": "fast-2"})
        written_while_serving = log_stream.getvalue()

    lines = [line for line in log_stream.getvalue().splitlines() if "[fast-" in line]
    assert "[fast-" not in written_while_serving
    assert len(lines) == 2
    line = r" INFO app.observability.middleware \[fast-{}\] request method=GET "
    line += r"route=/api/v1/status status=200 duration_ms=\d+\.\d$"
    assert re.search(line.format(1), lines[0])
    assert re.search(line.format(2), lines[1])


async def test_fast_path_uses_first_request_id(harness: Harness) -> None:
    await _warm(harness)
    headers = [("X-Request-ID", "first-1"), ("X-Request-ID", "second-2")]

    response = await harness.client.get("/api/v1/status", headers=headers)

    assert response.headers["x-request-id"] == "first-1"


async def test_fast_path_replaces_invalid_first_request_id(harness: Harness) -> None:
    await _warm(harness)
    headers = [("X-Request-ID", "bad value"), ("X-Request-ID", "good-1")]

    response = await harness.client.get("/api/v1/status", headers=headers)

    assert response.headers["x-request-id"] not in ("bad value", "good-1")
    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize("if_none_match", [None, "*"])
async def test_fast_path_varies_by_origin(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, if_none_match: str | None
) -> None:
    full_stack = await harness.client.get("/api/v1/status")
    await harness.client.get("/api/v1/status")
    served = _spy_on_fast_path(monkeypatch)
    headers = {"If-None-Match": if_none_match} if if_none_match else {}

    response = await harness.client.get("/api/v1/status", headers=headers)

    assert served == [response.status_code]
    assert full_stack.headers["vary"] == "Origin"
    assert response.headers["vary"] == "Origin"
