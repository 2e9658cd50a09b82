"""Admin endpoints: each answers with real simulator data behind a valid admin token."""

from __future__ import annotations

import pytest

from tests.api.conftest import Harness

ADMIN_GETS = [
    "/api/v1/admin/dashboard",
    "/api/v1/admin/monitors",
    "/api/v1/admin/monitors/790000002",
    "/api/v1/admin/errors",
    "/api/v1/admin/errors/stats",
    "/api/v1/admin/performance",
    "/api/v1/admin/sla",
    "/api/v1/admin/incidents",
    "/api/v1/admin/alerts",
    "/api/v1/admin/sources",
    "/api/monitoring/system-status",
    "/api/monitoring/error-stats",
    "/api/monitoring/incidents",
]


@pytest.mark.parametrize("path", ADMIN_GETS)
async def test_admin_endpoint_answers_with_token(harness: Harness, path: str) -> None:
    response = await harness.admin_get(path)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("path", ADMIN_GETS)
async def test_admin_endpoint_refuses_missing_token(harness: Harness, path: str) -> None:
    response = await harness.client.get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()) == {"detail", "code"}


async def test_admin_endpoint_refuses_token_without_role(harness: Harness) -> None:
    from app.auth import mint_token

    token = mint_token(harness.settings, role="viewer", ttl="1h")
    response = await harness.client.get(
        "/api/v1/admin/dashboard", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_dashboard_carries_freshness_and_schema_version(harness: Harness) -> None:
    body = (await harness.admin_get("/api/v1/admin/dashboard")).json()

    assert body["schema_version"] == 1
    assert body["stale"] is False
    assert body["missing"] == []
    assert {item["source"] for item in body["sources"]} == {"uptimerobot", "sentry"}
    assert body["light"]["color"] in {"green", "yellow", "red"}


async def test_monitor_detail_includes_logs_and_url(harness: Harness) -> None:
    body = (await harness.admin_get("/api/v1/admin/monitors/790000002")).json()

    assert body["monitor"]["name"] == "Backend API"
    assert body["url"] == "https://api.example.test/health"
    assert [log["type"] for log in body["logs"][:2]] == ["up", "down"]
    assert body["incidents"]


async def test_unknown_monitor_is_404(harness: Harness) -> None:
    response = await harness.admin_get("/api/v1/admin/monitors/12345")

    assert response.status_code == 404
    assert response.json() == {"detail": "No monitor with id 12345.", "code": "not_found"}


async def test_non_numeric_monitor_id_is_422(harness: Harness) -> None:
    response = await harness.admin_get("/api/v1/admin/monitors/abc")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"
    assert "monitor_id" in response.json()["detail"]


async def test_errors_are_paginated(harness: Harness) -> None:
    first = (await harness.admin_get("/api/v1/admin/errors", params={"per_page": 5})).json()
    second = (
        await harness.admin_get("/api/v1/admin/errors", params={"per_page": 5, "page": 2})
    ).json()

    assert len(first["issues"]) == 5
    assert first["total"] > 5
    assert first["pages"] == -(-first["total"] // 5)
    assert {issue["id"] for issue in first["issues"]}.isdisjoint(
        {issue["id"] for issue in second["issues"]}
    )


async def test_errors_filter_by_project(harness: Harness) -> None:
    body = (await harness.admin_get("/api/v1/admin/errors", params={"project": "frontend"})).json()

    assert body["issues"]
    assert {issue["project_slug"] for issue in body["issues"]} == {"frontend"}


async def test_errors_filter_by_level(harness: Harness) -> None:
    body = (
        await harness.admin_get(
            "/api/v1/admin/errors", params={"level": "warning", "per_page": 100}
        )
    ).json()

    assert {issue["level"] for issue in body["issues"]} <= {"warning"}


async def test_errors_unknown_project_is_422(harness: Harness) -> None:
    response = await harness.admin_get("/api/v1/admin/errors", params={"project": "nope"})

    assert response.status_code == 422
    assert "nope" in response.json()["detail"]


async def test_errors_per_page_over_limit_is_422(harness: Harness) -> None:
    response = await harness.admin_get("/api/v1/admin/errors", params={"per_page": 1000})

    assert response.status_code == 422
    assert "per_page" in response.json()["detail"]


async def test_errors_invalid_level_is_422(harness: Harness) -> None:
    response = await harness.admin_get("/api/v1/admin/errors", params={"level": "loud"})

    assert response.status_code == 422
    assert "level" in response.json()["detail"]


async def test_legacy_incidents_come_from_monitor_logs(harness: Harness) -> None:
    body = (await harness.admin_get("/api/monitoring/incidents")).json()

    incident = body["incidents"][0]
    assert incident["status"] == "resolved"
    assert incident["duration_minutes"] == 38
    assert incident["severity"] in {"low", "medium", "high", "critical"}


async def test_legacy_error_stats_count_24h_errors(harness: Harness) -> None:
    body = (await harness.admin_get("/api/monitoring/error-stats")).json()
    stats = (await harness.admin_get("/api/v1/admin/errors/stats")).json()

    totals = {item["project"]: item["total_24h"] for item in stats["projects"]}
    assert body["backend_errors_24h"] == totals["backend"]
    assert body["frontend_errors_24h"] == totals["frontend"]


async def test_refresh_refetches_every_key(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")
    before = harness.calls["uptimerobot:getMonitors"]

    response = await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    assert response.status_code == 200
    assert harness.calls["uptimerobot:getMonitors"] == before + 1
    assert len(response.json()["refreshed"]) == 7


async def test_sources_report_call_health(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")

    body = (await harness.admin_get("/api/v1/admin/sources")).json()

    upstreams = {item["source"]: item for item in body["upstreams"]}
    assert upstreams["uptimerobot"]["calls"] >= 1
    assert upstreams["uptimerobot"]["last_status"] == 200
    assert upstreams["sentry"]["failures"] == 0
