"""SentrySource figures: stats_v2 error counts (floored buckets) and Discover performance."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.demo.app import create_simulator
from app.demo.sentry_sim import DEMO_ORG
from app.demo.world import DemoWorld
from app.models.upstream import CountPoint, PerformanceStats
from app.sources.base import CallRecorder
from app.sources.errors import SourceBadResponse
from app.sources.sentry import SentrySource
from app.sources.sentry_parsing import PERFORMANCE_FIELDS, parse_stats_series

HOST = "https://sentry.example.test"
API = f"{HOST}/api/0"
TOKEN = "sentry-test-token-6d1f"
STATS_PATH = "/organizations/acme/stats_v2/"
EVENTS_PATH = "/organizations/acme/events/"
PROJECTS_PATH = "/organizations/acme/projects/"
PROJECTS = [{"id": "11", "slug": "backend"}, {"id": "12", "slug": "frontend"}]
# Sentry's "now" in these responses: 10:37:30, so stats_v2 ends at the next minute.
END = datetime(2026, 12, 4, 10, 38, tzinfo=UTC)
SIMULATOR_TOKEN = "demo-sentry-integration-token"
SIMULATOR_BACKEND_ID = "4501001"
FIVE_MINUTES = timedelta(minutes=5)
# The bucket that contains END: partial, so last_5m reads the 10:30 one.
CURRENT_BUCKET = datetime(2026, 12, 4, 10, 35, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def stats_json(
    start: datetime,
    step: timedelta,
    counts: list[int],
    *,
    end: datetime = END,
    extra_groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    intervals = [iso(start + step * index) for index in range(len(counts))]
    group = {
        "by": {"outcome": "accepted"},
        "totals": {"sum(quantity)": sum(counts)},
        "series": {"sum(quantity)": counts},
    }
    return {
        "start": iso(start),
        "end": iso(end),
        "intervals": intervals,
        "groups": [group, *(extra_groups or [])],
    }


def buckets_json(counts: list[int] | None = None, **options: Any) -> dict[str, Any]:
    """5-minute buckets ending with the current 10:35 one, as Sentry returns for ``interval=5m``."""
    counts = counts if counts is not None else day_counts()
    start = CURRENT_BUCKET - FIVE_MINUTES * (len(counts) - 1)
    return stats_json(start, FIVE_MINUTES, counts, **options)


def day_counts(
    floored_hour: int = 500, full_hour: int = 1, current_hour: list[int] | None = None
) -> list[int]:
    """Counts for 10:00 yesterday to 10:35 today: Sentry's extra floored hour, 23 full hours
    and the current hour's eight buckets (1 to 8 unless given)."""
    current = current_hour if current_hour is not None else [1, 2, 3, 4, 5, 6, 7, 8]
    return [floored_hour] * 12 + [full_hour] * (23 * 12) + current


