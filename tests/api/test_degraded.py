"""Endpoints while an upstream fails: last good data marked stale, or a clear JSON error."""

from __future__ import annotations

import pytest

from app.demo.state import FaultPlan
from tests.api.conftest import Harness
from tests.api.test_admin import ADMIN_GETS
from tests.api.test_public import PUBLIC_PATHS

FAULTS = {
    "server_error": FaultPlan(error_status=500),
    "rate_limited": FaultPlan(rate_limit_retry_after="30"),
    "malformed": FaultPlan(malformed=True),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("path", PUBLIC_PATHS)
async def test_public_endpoint_serves_stale_data_when_uptimerobot_fails(
    harness: Harness, path: str, fault: str
) -> None:
    await harness.client.get("/api/v1/status")
    harness.faults["uptimerobot"] = FAULTS[fault]
    await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    response = await harness.client.get(path)

    assert response.status_code == 200
    if path == "/api/v1/status":
        assert response.json()["stale"] is True


@pytest.mark.parametrize("path", ADMIN_GETS)
async def test_admin_endpoint_answers_while_sentry_is_down(harness: Harness, path: str) -> None:
    harness.faults["sentry"] = FaultPlan(error_status=503)

    response = await harness.admin_get(path)

    assert response.status_code == 200, response.text


async def test_dashboard_names_missing_sources_while_sentry_is_down(harness: Harness) -> None:
    harness.faults["sentry"] = FaultPlan(error_status=503)

    body = (await harness.admin_get("/api/v1/admin/dashboard")).json()

    assert body["stale"] is True
    assert "sentry:issues:backend" in body["missing"]
    assert "uptimerobot:monitors" not in body["missing"]


async def test_status_components_are_unknown_without_monitor_data(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(stat_fail=True)

    body = (await harness.client.get("/api/v1/status")).json()

    assert {component["status"] for component in body["components"]} == {"unknown"}
    assert body["stale"] is True


async def test_cold_start_with_every_upstream_down_is_503(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(error_status=500)
    harness.faults["sentry"] = FaultPlan(error_status=500)

    response = await harness.client.get("/api/v1/status")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "data_unavailable"


async def test_cold_start_503_clears_once_an_upstream_answers(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(error_status=500)
    harness.faults["sentry"] = FaultPlan(error_status=500)
    await harness.client.get("/api/v1/status")
    harness.faults["uptimerobot"] = FaultPlan()
    await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    response = await harness.client.get("/api/v1/status")

    assert response.status_code == 200


async def test_readyz_reports_degraded_while_an_upstream_fails(harness: Harness) -> None:
    harness.faults["sentry"] = FaultPlan(error_status=500)
    await harness.client.get("/api/v1/status")

    response = await harness.client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"


async def test_readyz_recovers_after_upstream_returns(harness: Harness) -> None:
    harness.faults["sentry"] = FaultPlan(error_status=500)
    await harness.client.get("/api/v1/status")
    harness.faults["sentry"] = FaultPlan()
    await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    response = await harness.client.get("/readyz")

    assert response.json()["status"] == "ready"


async def test_readyz_is_503_when_every_fetch_failed(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(error_status=500)
    harness.faults["sentry"] = FaultPlan(error_status=500)
    await harness.client.get("/api/v1/status")

    response = await harness.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
