"""Tests of Lookout's Prometheus metrics and the /metrics endpoint."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from app.models.upstream import RateLimitHeadroom
from app.observability.metrics import Metrics, metrics_router, snapshot_key_kind
from app.sources.base import SourceHealth


def test_upstream_observer_counts_by_source_and_outcome() -> None:
    metrics = Metrics()

    metrics.observe_upstream_call("uptimerobot", "uptimerobot:monitors", "ok", 0.2)
    metrics.observe_upstream_call("uptimerobot", "uptimerobot:monitors", "ok", 0.3)
    metrics.observe_upstream_call("sentry", "sentry:issues:web", "timeout", 10.0)

    value = metrics.registry.get_sample_value
    assert value("lookout_upstream_calls_total", {"source": "uptimerobot", "outcome": "ok"}) == 2
    assert value("lookout_upstream_calls_total", {"source": "sentry", "outcome": "timeout"}) == 1


def test_upstream_observer_records_duration() -> None:
    metrics = Metrics()

    metrics.observe_upstream_call("sentry", "sentry:stats:web", "ok", 0.3)

    value = metrics.registry.get_sample_value
    assert value("lookout_upstream_call_duration_seconds_count", {"source": "sentry"}) == 1
    assert value("lookout_upstream_call_duration_seconds_sum", {"source": "sentry"}) == 0.3
    bucket = {"source": "sentry", "le": "0.25"}
    assert value("lookout_upstream_call_duration_seconds_bucket", bucket) == 0


def test_cache_reads_counted_by_kind_and_outcome() -> None:
    metrics = Metrics()

    metrics.record_cache_read("sentry:issues", "hit")
    metrics.record_cache_read("sentry:issues", "hit")
    metrics.record_cache_read("sentry:issues", "stale")
    metrics.record_cache_read("uptimerobot:monitors", "miss")
    metrics.record_cache_read("uptimerobot:monitors", "unavailable")

    value = metrics.registry.get_sample_value
    name = "lookout_cache_reads_total"
    assert value(name, {"kind": "sentry:issues", "outcome": "hit"}) == 2
    assert value(name, {"kind": "sentry:issues", "outcome": "stale"}) == 1
    assert value(name, {"kind": "uptimerobot:monitors", "outcome": "miss"}) == 1
    assert value(name, {"kind": "uptimerobot:monitors", "outcome": "unavailable"}) == 1


def test_cache_read_rejects_unknown_outcome() -> None:
    metrics = Metrics()

    with pytest.raises(ValueError, match="'expired' is invalid"):
        metrics.record_cache_read("sentry:issues", "expired")  # type: ignore[arg-type]


def test_snapshot_key_kind_drops_project() -> None:
    assert snapshot_key_kind("sentry:issues:backend") == "sentry:issues"
    assert snapshot_key_kind("uptimerobot:monitors") == "uptimerobot:monitors"
    assert snapshot_key_kind("plain") == "plain"


def test_headroom_gauges_read_at_scrape_time() -> None:
    health = [SourceHealth(source="uptimerobot")]
    metrics = Metrics(health=lambda: health)

    assert (
        metrics.registry.get_sample_value(
            "lookout_upstream_ratelimit_remaining", {"source": "uptimerobot"}
        )
        is None
    )
    health[0].headroom = RateLimitHeadroom(limit=10, remaining=7)

    value = metrics.registry.get_sample_value
    assert value("lookout_upstream_ratelimit_remaining", {"source": "uptimerobot"}) == 7
    assert value("lookout_upstream_ratelimit_limit", {"source": "uptimerobot"}) == 10


def test_headroom_without_limit_header_is_omitted() -> None:
    health = [SourceHealth(source="sentry", headroom=RateLimitHeadroom(remaining=3))]
    metrics = Metrics(health=lambda: health)

    value = metrics.registry.get_sample_value
    assert value("lookout_upstream_ratelimit_remaining", {"source": "sentry"}) == 3
    assert value("lookout_upstream_ratelimit_limit", {"source": "sentry"}) is None


def test_snapshot_ages_exported_per_key() -> None:
    ages = {"uptimerobot:monitors": 12.5, "sentry:issues:web": 70.0}
    metrics = Metrics(snapshot_ages=lambda: ages)

    value = metrics.registry.get_sample_value
    assert value("lookout_snapshot_age_seconds", {"key": "uptimerobot:monitors"}) == 12.5
    assert value("lookout_snapshot_age_seconds", {"key": "sentry:issues:web"}) == 70.0


def test_failing_reader_keeps_other_metrics(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[SourceHealth]:
        raise RuntimeError("runtime gone")

    metrics = Metrics(health=broken, snapshot_ages=lambda: {"uptimerobot:monitors": 1.0})
    metrics.observe_upstream_call("sentry", "sentry:issues:web", "ok", 0.1)

    with caplog.at_level(logging.WARNING, logger="app.observability.metrics"):
        text = metrics.render().decode()

    assert 'lookout_upstream_calls_total{outcome="ok",source="sentry"} 1.0' in text
    assert 'lookout_snapshot_age_seconds{key="uptimerobot:monitors"} 1.0' in text
    assert "metrics health reader failed error=RuntimeError" in caplog.text


def test_registries_of_two_apps_are_independent() -> None:
    first = Metrics()
    second = Metrics()

    first.observe_upstream_call("sentry", "sentry:issues:web", "ok", 0.1)

    labels = {"source": "sentry", "outcome": "ok"}
    assert first.registry.get_sample_value("lookout_upstream_calls_total", labels) == 1
    assert second.registry.get_sample_value("lookout_upstream_calls_total", labels) is None


async def test_metrics_endpoint_serves_prometheus_text() -> None:
    metrics = Metrics()
    metrics.record_cache_read("sentry:issues", "hit")
    app = FastAPI()
    app.include_router(metrics_router(metrics))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    assert "# TYPE lookout_cache_reads_total counter" in response.text
    assert 'lookout_cache_reads_total{kind="sentry:issues",outcome="hit"} 1.0' in response.text


def test_request_counts_kept_per_status() -> None:
    metrics = Metrics()

    metrics.observe_request("GET", "/api/v1/status", 200, 0.001)
    metrics.observe_request("GET", "/api/v1/status", 200, 0.002)
    metrics.observe_request("GET", "/api/v1/status", 304, 0.001)

    value = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/api/v1/status"}
    assert value("lookout_http_requests_total", {**labels, "status": "200"}) == 2
    assert value("lookout_http_requests_total", {**labels, "status": "304"}) == 1


def test_request_duration_histogram_merges_statuses() -> None:
    metrics = Metrics()

    metrics.observe_request("GET", "/api/v1/status", 200, 0.004)
    metrics.observe_request("GET", "/api/v1/status", 429, 0.02)
    metrics.observe_request("GET", "/api/v1/status", 200, 45.0)

    value = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/api/v1/status"}
    name = "lookout_http_request_duration_seconds"
    assert value(f"{name}_count", labels) == 3
    assert value(f"{name}_sum", labels) == pytest.approx(45.024)
    assert value(f"{name}_bucket", {**labels, "le": "0.005"}) == 1
    assert value(f"{name}_bucket", {**labels, "le": "0.01"}) == 1
    assert value(f"{name}_bucket", {**labels, "le": "0.025"}) == 2
    assert value(f"{name}_bucket", {**labels, "le": "30.0"}) == 2
    assert value(f"{name}_bucket", {**labels, "le": "+Inf"}) == 3


def test_duration_on_bucket_bound_counts_in_that_bucket() -> None:
    metrics = Metrics()

    metrics.observe_request("GET", "/healthz", 200, 0.005)

    bucket = {"method": "GET", "route": "/healthz", "le": "0.005"}
    value = metrics.registry.get_sample_value
    assert value("lookout_http_request_duration_seconds_bucket", bucket) == 1


def test_request_series_is_shared_per_label_set() -> None:
    metrics = Metrics()

    first = metrics.requests.series("GET", "/api/v1/status", 200)
    again = metrics.requests.series("GET", "/api/v1/status", 200)

    assert first is again
    assert metrics.requests.series("GET", "/api/v1/status", 304) is not first


def test_request_metrics_in_exposition_text() -> None:
    metrics = Metrics()
    metrics.observe_request("GET", "/api/v1/status", 200, 0.001)

    text = metrics.render().decode()

    assert "# TYPE lookout_http_requests_total counter" in text
    assert (
        'lookout_http_requests_total{method="GET",route="/api/v1/status",status="200"} 1.0'
    ) in text
    assert "# TYPE lookout_http_request_duration_seconds histogram" in text