def events_json(row: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    values = {
        "count()": 5120,
        "failure_rate()": 0.0123,
        "avg(transaction.duration)": 240.1,
        "p95(transaction.duration)": 812.5,
        "p75(measurements.lcp)": 2140.0,
    }
    values.update(row or {})
    fields = {
        "count()": "integer",
        "failure_rate()": "percentage",
        "avg(transaction.duration)": "duration",
        "p95(transaction.duration)": "duration",
        "p75(measurements.lcp)": "duration",
    }
    units = {
        "count()": None,
        "failure_rate()": None,
        "avg(transaction.duration)": "millisecond",
        "p95(transaction.duration)": "millisecond",
        "p75(measurements.lcp)": "millisecond",
    }
    body_meta: dict[str, Any] = {"fields": fields, "units": units, "isMetricsData": False}
    body_meta.update(meta)
    return {"data": [values], "meta": body_meta}


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": True,
        "poller_enabled": False,
        "sentry_org": "acme",
        "sentry_base_url": HOST,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture
def source(client: httpx.AsyncClient) -> SentrySource:
    return SentrySource(client, make_settings(), CallRecorder(), token=TOKEN)


@pytest.fixture
def sentry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        mock.get(PROJECTS_PATH).respond(json=PROJECTS)
        yield mock


def stats_route(mock: respx.MockRouter, body: Any) -> respx.Route:
    return mock.get(STATS_PATH).respond(json=body)


# --- Error stats ------------------------------------------------------------------------------


async def test_error_stats_one_request_of_5m_buckets(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = stats_route(sentry, buckets_json())

    await source.fetch_error_stats("backend")

    assert route.call_count == 1
    params = route.calls.last.request.url.params
    assert params["field"] == "sum(quantity)"
    assert params.get_list("groupBy") == ["outcome"]
    assert params["category"] == "error"
    assert params["outcome"] == "accepted"
    assert params.get_list("project") == ["11"]
    assert params["interval"] == "5m"
    assert params["statsPeriod"] == "24h"


async def test_error_stats_hourly_sums_of_12_buckets(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    stats_route(sentry, buckets_json())

    stats = await source.fetch_error_stats("backend")

    # 23 full hours of twelve 1s, then the current hour: 1 + 2 + ... + 8 = 36.
    assert [point.count for point in stats.hourly] == [12] * 23 + [36]
    assert stats.hourly[0].at == datetime(2026, 12, 3, 11, tzinfo=UTC)
    assert stats.hourly[-1].at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert stats.total_24h == 23 * 12 + 36


async def test_error_stats_hours_aligned_to_utc(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    counts = day_counts(full_hour=0)
    # 10:55 and 11:00 yesterday: the first ends the dropped hour, the second starts 11:00.
    counts[11] = 40
    counts[12] = 3
    stats_route(sentry, buckets_json(counts))

    stats = await source.fetch_error_stats("backend")

    assert stats.hourly[0].count == 3
    assert stats.hourly[1].count == 0


async def test_error_stats_drops_floored_leading_hour(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    stats_route(sentry, buckets_json(day_counts(floored_hour=500)))

    stats = await source.fetch_error_stats("backend")

    assert len(stats.hourly) == 24
    assert stats.hourly[0].at == datetime(2026, 12, 3, 11, tzinfo=UTC)
    assert all(point.count < 500 for point in stats.hourly)


async def test_error_stats_last_5m_is_last_complete_bucket(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    stats_route(sentry, buckets_json())

    stats = await source.fetch_error_stats("backend")

    # "now" is 10:37, in the 10:35 bucket (8), so the 10:30 bucket (7) is the last complete one.
    assert stats.last_5m == 7


async def test_error_stats_end_on_boundary_keeps_bucket_partial(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    # Sentry's end is the minute after "now": an end of 10:35 means "now" is 10:34, so the
    # 10:30 bucket (7) is still partial and the 10:25 bucket (6) is the last complete one.
    counts = day_counts()[:-1]
    start = datetime(2026, 12, 3, 10, tzinfo=UTC)
    end = datetime(2026, 12, 4, 10, 35, tzinfo=UTC)
    stats_route(sentry, stats_json(start, FIVE_MINUTES, counts, end=end))

    stats = await source.fetch_error_stats("backend")

    assert stats.last_5m == 6


async def test_error_stats_ignores_other_outcomes(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    limited = {
        "by": {"outcome": "rate_limited"},
        "totals": {"sum(quantity)": 2960},
        "series": {"sum(quantity)": [10] * len(day_counts())},
    }
    stats_route(sentry, buckets_json(extra_groups=[limited]))

    stats = await source.fetch_error_stats("backend")

    assert stats.total_24h == 23 * 12 + 36
    assert stats.last_5m == 7


async def test_error_stats_without_groups_is_zero(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    empty = buckets_json()
    empty["groups"] = []
    stats_route(sentry, empty)

    stats = await source.fetch_error_stats("backend")

    assert stats.total_24h == 0
    assert stats.last_5m == 0
    assert len(stats.hourly) == 24
    assert all(point.count == 0 for point in stats.hourly)


async def test_error_stats_without_end_uses_last_bucket(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    body = buckets_json()
    del body["end"]
    stats_route(sentry, body)

    stats = await source.fetch_error_stats("backend")

    assert stats.hourly[-1].at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert stats.total_24h == 23 * 12 + 36
    assert stats.last_5m == 7


async def test_error_stats_misaligned_series_is_bad_response(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    broken = buckets_json()
    broken["groups"][0]["series"]["sum(quantity)"] = [1, 2]
    stats_route(sentry, broken)

    with pytest.raises(SourceBadResponse, match="does not line up"):
        await source.fetch_error_stats("backend")


@pytest.mark.parametrize(
    "body",
    [[], {"groups": []}, {"intervals": ["yesterday"], "groups": []}, "text"],
    ids=["list", "no intervals", "bad interval", "string"],
)
async def test_error_stats_wrong_shape_is_bad_response(
    source: SentrySource, sentry: respx.MockRouter, body: Any
) -> None:
    stats_route(sentry, body)

    with pytest.raises(SourceBadResponse):
        await source.fetch_error_stats("backend")


async def test_error_stats_match_simulator_series() -> None:
    now = datetime(2025, 3, 10, 12, 30, 20, tzinfo=UTC)
    simulator = create_simulator(world=DemoWorld.at(now), clock=lambda: now)
    settings = make_settings(sentry_org=DEMO_ORG, sentry_base_url="http://simulator.test")
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulator.test") as http:
        source = SentrySource(http, settings, CallRecorder(), token=SIMULATOR_TOKEN)
        stats = await source.fetch_error_stats("backend")
        hours = await simulator_series(http, "1h", "24h")
        minutes = await simulator_series(http, "1m", "1h")

    # The same simulator, asked for 1 h buckets, gives 13:00 yesterday to the current 12:00.
    assert stats.hourly == hours
    # "now" is 12:30:20, so the last complete 5 minutes are 12:25 to 12:30.
    first, past = (
        datetime(2025, 3, 10, 12, 25, tzinfo=UTC),
        datetime(2025, 3, 10, 12, 30, tzinfo=UTC),
    )
    assert stats.last_5m == sum(p.count for p in minutes if first <= p.at < past)


async def simulator_series(http: httpx.AsyncClient, interval: str, period: str) -> list[CountPoint]:
    params = {
        "field": "sum(quantity)",
        "groupBy": "outcome",
        "category": "error",
        "outcome": "accepted",
        "project": SIMULATOR_BACKEND_ID,
        "interval": interval,
        "statsPeriod": period,
    }
    headers = {"Authorization": f"Bearer {SIMULATOR_TOKEN}"}
    response = await http.get(
        f"/api/0/organizations/{DEMO_ORG}/stats_v2/", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return parse_stats_series(response.json(), "test")


async def test_error_counts_window_daily_buckets(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    start = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    end = datetime(2026, 12, 4, tzinfo=UTC)
    body = stats_json(
        datetime(2026, 11, 27, tzinfo=UTC), timedelta(days=1), [3, 4, 5, 6, 7, 8, 9, 99], end=end
    )
    route = sentry.get(STATS_PATH).respond(json=body)

    points = await source.fetch_error_counts_window("backend", start, end)

    params = route.calls.last.request.url.params
    assert params["interval"] == "1d"
    assert params["start"] == "2026-11-27T10:30:00"
    assert params["end"] == "2026-12-04T00:00:00"
    assert "statsPeriod" not in params
    assert points == [
        CountPoint(at=datetime(2026, 11, 27 + day, tzinfo=UTC), count=3 + day) for day in range(4)
    ] + [CountPoint(at=datetime(2026, 12, day, tzinfo=UTC), count=6 + day) for day in range(1, 4)]


# --- Performance ------------------------------------------------------------------------------


async def test_performance_request_repeats_field_param(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(EVENTS_PATH).respond(json=events_json())

    await source.fetch_performance("frontend")

    request = route.calls.last.request
    params = request.url.params
    assert params.get_list("field") == list(PERFORMANCE_FIELDS)
    assert request.url.query.count(b"field=") == len(PERFORMANCE_FIELDS)
    assert params["dataset"] == "transactions"
    assert params["query"] == "event.type:transaction"
    assert params["statsPeriod"] == "24h"
    assert params.get_list("project") == ["12"]


async def test_performance_row_read_by_field_strings(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json())

    stats = await source.fetch_performance("frontend")

    assert stats == PerformanceStats(
        project="frontend",
        transaction_count=5120,
        failure_rate=0.0123,
        avg_duration_ms=240.1,
        p95_duration_ms=812.5,
        lcp_p75_ms=2140.0,
    )


async def test_failure_rate_kept_as_fraction(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"failure_rate()": 0.5}))

    stats = await source.fetch_performance("backend")

    assert stats.failure_rate == 0.5


async def test_failure_rate_outside_fraction_left_empty(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"failure_rate()": 1.23}))
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    stats = await source.fetch_performance("backend")

    assert stats.failure_rate is None
    assert stats.transaction_count == 5120
    assert "outside 0..1" in caplog.text


async def test_no_accessible_project_returns_empty_stats(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"data": [], "meta": {"tips": {"query": "Need at least one valid project to query."}}}
    sentry.get(EVENTS_PATH).respond(json=body)
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    stats = await source.fetch_performance("backend")

    assert stats == PerformanceStats(project="backend")
    assert "Need at least one valid project to query." in caplog.text


async def test_no_transactions_returns_empty_stats_quietly(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    sentry.get(EVENTS_PATH).respond(json={"data": [], "meta": {"fields": {}, "tips": {}}})
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    stats = await source.fetch_performance("backend")

    assert stats == PerformanceStats(project="backend")
    assert caplog.records == []


@pytest.mark.parametrize("lcp", [None, 0])
async def test_lcp_none_without_web_vitals(
    source: SentrySource, sentry: respx.MockRouter, lcp: float | None
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"p75(measurements.lcp)": lcp}))

    stats = await source.fetch_performance("backend")

    assert stats.lcp_p75_ms is None
    assert stats.p95_duration_ms == 812.5


async def test_duration_unit_read_from_meta(source: SentrySource, sentry: respx.MockRouter) -> None:
    body = events_json({"p95(transaction.duration)": 0.8125, "avg(transaction.duration)": 0.25})
    body["meta"]["units"]["p95(transaction.duration)"] = "second"
    body["meta"]["units"]["avg(transaction.duration)"] = "second"
    sentry.get(EVENTS_PATH).respond(json=body)

    stats = await source.fetch_performance("backend")

    assert stats.p95_duration_ms == 812.5
    assert stats.avg_duration_ms == 250.0


async def test_integer_field_sent_as_string(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"count()": "5120"}))

    stats = await source.fetch_performance("backend")

    assert stats.transaction_count == 5120


async def test_count_typed_number_by_meta_rounded(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    body = events_json({"count()": 5120.4})
    body["meta"]["fields"]["count()"] = "number"
    sentry.get(EVENTS_PATH).respond(json=body)

    stats = await source.fetch_performance("backend")

    assert stats.transaction_count == 5120


async def test_integer_field_with_fraction_left_empty(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"count()": 5120.4}))

    stats = await source.fetch_performance("backend")

    assert stats.transaction_count is None
    assert stats.p95_duration_ms == 812.5


async def test_non_numeric_value_left_empty(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_json({"avg(transaction.duration)": "slow"}))

    stats = await source.fetch_performance("backend")

    assert stats.avg_duration_ms is None
    assert stats.transaction_count == 5120


@pytest.mark.parametrize(
    "body",
    [[], {"meta": {}}, {"data": "rows"}, {"data": ["row"]}],
    ids=["list", "no data", "data not a list", "row not an object"],
)
async def test_performance_wrong_shape_is_bad_response(
    source: SentrySource, sentry: respx.MockRouter, body: Any
) -> None:
    sentry.get(EVENTS_PATH).respond(json=body)

    with pytest.raises(SourceBadResponse):
        await source.fetch_performance("backend")
