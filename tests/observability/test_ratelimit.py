"""Tests of the per-client rate limits on public endpoints and on the admin refresh."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from app.observability.metrics import Metrics
from app.observability.middleware import RequestObservationMiddleware
from app.observability.ratelimit import (
    RateLimitMiddleware,
    TokenBucketLimiter,
    build_limiters,
    rule_for,
)
from tests.observability.conftest import FakeClock, make_settings


def test_limiter_allows_burst_up_to_limit(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(3, clock=clock)

    results = [limiter.acquire("10.0.0.1") for _ in range(3)]

    assert results == [None, None, None]


def test_limiter_rejects_over_limit_with_wait(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(3, clock=clock)
    for _ in range(3):
        limiter.acquire("10.0.0.1")

    wait_s = limiter.acquire("10.0.0.1")

    assert wait_s == pytest.approx(20.0)


def test_limiter_frees_slot_after_wait(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(3, clock=clock)
    for _ in range(3):
        limiter.acquire("10.0.0.1")

    clock.advance(19.0)
    assert limiter.acquire("10.0.0.1") == pytest.approx(1.0)
    clock.advance(1.0)
    assert limiter.acquire("10.0.0.1") is None


def test_limiter_keeps_clients_apart(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(1, clock=clock)

    assert limiter.acquire("10.0.0.1") is None
    assert limiter.acquire("10.0.0.2") is None
    assert limiter.acquire("10.0.0.1") is not None


def test_limiter_memory_bounded_by_max_clients(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(5, clock=clock, max_clients=100)

    for number in range(10_000):
        limiter.acquire(f"10.{number // 65536}.{number // 256 % 256}.{number % 256}")

    assert len(limiter) == 100


def test_limiter_forgets_clients_after_window(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(5, clock=clock)
    limiter.acquire("10.0.0.1")

    clock.advance(60.0)
    limiter.acquire("10.0.0.2")

    assert len(limiter) == 1


def test_limiter_rejects_zero_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucketLimiter(0)


@pytest.mark.parametrize(
    ("method", "path", "rule"),
    [
        ("GET", "/api/v1/status", "public"),
        ("GET", "/api/v1/status/stream", "public"),
        ("GET", "/api/v2/status.json", "public"),
        ("GET", "/api/v2/summary.json", "public"),
        ("GET", "/api/monitoring/public-status", "public"),
        ("GET", "/status", "public"),
        ("GET", "/status/", "public"),
        ("GET", "/badge/status.svg", "public"),
        ("GET", "/badge/api.json", "public"),
        ("GET", "/feed.atom", "public"),
        ("POST", "/api/v1/admin/refresh", "refresh"),
        ("GET", "/api/v1/admin/refresh", None),
        ("GET", "/api/v1/admin/dashboard", None),
        ("GET", "/api/monitoring/system-status", None),
        ("POST", "/api/v1/webhooks/sentry", None),
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/docs", None),
    ],
)
def test_rule_for_path(method: str, path: str, rule: str | None) -> None:
    assert rule_for(method, path) == rule


def build_app(clock: FakeClock, *, public_limit: int = 600, refresh_limit: int = 2) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/status")
    async def status() -> dict[str, str]:
        return {"indicator": "none"}

    @app.get("/badge/{component}.json")
    async def badge(component: str) -> dict[str, str]:
        return {"label": component}

    @app.post("/api/v1/admin/refresh")
    async def refresh() -> dict[str, bool]:
        return {"refreshed": True}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = make_settings(
        rate_limit_public_per_minute=public_limit, rate_limit_refresh_per_minute=refresh_limit
    )
    app.add_middleware(RateLimitMiddleware, limiters=build_limiters(settings, clock=clock))
    return app


def client_for(app: FastAPI, address: str = "203.0.113.5") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_public_over_limit_gets_429(clock: FakeClock) -> None:
    app = build_app(clock, public_limit=2)
    async with client_for(app) as client:
        first = await client.get("/api/v1/status")
        second = await client.get("/badge/api.json")
        third = await client.get("/api/v1/status")

    assert first.status_code == 200
    assert second.status_code == 200
    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert "2 per minute" in third.json()["detail"]
    assert set(third.json()) == {"detail", "code"}
    assert third.headers["retry-after"] == "30"
    assert third.headers["cache-control"] == "no-store"


async def test_refresh_limit_retry_after_counts_down(clock: FakeClock) -> None:
    app = build_app(clock, refresh_limit=2)
    async with client_for(app) as client:
        await client.post("/api/v1/admin/refresh")
        await client.post("/api/v1/admin/refresh")
        clock.advance(10.0)
        rejected = await client.post("/api/v1/admin/refresh")
        clock.advance(20.0)
        allowed = await client.post("/api/v1/admin/refresh")

    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "20"
    assert "Refresh is limited to 2 per minute" in rejected.json()["detail"]
    assert allowed.status_code == 200


async def test_refresh_and_public_limits_separate(clock: FakeClock) -> None:
    app = build_app(clock, public_limit=600, refresh_limit=1)
    async with client_for(app) as client:
        await client.post("/api/v1/admin/refresh")
        refresh = await client.post("/api/v1/admin/refresh")
        public = await client.get("/api/v1/status")

    assert refresh.status_code == 429
    assert public.status_code == 200


async def test_ops_endpoint_never_limited(clock: FakeClock) -> None:
    app = build_app(clock, public_limit=1)
    async with client_for(app) as client:
        responses = [await client.get("/healthz") for _ in range(5)]

    assert [response.status_code for response in responses] == [200] * 5


async def test_clients_limited_separately(clock: FakeClock) -> None:
    app = build_app(clock, public_limit=1)
    async with client_for(app, "198.51.100.1") as first, client_for(app, "198.51.100.2") as second:
        assert (await first.get("/api/v1/status")).status_code == 200
        assert (await second.get("/api/v1/status")).status_code == 200
        assert (await first.get("/api/v1/status")).status_code == 429


async def test_rejected_request_logged_with_route(clock: FakeClock) -> None:
    settings = make_settings(rate_limit_public_per_minute=1)
    router = APIRouter(prefix="/badge")

    @router.get("/{component}.json")
    async def badge(component: str) -> dict[str, str]:
        return {"label": component}

    app = FastAPI()
    app.include_router(router)
    metrics = Metrics()
    app.add_middleware(RateLimitMiddleware, limiters=build_limiters(settings, clock=clock))
    app.add_middleware(RequestObservationMiddleware, metrics=metrics)
    async with client_for(app) as client:
        await client.get("/badge/api.json")
        rejected = await client.get("/badge/web.json")

    assert rejected.status_code == 429
    assert "x-request-id" in rejected.headers
    labels = {"method": "GET", "route": "/badge/{component}.json", "status": "429"}
    assert metrics.registry.get_sample_value("lookout_http_requests_total", labels) == 1
