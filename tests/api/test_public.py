"""Public endpoints: shape, caching, conditional requests and the leak rules."""

from __future__ import annotations

import json
import re

import pytest

from app.demo.world import default_monitors
from tests.api.conftest import Harness

PUBLIC_PATHS = [
    "/api/v1/status",
    "/api/v2/status.json",
    "/api/v2/summary.json",
    "/api/monitoring/public-status",
]


def _private_strings() -> list[str]:
    """Values that must never appear in a public body: URLs, ids, keywords, Sentry titles."""
    values: list[str] = []
    for monitor in default_monitors():
        values += [monitor.url, str(monitor.id)]
        if monitor.keyword_value:
            values.append(f':"{monitor.keyword_value}"')
    values += ["example.test", "Connection Timeout"]
    return values


async def test_status_lists_configured_components(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/status")

    assert response.status_code == 200
    body = response.json()
    assert [component["name"] for component in body["components"]] == ["Website", "API"]
    assert body["schema_version"] == 1


async def test_status_reports_uptime_windows(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/status")

    component = response.json()["components"][1]
    windows = [figure["window"] for figure in component["uptime"]]
    assert windows == ["24h", "7d", "30d", "90d"]
    assert all(isinstance(figure["percent"], float) for figure in component["uptime"])


async def test_status_reports_freshness_per_source(harness: Harness) -> None:
    body = (await harness.client.get("/api/v1/status")).json()

    sources = {item["source"]: item for item in body["sources"]}
    assert set(sources) == {"uptimerobot", "sentry"}
    assert sources["uptimerobot"]["stale"] is False
    assert body["stale"] is False
    assert body["updated_at"].endswith("Z")


@pytest.mark.parametrize("path", PUBLIC_PATHS)
async def test_public_body_leaks_no_private_detail(harness: Harness, path: str) -> None:
    response = await harness.client.get(path)

    assert response.status_code == 200
    for value in _private_strings():
        assert value not in response.text, f"{value!r} leaked in {path}"


async def test_public_status_leaks_no_sentry_title(harness: Harness) -> None:
    detail = await harness.admin_get("/api/v1/admin/errors", params={"per_page": 100})
    titles = [issue["title"] for issue in detail.json()["issues"]]
    body = (await harness.client.get("/api/v1/status")).text

    assert titles
    for title in titles:
        assert title not in body


@pytest.mark.parametrize("path", PUBLIC_PATHS)
async def test_public_response_is_cacheable_with_etag(harness: Harness, path: str) -> None:
    response = await harness.client.get(path)

    assert response.headers["cache-control"].startswith("public, max-age=")
    assert "stale-while-revalidate=" in response.headers["cache-control"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])


async def test_matching_if_none_match_returns_304_without_body(harness: Harness) -> None:
    first = await harness.client.get("/api/v1/status")

    second = await harness.client.get(
        "/api/v1/status", headers={"If-None-Match": first.headers["etag"]}
    )

    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["etag"] == first.headers["etag"]


async def test_other_etag_returns_full_body(harness: Harness) -> None:
    response = await harness.client.get("/api/v1/status", headers={"If-None-Match": '"other"'})

    assert response.status_code == 200
    assert json.loads(response.content)["components"]


async def test_statuspage_status_uses_statuspage_fields(harness: Harness) -> None:
    body = (await harness.client.get("/api/v2/status.json")).json()

    assert set(body) == {"page", "status"}
    assert set(body["page"]) == {"id", "name", "url", "time_zone", "updated_at"}
    assert body["status"]["indicator"] in {"none", "minor", "major", "critical", "maintenance"}


async def test_statuspage_summary_components_use_statuspage_states(harness: Harness) -> None:
    body = (await harness.client.get("/api/v2/summary.json")).json()

    allowed = {
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    }
    assert body["components"]
    assert {component["status"] for component in body["components"]} <= allowed
    assert body["scheduled_maintenances"] == []
    assert set(body) == {"page", "status", "components", "incidents", "scheduled_maintenances"}


async def test_legacy_public_status_has_front_end_shape(harness: Harness) -> None:
    body = (await harness.client.get("/api/monitoring/public-status")).json()

    assert body["success"] is True
    assert body["overall_status"] in {"operational", "degraded"}
    row = body["monitors"][0]
    assert set(row) >= {"name", "status", "uptime", "response_time"}


async def test_paused_monitor_does_not_degrade_legacy_status(harness: Harness) -> None:
    # The simulator's only paused monitor ("Staging") is outside the component map, and the
    # backend outage is over, so nothing is wrong now.
    body = (await harness.client.get("/api/monitoring/public-status")).json()

    assert body["overall_status"] == "operational"
