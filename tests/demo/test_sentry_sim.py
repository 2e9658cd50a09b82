"""The fake Sentry: wire format and errors, the demo story, the published schemas, and the real
client reading it through ``httpx.ASGITransport``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from app.config import Settings
from app.demo.app import create_simulator
from app.demo.sentry_data import SentryData
from app.demo.sentry_sim import DEMO_ORG
from app.demo.world import DemoWorld
from app.models.upstream import IssueStatus
from app.sources.base import CallRecorder
from app.sources.errors import SourceAuthError, SourceBadResponse
from app.sources.sentry import SentrySource
from app.sources.sentry_parsing import PERFORMANCE_FIELDS, parse_sentry_datetime

NOW = datetime(2025, 3, 10, 12, 30, 20, tzinfo=UTC)
WORLD = DemoWorld.at(NOW)
BACKEND_ID, FRONTEND_ID = "4501001", "4501002"
ORG = f"/api/0/organizations/{DEMO_ORG}"
AUTH = {"Authorization": "Bearer demo-sentry-integration-token"}
SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "upstream-schemas"
    / "sentry-openapi-subset.json"
)


def simulator_at(now: datetime, world: DemoWorld = WORLD) -> FastAPI:
    return create_simulator(world=world, clock=lambda: now)


@pytest.fixture
def simulator() -> FastAPI:
    return simulator_at(NOW)


@pytest.fixture
async def client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://simulator.test", headers=AUTH
    ) as http:
        yield http


async def get_json(client: httpx.AsyncClient, path: str, params: Any = None) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


# --- Authentication and Sentry's errors -------------------------------------------------------


async def test_missing_bearer_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/projects/", headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


async def test_bad_token_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/projects/", headers={"Authorization": "Bearer bad"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


async def test_basic_scheme_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/projects/", headers={"Authorization": "Basic abc"})

    assert response.status_code == 401


async def test_org_auth_token_lacks_scope(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer sntrys_ci-only-token"}

    response = await client.get(f"{ORG}/issues/", headers=headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


async def test_unknown_org_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/0/organizations/nope/issues/")

    assert response.status_code == 404
    assert "detail" in response.json()


async def test_unknown_project_slug_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/0/projects/{DEMO_ORG}/mobile/issues/")

    assert response.status_code == 404


async def test_unknown_project_id_forbidden(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/issues/", params={"project": "999"})

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "params"),
    [("/issues/", {"limit": "101"}), ("/projects/", {"per_page": "101"})],
    ids=["issues limit", "projects per_page"],
)
async def test_page_size_over_100_rejected(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    response = await client.get(f"{ORG}{path}", params=params)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid per_page value. Cannot exceed 100."}


async def test_events_per_page_over_100_rejected(client: httpx.AsyncClient) -> None:
    params = {"field": "count()", "per_page": "500"}

    response = await client.get(f"{ORG}/events/", params=params)

    assert response.status_code == 400


async def test_unknown_stats_category_rejected(client: httpx.AsyncClient) -> None:
    params = {"field": "sum(quantity)", "groupBy": "outcome", "category": "scoobydoo"}

    response = await client.get(f"{ORG}/stats_v2/", params=params)

    assert response.status_code == 400
    assert response.json() == {"detail": 'Invalid category: "scoobydoo"'}


async def test_stats_without_category_rejected(client: httpx.AsyncClient) -> None:
    params = {"field": "sum(quantity)", "groupBy": "outcome"}

    response = await client.get(f"{ORG}/stats_v2/", params=params)

    assert response.status_code == 400
    assert response.json() == {"detail": "Query must have category as groupby or filter"}


async def test_stats_interval_must_divide_a_day(client: httpx.AsyncClient) -> None:
    params = {"field": "sum(quantity)", "category": "error", "interval": "7m"}

    response = await client.get(f"{ORG}/stats_v2/", params=params)

    assert response.status_code == 400
    assert "divide one day" in response.json()["detail"]


async def test_project_issues_stats_period_limited(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/api/0/projects/{DEMO_ORG}/backend/issues/", params={"statsPeriod": "7d"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("token", ["demo-sentry-integration-token", "bad"])
async def test_rate_limit_headers_on_every_response(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(f"{ORG}/projects/", headers={"Authorization": f"Bearer {token}"})

    for name in ("Limit", "Remaining", "Reset", "ConcurrentLimit", "ConcurrentRemaining"):
        assert response.headers[f"X-Sentry-Rate-Limit-{name}"].isdigit()


# --- Issues on the wire -----------------------------------------------------------------------


async def test_issue_wire_types(client: httpx.AsyncClient) -> None:
    issues = await get_json(client, f"{ORG}/issues/", {"project": BACKEND_ID, "query": ""})

    issue = issues[0]
    assert isinstance(issue["id"], str)
    assert isinstance(issue["count"], str)
    assert issue["count"].isdigit()
    assert isinstance(issue["userCount"], int)
    assert isinstance(issue["project"]["id"], str)
    timeline = issue["stats"]["24h"]
    assert len(timeline) == 24
    assert all(isinstance(ts, int) and isinstance(n, int) for ts, n in timeline)


async def test_first_seen_with_and_without_microseconds(client: httpx.AsyncClient) -> None:
    issues = await get_json(client, f"/api/0/projects/{DEMO_ORG}/frontend/issues/", {"query": ""})

    first_seen = [issue["firstSeen"] for issue in issues]
    assert any("." in value for value in first_seen)
    assert any("." not in value for value in first_seen)
    assert all(value.endswith("Z") for value in first_seen)


async def test_default_query_hides_resolved(client: httpx.AsyncClient) -> None:
    default = await get_json(client, f"{ORG}/issues/", {"project": BACKEND_ID})
    everything = await get_json(client, f"{ORG}/issues/", {"project": BACKEND_ID, "query": ""})

    assert {issue["status"] for issue in default} == {"unresolved"}
    assert "resolved" in {issue["status"] for issue in everything}


async def test_link_header_always_has_previous_and_next(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/issues/", params={"query": "", "limit": "5"})

    links = response.links
    assert links["previous"]["results"] == "false"
    assert links["previous"]["cursor"] == "0:0:1"
    assert links["next"]["results"] == "true"
    assert links["next"]["cursor"] == "0:5:0"


async def test_last_page_next_says_false(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/issues/", params={"project": BACKEND_ID, "query": ""})

    assert len(response.json()) < 100
    assert response.links["next"]["results"] == "false"
    assert response.links["previous"]["results"] == "false"


async def test_cursor_pages_cover_every_issue_once(client: httpx.AsyncClient) -> None:
    params = {"project": BACKEND_ID, "query": "", "statsPeriod": "90d", "limit": "7"}
    seen: list[str] = []
    for _ in range(20):
        response = await client.get(f"{ORG}/issues/", params=params)
        seen += [issue["id"] for issue in response.json()]
        if response.links["next"]["results"] != "true":
            break
        params["cursor"] = response.links["next"]["cursor"]

    assert len(seen) == WORLD.issues_per_project
    assert len(set(seen)) == len(seen)


async def test_issues_sorted_by_sort_parameter(client: httpx.AsyncClient) -> None:
    params = {"project": BACKEND_ID, "query": "", "statsPeriod": "90d", "sort": "freq"}

    issues = await get_json(client, f"{ORG}/issues/", params)

    counts = [int(issue["count"]) for issue in issues]
    assert counts == sorted(counts, reverse=True)


async def test_calls_counted_per_endpoint(simulator: FastAPI, client: httpx.AsyncClient) -> None:
    stats = {"field": "sum(quantity)", "category": "error"}
    await client.get(f"{ORG}/projects/")
    await client.get(f"{ORG}/issues/", params={"project": BACKEND_ID})
    await client.get(f"/api/0/projects/{DEMO_ORG}/frontend/issues/")
    await client.get(f"{ORG}/stats_v2/", params=stats)
    await client.get(f"{ORG}/events/", params={"field": "count()"})

    calls = simulator.state.simulator.calls
    assert calls["sentry:projects"] == 1
    assert calls["sentry:issues:backend"] == 1
    assert calls["sentry:issues:frontend"] == 1
    assert calls["sentry:stats"] == 1
    assert calls["sentry:events"] == 1


# --- stats_v2 ---------------------------------------------------------------------------------


async def test_stats_range_widened_and_floored(client: httpx.AsyncClient) -> None:
    params = {
        "field": "sum(quantity)",
        "groupBy": "outcome",
        "category": "error",
        "outcome": "accepted",
        "interval": "1m",
        "statsPeriod": "5m",
    }

    body = await get_json(client, f"{ORG}/stats_v2/", params)

    intervals = [parse_sentry_datetime(value) for value in body["intervals"]]
    assert intervals[0] == datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert intervals[-1] == datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
    assert body["end"] == "2025-03-10T12:31:00Z"
    for group in body["groups"]:
        assert len(group["series"]["sum(quantity)"]) == len(intervals)


async def test_stats_group_by_project_has_only_totals(client: httpx.AsyncClient) -> None:
    params = {"field": "sum(quantity)", "groupBy": ["project"], "category": "error"}

    body = await get_json(client, f"{ORG}/stats_v2/", params)

    assert {group["by"]["project"] for group in body["groups"]} == {4501001, 4501002}
    assert all(group["series"] == {} for group in body["groups"])
    assert all(group["totals"]["sum(quantity)"] > 0 for group in body["groups"])


async def test_spike_visible_in_backend_stats(client: httpx.AsyncClient) -> None:
    params = {
        "field": "sum(quantity)",
        "groupBy": "outcome",
        "category": "error",
        "outcome": "accepted",
        "interval": "1h",
        "statsPeriod": "7d",
        "project": BACKEND_ID,
    }

    body = await get_json(client, f"{ORG}/stats_v2/", params)

    series = body["groups"][0]["series"]["sum(quantity)"]
    peak = parse_sentry_datetime(body["intervals"][series.index(max(series))])
    spike_start, spike_end = WORLD.spike
    assert peak is not None
    assert spike_start - timedelta(hours=1) < peak < spike_end
    assert max(series) > 10 * sorted(series)[len(series) // 2]


# --- Events (Discover) ------------------------------------------------------------------------


async def events(client: httpx.AsyncClient, project_id: str, **window: str) -> dict[str, Any]:
    params: list[tuple[str, str]] = [("field", field) for field in PERFORMANCE_FIELDS]
    params += [("dataset", "transactions"), ("query", "event.type:transaction")]
    params += [("project", project_id)]
    params += list(window.items()) or [("statsPeriod", "24h")]
    body: dict[str, Any] = await get_json(client, f"{ORG}/events/", params)
    return body


async def test_events_rows_keyed_by_field_strings(client: httpx.AsyncClient) -> None:
    body = await events(client, FRONTEND_ID)

    assert set(body["data"][0]) == set(PERFORMANCE_FIELDS)
    assert set(body["meta"]["fields"]) == set(PERFORMANCE_FIELDS)
    assert body["meta"]["fields"]["failure_rate()"] == "percentage"
    assert body["meta"]["units"]["p95(transaction.duration)"] == "millisecond"


async def test_frontend_lcp_about_two_seconds(client: httpx.AsyncClient) -> None:
    row = (await events(client, FRONTEND_ID))["data"][0]

    assert 2000 <= row["p75(measurements.lcp)"] <= 2200


async def test_backend_has_no_web_vitals(client: httpx.AsyncClient) -> None:
    row = (await events(client, BACKEND_ID))["data"][0]

    assert row["p75(measurements.lcp)"] is None


async def test_failure_rate_under_one_percent_normally(client: httpx.AsyncClient) -> None:
    for project_id in (BACKEND_ID, FRONTEND_ID):
        row = (await events(client, project_id))["data"][0]
        assert 0 < row["failure_rate()"] < 0.01


async def test_failure_rate_rises_during_outage(client: httpx.AsyncClient) -> None:
    start, end = WORLD.outage

    row = (await events(client, BACKEND_ID, start=iso(start), end=iso(end)))["data"][0]

    assert row["failure_rate()"] > 0.5


async def test_backend_p95_over_target_in_slow_period(client: httpx.AsyncClient) -> None:
    start, end = WORLD.slow
    slow = (await events(client, BACKEND_ID, start=iso(start), end=iso(end)))["data"][0]
    normal = (await events(client, BACKEND_ID))["data"][0]

    assert slow["p95(transaction.duration)"] > 500
    assert normal["p95(transaction.duration)"] < 500


async def test_events_grouped_by_transaction(client: httpx.AsyncClient) -> None:
    params = [("field", "transaction"), ("field", "count()"), ("project", BACKEND_ID)]

    body = await get_json(client, f"{ORG}/events/", params)

    names = [row["transaction"] for row in body["data"]]
    assert names == ["GET /api/orders", "POST /api/checkout"]
    assert all(isinstance(row["count()"], int) for row in body["data"])


async def test_events_unknown_field_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ORG}/events/", params={"field": "p42(nothing)"})

    assert response.status_code == 400


async def test_events_without_accessible_project_return_tips() -> None:
    world = DemoWorld(anchor=WORLD.anchor, projects=[])
    transport = httpx.ASGITransport(app=simulator_at(NOW, world))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://simulator.test", headers=AUTH
    ) as client:
        body = await get_json(client, f"{ORG}/events/", {"field": "count()"})

    assert body == {
        "data": [],
        "meta": {"tips": {"query": "Need at least one valid project to query."}},
    }


# --- The demo data ----------------------------------------------------------------------------


def test_extra_issues_dealt_over_projects() -> None:
    data = SentryData(DemoWorld.at(NOW, extra_issues=5001))

    sizes = {slug: len(issues) for slug, issues in data.issues.items()}
    assert sizes == {"backend": 24 + 2501, "frontend": 24 + 2500}
    assert len({issue.id for issues in data.issues.values() for issue in issues}) == 5049


def test_same_anchor_gives_same_issues() -> None:
    first = SentryData(DemoWorld.at(NOW))
    second = SentryData(DemoWorld.at(NOW + timedelta(minutes=20)))

    assert first.issues == second.issues


def test_spike_issues_first_seen_during_spike() -> None:
    data = SentryData(WORLD)
    spike_start, spike_end = WORLD.spike

    during = [i for i in data.issues["backend"] if spike_start <= i.first_seen <= spike_end]

    assert len(during) >= 3


# --- Published schemas ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Sentry OpenAPI subset not found at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def schema_errors(spec: dict[str, Any], path: str, body: Any) -> list[tuple[list[Any], str]]:
    content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    validator = OAS30Validator(content["schema"], format_checker=oas30_format_checker)
    return [(list(error.absolute_path), error.message) for error in validator.iter_errors(body)]


async def test_org_issues_match_published_schema(
    spec: dict[str, Any], client: httpx.AsyncClient
) -> None:
    body = await get_json(client, f"{ORG}/issues/", {"query": "", "statsPeriod": "14d"})

    assert len(body) > 10
    path = "/api/0/organizations/{organization_id_or_slug}/issues/"
    assert schema_errors(spec, path, body)[:5] == []


async def test_project_issues_match_published_schema(
    spec: dict[str, Any], client: httpx.AsyncClient
) -> None:
    body = await get_json(client, f"/api/0/projects/{DEMO_ORG}/backend/issues/", {"query": ""})

    assert body
    path = "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/issues/"
    assert schema_errors(spec, path, body)[:5] == []


async def test_stats_v2_matches_published_schema(
    spec: dict[str, Any], client: httpx.AsyncClient
) -> None:
    params = {"field": "sum(quantity)", "groupBy": ["outcome", "category"], "category": "error"}

    body = await get_json(client, f"{ORG}/stats_v2/", params)

    assert body["groups"]
    path = "/api/0/organizations/{organization_id_or_slug}/stats_v2/"
    assert schema_errors(spec, path, body)[:5] == []


async def test_events_match_published_schema(
    spec: dict[str, Any], client: httpx.AsyncClient
) -> None:
    body = await events(client, FRONTEND_ID)

    path = "/api/0/organizations/{organization_id_or_slug}/events/"
    assert schema_errors(spec, path, body)[:5] == []


async def test_projects_match_published_schema(
    spec: dict[str, Any], client: httpx.AsyncClient
) -> None:
    body = await get_json(client, f"{ORG}/projects/")

    path = "/api/0/organizations/{organization_id_or_slug}/projects/"
    assert schema_errors(spec, path, body)[:5] == []


# --- The real client against the simulator ----------------------------------------------------


def source_for(simulator: FastAPI, http: httpx.AsyncClient, **settings: Any) -> SentrySource:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": True,
        "poller_enabled": False,
        "sentry_org": DEMO_ORG,
        "sentry_base_url": "http://simulator.test",
    }
    values.update(settings)
    return SentrySource(
        http, Settings(**values), CallRecorder(), token="demo-sentry-integration-token"
    )


@pytest.fixture
async def plain_client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as http:
        yield http


async def test_source_reads_issues_of_every_status(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    snapshot = await source_for(simulator, plain_client).fetch_issues("backend")

    assert snapshot.issues
    assert snapshot.truncated is False
    assert all(issue.count is not None for issue in snapshot.issues)
    assert IssueStatus.RESOLVED in {issue.status for issue in snapshot.issues}
    assert all(issue.project_slug == "backend" for issue in snapshot.issues)
    assert simulator.state.simulator.calls["sentry:issues:backend"] == 1


async def test_source_reads_error_stats(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    stats = await source_for(simulator, plain_client).fetch_error_stats("frontend")

    assert len(stats.hourly) == 24
    assert stats.hourly[-1].at == datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert stats.total_24h == sum(point.count for point in stats.hourly)
    assert stats.total_24h > 100


async def test_source_sees_spike_in_last_five_minutes() -> None:
    spike_start, _ = WORLD.spike
    simulator = simulator_at(spike_start + timedelta(minutes=20, seconds=30))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as http:
        stats = await source_for(simulator, http).fetch_error_stats("backend")

    assert stats.last_5m > 50


async def test_source_reads_performance(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    source = source_for(simulator, plain_client)

    frontend = await source.fetch_performance("frontend")
    backend = await source.fetch_performance("backend")

    assert frontend.lcp_p75_ms is not None
    assert 2000 <= frontend.lcp_p75_ms <= 2200
    assert backend.lcp_p75_ms is None
    assert backend.failure_rate is not None
    assert backend.failure_rate < 0.01
    assert backend.transaction_count is not None
    assert backend.transaction_count > 0


async def test_source_weekly_counts_show_spike_day(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    start = WORLD.anchor - timedelta(days=7)

    points = await source_for(simulator, plain_client).fetch_error_counts_window(
        "backend", start, WORLD.anchor
    )

    spike_day = WORLD.spike[0].replace(hour=0, minute=0, second=0)
    busiest = max(points, key=lambda point: point.count)
    assert len(points) == 8
    assert busiest.at == spike_day


async def test_source_weekly_issues_by_frequency(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    spike_start, spike_end = WORLD.spike

    snapshot = await source_for(simulator, plain_client).fetch_issues_window(
        "backend", spike_start, spike_end, "freq"
    )

    counts = [issue.count or 0 for issue in snapshot.issues]
    assert counts == sorted(counts, reverse=True)
    assert snapshot.issues[0].title.startswith("QueryException")


async def test_source_stops_at_page_cap_with_extra_issues() -> None:
    simulator = simulator_at(NOW, DemoWorld.at(NOW, extra_issues=5000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as http:
        source = source_for(simulator, http, sentry_issue_page_cap=3)
        snapshot = await source.fetch_issues("backend")

    assert snapshot.truncated is True
    assert len(snapshot.issues) == 300
    assert simulator.state.simulator.calls["sentry:issues:backend"] == 3


async def test_source_maps_simulator_auth_errors(simulator: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as http:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            demo_mode=True,
            sentry_org=DEMO_ORG,
            sentry_base_url="http://simulator.test",
        )
        rejected = SentrySource(http, settings, CallRecorder(), token="bad")
        org_token = SentrySource(http, settings, CallRecorder(), token="sntrys_ci")

        with pytest.raises(SourceAuthError, match="HTTP 401"):
            await rejected.fetch_issues("backend")
        with pytest.raises(SourceAuthError, match="sntrys_"):
            await org_token.fetch_issues("backend")


async def test_source_unknown_project_is_bad_response(
    simulator: FastAPI, plain_client: httpx.AsyncClient
) -> None:
    with pytest.raises(SourceBadResponse, match="'mobile' not found"):
        await source_for(simulator, plain_client).fetch_issues("mobile")
