"""Sentry's own published response examples, fed through SentrySource.

The examples come from Sentry's public OpenAPI document, kept next to the repository (never
copied into it); the tests skip when it is absent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.models.upstream import IssueLevel, IssueStatus, PerformanceStats
from app.sources.base import CallRecorder
from app.sources.sentry import SentrySource

SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "upstream-schemas"
    / "sentry-openapi-subset.json"
)
HOST = "https://sentry.example.test"
API = f"{HOST}/api/0"
ORG_ISSUES = "/api/0/organizations/{organization_id_or_slug}/issues/"
PROJECT_ISSUES = "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/issues/"
STATS_V2 = "/api/0/organizations/{organization_id_or_slug}/stats_v2/"
EVENTS = "/api/0/organizations/{organization_id_or_slug}/events/"
PROJECTS = "/api/0/organizations/{organization_id_or_slug}/projects/"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Sentry OpenAPI subset not found at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def example(spec: dict[str, Any], path: str) -> Any:
    """The first published 200 example of ``path`` (``examples`` or a bare ``example``)."""
    content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    if "examples" in content:
        return next(iter(content["examples"].values()))["value"]
    return content["example"]


@pytest.fixture
async def source() -> AsyncIterator[SentrySource]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo_mode=True,
        poller_enabled=False,
        sentry_org="the-interstellar-jurisdiction",
        sentry_base_url=HOST,
    )
    async with httpx.AsyncClient() as client:
        yield SentrySource(client, settings, CallRecorder(), token="sentry-test-token-6d1f")


def mock_sentry() -> respx.MockRouter:
    """Mock the example organization, with the example issue's project in its project list."""
    mock = respx.mock(base_url=f"{API}/organizations/the-interstellar-jurisdiction")
    projects = [{"id": "2", "slug": "pump-station"}]
    mock.get("/projects/").respond(json=projects)
    return mock


async def test_projects_example_gives_slug_id_map(
    spec: dict[str, Any], source: SentrySource
) -> None:
    with respx.mock(base_url=f"{API}/organizations/the-interstellar-jurisdiction") as mock:
        mock.get("/projects/").respond(json=example(spec, PROJECTS))

        ids = await source.fetch_project_ids()

    assert ids == {"prime-mover": "3"}


async def test_org_issues_example_parsed(spec: dict[str, Any], source: SentrySource) -> None:
    with mock_sentry() as mock:
        mock.get("/issues/").respond(json=example(spec, ORG_ISSUES))

        snapshot = await source.fetch_issues("pump-station")

    issue = snapshot.issues[0]
    assert issue.id == "1"
    assert issue.short_id == "PUMP-STATION-1"
    assert issue.count == 150
    assert issue.user_count == 0
    assert issue.level is IssueLevel.ERROR
    assert issue.status is IssueStatus.IGNORED
    assert issue.substatus == "archived_until_condition_met"
    assert issue.priority == "medium"
    assert issue.project_slug == "pump-station"
    assert issue.project_id == "2"
    assert issue.first_seen == datetime(2018, 11, 6, 21, 19, 55, tzinfo=UTC)
    assert issue.last_seen == datetime(2018, 12, 6, 21, 19, 55, tzinfo=UTC)
    assert issue.is_unhandled is False


async def test_project_issues_example_parsed(spec: dict[str, Any], source: SentrySource) -> None:
    with mock_sentry() as mock:
        mock.get("/issues/").respond(json=example(spec, PROJECT_ISSUES))

        snapshot = await source.fetch_issues("pump-station")

    issue = snapshot.issues[0]
    assert issue.count == 1
    assert issue.status is IssueStatus.UNRESOLVED
    assert issue.substatus is None
    assert issue.priority is None
    assert issue.first_seen == datetime(2018, 11, 6, 21, 19, 55, tzinfo=UTC)


async def test_stats_v2_example_counts_only_accepted(
    spec: dict[str, Any], source: SentrySource
) -> None:
    body = example(spec, STATS_V2)
    with mock_sentry() as mock:
        mock.get("/stats_v2/").respond(json=body)

        points = await source.fetch_error_counts_window(
            "pump-station",
            datetime(2022, 2, 14, 19, tzinfo=UTC),
            datetime(2022, 2, 28, 18, 3, tzinfo=UTC),
        )

    # The example's only group is the "invalid" outcome, which is not an accepted error.
    assert [point.at for point in points] == [datetime(2022, 2, 28, tzinfo=UTC)]
    assert [point.count for point in points] == [0]


async def test_stats_v2_example_as_error_stats(spec: dict[str, Any], source: SentrySource) -> None:
    with mock_sentry() as mock:
        mock.get("/stats_v2/").respond(json=example(spec, STATS_V2))

        stats = await source.fetch_error_stats("pump-station")

    # One daily-looking interval 18 h before the example's end: inside the 24 h window.
    assert [point.at for point in stats.hourly] == [datetime(2022, 2, 28, tzinfo=UTC)]
    assert stats.total_24h == 0
    assert stats.last_5m == 0


async def test_events_example_read_by_field_strings(
    spec: dict[str, Any], source: SentrySource
) -> None:
    with mock_sentry() as mock:
        mock.get("/events/").respond(json=example(spec, EVENTS))

        stats = await source.fetch_performance("pump-station")

    # The example queries count() and other fields. Lookout requests only count() of those.
    assert stats == PerformanceStats(project="pump-station", transaction_count=10)
