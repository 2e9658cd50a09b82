"""Tests of ``install_observability``: the one call that wires metrics, logs and rate limits."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from fastapi import FastAPI

from app.models.snapshot import Freshness
from app.models.upstream import RateLimitHeadroom
from app.observability import install_observability, snapshot_key_kind
from app.sources.base import CallRecorder, SourceHealth
from app.sources.errors import SourceTimeout
from tests.observability.conftest import FakeClock, make_settings


def build_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/status")
    async def status() -> dict[str, str]:
        return {"indicator": "none"}

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


class FakeStore:
    def __init__(self, ages: dict[str, float | None]) -> None:
        self.ages = ages

    def keys(self) -> list[str]:
        return list(self.ages)

    def freshness(self, key: str) -> Freshness:
        age_s = self.ages[key]
        return Freshness(key=key, available=age_s is not None, stale=False, age_s=age_s)


async def test_metrics_endpoint_counts_requests(clock: FakeClock) -> None:
    app = build_app()
    install_observability(app, make_settings(), clock=clock)

    async with client_for(app) as client:
        await client.get("/api/v1/status")
        response = await client.get("/metrics")

    assert response.status_code == 200
    expected = 'lookout_http_requests_total{method="GET",route="/api/v1/status",status="200"} 1.0'
    assert expected in response.text


async def test_upstream_observer_fed_by_call_recorder(clock: FakeClock) -> None:
    app = build_app()
    observability = install_observability(app, make_settings(), clock=clock)
    recorder = CallRecorder()
    recorder.add_observer(observability.upstream_observer)

    recorder.record("uptimerobot", "uptimerobot:monitors", status=200, duration_s=0.4)
    error = SourceTimeout("sentry", "sentry:issues:web timed out")
    recorder.record("sentry", "sentry:issues:web", status=None, duration_s=10.0, error=error)

    value = observability.metrics.registry.get_sample_value
    ok = {"source": "uptimerobot", "outcome": "ok"}
    timeout = {"source": "sentry", "outcome": "timeout"}
    assert value("lookout_upstream_calls_total", ok) == 1
    assert value("lookout_upstream_calls_total", timeout) == 1


async def test_cache_reads_recorded_through_hook(clock: FakeClock) -> None:
    app = build_app()
    observability = install_observability(app, make_settings(), clock=clock)

    observability.record_cache_read(snapshot_key_kind("sentry:issues:web"), "stale")

    labels = {"kind": "sentry:issues", "outcome": "stale"}
    value = observability.metrics.registry.get_sample_value("lookout_cache_reads_total", labels)
    assert value == 1


async def test_runtime_read_at_scrape_time(clock: FakeClock) -> None:
    app = build_app()
    observability = install_observability(app, make_settings(), clock=clock)
    value = observability.metrics.registry.get_sample_value

    assert value("lookout_snapshot_age_seconds", {"key": "uptimerobot:monitors"}) is None
    health = SourceHealth(source="uptimerobot", headroom=RateLimitHeadroom(limit=10, remaining=4))
    app.state.runtime = SimpleNamespace(
        recorder=SimpleNamespace(all_health=lambda: [health]),
        store=FakeStore({"uptimerobot:monitors": 42.0, "sentry:issues:web": None}),
    )

    assert value("lookout_snapshot_age_seconds", {"key": "uptimerobot:monitors"}) == 42.0
    assert value("lookout_snapshot_age_seconds", {"key": "sentry:issues:web"}) is None
    assert value("lookout_upstream_ratelimit_remaining", {"source": "uptimerobot"}) == 4


async def test_explicit_readers_override_runtime(clock: FakeClock) -> None:
    app = build_app()
    observability = install_observability(
        app,
        make_settings(),
        clock=clock,
        health=lambda: [SourceHealth(source="sentry", headroom=RateLimitHeadroom(remaining=9))],
        snapshot_ages=lambda: {"sentry:stats:web": 3.0},
    )

    value = observability.metrics.registry.get_sample_value
    assert value("lookout_upstream_ratelimit_remaining", {"source": "sentry"}) == 9
    assert value("lookout_snapshot_age_seconds", {"key": "sentry:stats:web"}) == 3.0


async def test_public_limit_from_settings(clock: FakeClock) -> None:
    app = build_app()
    install_observability(app, make_settings(rate_limit_public_per_minute=1), clock=clock)

    async with client_for(app) as client:
        allowed = await client.get("/api/v1/status")
        rejected = await client.get("/api/v1/status")
        scrape = await client.get("/metrics")

    assert allowed.status_code == 200
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "60"
    assert "x-request-id" in rejected.headers
    assert scrape.status_code == 200
    expected = 'lookout_http_requests_total{method="GET",route="/api/v1/status",status="429"} 1.0'
    assert expected in scrape.text


async def test_observability_kept_on_app_state(clock: FakeClock) -> None:
    app = build_app()

    observability = install_observability(app, make_settings(), clock=clock)

    assert app.state.observability is observability
