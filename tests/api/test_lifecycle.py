"""The app's lifespan: one shared upstream client, opened once and closed once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.main import build_http_client, create_app
from tests.api.conftest import Harness

SECRET = "a-very-long-random-hmac-secret-for-tests-only-0123456789"


async def test_shared_client_stays_open_across_refreshes(harness: Harness) -> None:
    for _ in range(3):
        await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    assert harness.app.state.runtime.http_client.is_closed is False


async def test_shared_client_is_closed_on_shutdown(make_harness: Callable[..., Any]) -> None:
    async with make_harness() as harness:
        client = harness.app.state.runtime.http_client
        await harness.client.get("/api/v1/status")

    assert client.is_closed is True


async def test_one_upstream_client_for_many_requests(
    make_harness: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[httpx.AsyncClient] = []
    original_init = httpx.AsyncClient.__init__

    def counting_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        created.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting_init)
    async with make_harness() as harness:
        created.clear()
        for _ in range(50):
            harness.app.state.runtime.views._view = None
            await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    assert created == []


def test_client_has_explicit_timeouts_and_limits() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        http_connect_timeout_seconds=2,
        http_read_timeout_seconds=7,
        http_pool_timeout_seconds=3,
    )

    client = build_http_client(settings)

    assert client.timeout == httpx.Timeout(connect=2, read=7, write=7, pool=3)


@respx.mock(assert_all_mocked=True, assert_all_called=False)
async def test_slow_uptimerobot_serves_last_snapshot_marked_stale(
    respx_mock: respx.MockRouter,
) -> None:
    from app.demo.app import create_simulator

    simulator = httpx.ASGITransport(app=create_simulator())
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        uptimerobot_api_key="ur-test-key",
        uptimerobot_base_url="https://api.uptimerobot.com/v2",
        sentry_auth_token="sentry-test-token",
        sentry_org="demo",
        sentry_base_url="https://sentry.test",
        jwt_secret=SECRET,
        poller_enabled=False,
        cache_ttl_monitors=1,
    )

    async def forward(request: httpx.Request) -> httpx.Response:
        return await simulator.handle_async_request(request)

    monitors = respx_mock.post("https://api.uptimerobot.com/v2/getMonitors")
    monitors.mock(side_effect=forward)
    respx_mock.route(host="sentry.test").mock(side_effect=forward)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        first = (await client.get("/api/v1/status")).json()
        monitors.mock(side_effect=httpx.ReadTimeout("slow"))
        app.state.runtime.store.mark_stale("uptimerobot:monitors")
        app.state.runtime.views._view = None
        started = time.perf_counter()
        await client.get("/api/v1/status")
        await app.state.runtime.store.wait_idle()
        app.state.runtime.views._view = None
        second = (await client.get("/api/v1/status")).json()
        elapsed = time.perf_counter() - started
        await client.aclose()

    assert first["stale"] is False
    assert second["stale"] is True
    assert second["components"] == first["components"]
    assert elapsed < 2


async def test_startup_resolves_sentry_projects_before_first_read(
    make_harness: Callable[..., Any],
) -> None:
    async with make_harness() as harness:
        before = harness.calls["sentry:projects"]
        await harness.client.get("/api/v1/status")
        after = harness.calls["sentry:projects"]

    assert before == 1
    assert after == 1


async def test_startup_goes_on_when_sentry_is_down(make_harness: Callable[..., Any]) -> None:
    from app.demo.state import FaultPlan

    running = make_harness()
    running._harness.faults["sentry"] = FaultPlan(error_status=503)
    async with running as harness:
        response = await harness.client.get("/healthz")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/status", "/api/v1/status", "/badge/status.svg"])
async def test_head_answers_like_get_without_body(harness: Harness, path: str) -> None:
    await harness.client.get("/api/v1/status")

    get = await harness.client.get(path)
    head = await harness.client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


async def test_startup_builds_route_state_before_first_request(
    make_harness: Callable[..., Any],
) -> None:
    from fastapi import routing

    built: list[str] = []
    original = routing._populate_api_route_state

    def spy(*args: Any, **kwargs: Any) -> Any:
        built.append("route")
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(routing, "_populate_api_route_state", spy)
        async with make_harness() as harness:
            after_startup = len(built)
            await harness.client.get("/api/v1/admin/dashboard", headers=harness.admin_headers)

    assert after_startup > 0
    assert len(built) == after_startup
