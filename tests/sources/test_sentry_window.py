"""SentrySource.fetch_performance_window: the Discover query over an explicit window."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.models.upstream import PerformanceStats
from app.sources.base import CallRecorder
from app.sources.sentry import SentrySource
from app.sources.sentry_parsing import PERFORMANCE_FIELDS

HOST = "https://sentry.example.test"
API = f"{HOST}/api/0"
TOKEN = "sentry-window-test-token-81c2"
EVENTS_PATH = "/organizations/acme/events/"
PROJECTS_PATH = "/organizations/acme/projects/"
START = datetime(2026, 11, 30, tzinfo=UTC)
END = datetime(2026, 12, 7, tzinfo=UTC)


def events_body() -> dict[str, Any]:
    fields = {name: "duration" for name in PERFORMANCE_FIELDS}
    fields.update({"count()": "integer", "failure_rate()": "percentage"})
    return {
        "data": [
            {
                "count()": 201_600,
                "failure_rate()": 0.004,
                "avg(transaction.duration)": 210.0,
                "p95(transaction.duration)": 430.0,
                "p75(measurements.lcp)": None,
            }
        ],
        "meta": {"fields": fields, "units": dict.fromkeys(PERFORMANCE_FIELDS, "millisecond")},
    }


@pytest.fixture
async def source() -> AsyncIterator[SentrySource]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        poller_enabled=False,
        sentry_org="acme",
        sentry_base_url=HOST,
    )
    async with httpx.AsyncClient() as client:
        yield SentrySource(client, settings, CallRecorder(), token=TOKEN)


@pytest.fixture
def sentry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        mock.get(PROJECTS_PATH).respond(json=[{"id": "11", "slug": "backend"}])
        yield mock


async def test_performance_window_sends_start_and_end(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(EVENTS_PATH).respond(json=events_body())

    await source.fetch_performance_window("backend", START, END)

    params = route.calls.last.request.url.params
    assert params["start"] == "2026-11-30T00:00:00"
    assert params["end"] == "2026-12-07T00:00:00"
    assert "statsPeriod" not in params
    assert params.get_list("field") == list(PERFORMANCE_FIELDS)
    assert params.get_list("project") == ["11"]
    assert params["query"] == "event.type:transaction"


async def test_performance_window_parses_the_row(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(EVENTS_PATH).respond(json=events_body())

    stats = await source.fetch_performance_window("backend", START, END)

    assert stats == PerformanceStats(
        project="backend",
        transaction_count=201_600,
        failure_rate=0.004,
        avg_duration_ms=210.0,
        p95_duration_ms=430.0,
        lcp_p75_ms=None,
    )


async def test_performance_window_rejects_empty_window(source: SentrySource) -> None:
    with pytest.raises(ValueError, match="end must be later than start"):
        await source.fetch_performance_window("backend", END, END - timedelta(seconds=1))
