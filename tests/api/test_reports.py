"""The weekly report endpoints over the simulator: weeks, formats, caching and errors.

The simulator's world is anchored at FROZEN_NOW (Friday 2026-12-04 16:00 UTC), so its outage
(2026-12-02 11:12 to 11:50) falls in 2026-W49, the current and partial week, which spans
November and December. 2026-W48 is the last complete week and has no incident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.demo.state import FaultPlan
from tests.api.conftest import Harness

WEEKLY = "/api/v1/admin/reports/weekly"
FIXTURES = Path(__file__).parent.parent / "fixtures"
REPORT_PATHS = [WEEKLY, f"{WEEKLY}.md", f"{WEEKLY}.html"]


async def weekly_json(harness: Harness, week: str | None = None) -> dict[str, Any]:
    params = {} if week is None else {"week": week}
    response = await harness.admin_get(WEEKLY, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def target(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in body["targets"] if item["name"] == name)


# --- Weeks -------------------------------------------------------------------------------------


async def test_outage_week_reports_incident(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W49")

    assert body["week"]["label"] == "2026-W49"
    assert [incident["title"] for incident in body["incidents"]] == ["API outage"]
    incident = body["incidents"][0]
    assert incident["priority"] == "P0"
    assert incident["components"] == ["API"]
    assert [m["name"] for m in incident["monitors"]] == ["Backend API", "Database health"]
    assert incident["started_at"] == "2026-12-02T11:12:00Z"
    assert incident["duration_s"] == 38 * 60
    assert target(body, "uptime")["met"] is False
    assert target(body, "mttr")["value"] == 38.0


async def test_current_week_is_partial(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W49")

    assert body["partial"] is True
    assert body["as_of"] == "2026-12-04T16:00:00Z"
    assert body["notes"][0].startswith("Partial week")


async def test_week_without_incidents(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W48")

    assert body["partial"] is False
    assert body["incidents"] == []
    assert target(body, "uptime")["value"] == 100.0
    assert target(body, "uptime")["met"] is True
    assert not [alert for alert in body["alerts"] if alert["rule"] == "monitor_down"]


async def test_default_week_is_last_complete_week(harness: Harness) -> None:
    body = await weekly_json(harness)

    assert body["week"]["label"] == "2026-W48"
    assert body["previous_week"]["label"] == "2026-W47"


async def test_week_across_month_end_keeps_budgets_per_month(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W49")

    november, december = body["budgets"]
    assert body["budget_month"] == "2026-12"
    assert november["month"] == "2026-11"
    assert november["budget_total_min"] == 43.2
    assert november["budget_used_min"] == 0.0
    assert november["month_complete"] is True
    assert december["month"] == "2026-12"
    assert december["is_report_month"] is True
    assert december["budget_total_min"] == 44.64
    assert december["budget_used_min"] == 38.0


async def test_previous_week_in_one_month_has_one_budget(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W48")

    assert [budget["month"] for budget in body["budgets"]] == ["2026-11"]
    assert body["budgets"][0]["budget_used_min"] == 0.0


async def test_outage_week_lists_sentry_sections(harness: Harness) -> None:
    body = await weekly_json(harness, "2026-W49")

    assert body["top_issues_by_events"][0]["short_id"] == "BACKEND-1"
    assert "BACKEND-1" in {issue["short_id"] for issue in body["new_issues"]}
    assert all(issue["substatus"] == "regressed" for issue in body["regressed_issues"])
    spikes = [alert for alert in body["alerts"] if alert["rule"] == "error_spike"]
    assert [(alert["subject"], alert["at"]) for alert in spikes] == [
        ("backend", "2026-12-02T00:00:00Z")
    ]
    assert [row["monitor"] for row in body["certificates"]] == ["Frontend", "SSL expiry"]


# --- Invalid weeks -----------------------------------------------------------------------------


async def test_future_week_is_422(harness: Harness) -> None:
    response = await harness.admin_get(WEEKLY, params={"week": "2026-W50"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"
    assert "has not started yet" in response.json()["detail"]
    assert "YYYY-Www" in response.json()["detail"]


@pytest.mark.parametrize("week", ["2026-W60", "2026-49", "abc", "2026-W49" + "x" * 200])
async def test_malformed_week_is_422(harness: Harness, week: str) -> None:
    response = await harness.admin_get(WEEKLY, params={"week": week})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"
    assert "YYYY-Www" in response.json()["detail"]
    assert len(response.json()["detail"]) < 150


async def test_week_older_than_retention_is_422(harness: Harness) -> None:
    response = await harness.admin_get(WEEKLY, params={"week": "2026-W30"})

    assert response.status_code == 422
    assert "older than the 90 days" in response.json()["detail"]


async def test_invalid_week_calls_no_upstream(harness: Harness) -> None:
    before = dict(harness.calls)

    await harness.admin_get(WEEKLY, params={"week": "2026-W60"})

    assert dict(harness.calls) == before


# --- Caching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("week", ["2026-W48", "2026-W49"])
async def test_second_report_makes_no_upstream_calls(harness: Harness, week: str) -> None:
    await weekly_json(harness, week)
    after_first = dict(harness.calls)

    await weekly_json(harness, week)
    await harness.admin_get(f"{WEEKLY}.md", params={"week": week})

    assert after_first["uptimerobot:getMonitors"] >= 4
    assert dict(harness.calls) == after_first


async def test_report_keys_registered_per_week(harness: Harness) -> None:
    await weekly_json(harness, "2026-W49")

    keys = set(harness.app.state.runtime.store.keys())
    assert {
        "report:uptimerobot:2026-W49",
        "report:uptimerobot:2026-W48",
        "report:uptimerobot:2026-11:to:2026-W49",
        "report:uptimerobot:2026-12:to:2026-W49",
        "report:sentry:issues:backend:2026-W49",
        "report:sentry:errors:frontend:2026-W48",
        "report:sentry:performance:backend:2026-W49",
    } <= keys


async def test_report_key_ttls_by_week_state(harness: Harness) -> None:
    await weekly_json(harness, "2026-W49")

    store = harness.app.state.runtime.store
    assert store.registration("report:uptimerobot:2026-W48").ttl_s == 7 * 86_400
    assert store.registration("report:uptimerobot:2026-11:to:2026-W49").ttl_s == 7 * 86_400
    assert store.registration("report:uptimerobot:2026-W49").ttl_s == 300


async def test_status_refresh_skips_report_keys(harness: Harness) -> None:
    await weekly_json(harness, "2026-W49")
    before = harness.calls["uptimerobot:getMonitors"]

    response = await harness.client.post("/api/v1/admin/refresh", headers=harness.admin_headers)

    assert response.status_code == 200
    assert harness.calls["uptimerobot:getMonitors"] == before + 1
    assert not [key for key in response.json()["refreshed"] if key["key"].startswith("report:")]


async def test_failed_report_keys_leave_public_status_fresh(harness: Harness) -> None:
    assert (await harness.client.get("/api/v1/status")).json()["stale"] is False
    harness.faults["uptimerobot"].error_status = 500
    await weekly_json(harness, "2026-W48")
    calls = dict(harness.calls)

    body = (await harness.client.get("/api/v1/status")).json()

    assert body["stale"] is False
    assert dict(harness.calls) == calls


# --- Upstream trouble --------------------------------------------------------------------------


async def test_uptimerobot_failure_leaves_sentry_sections(harness: Harness) -> None:
    harness.faults["uptimerobot"].error_status = 500

    body = await weekly_json(harness, "2026-W48")

    assert body["stale"] is True
    assert body["incidents"] == []
    assert target(body, "uptime")["value"] is None
    assert target(body, "error_rate")["value"] == 0.4
    assert any(note.startswith("No data for report:uptimerobot:2026-W48") for note in body["notes"])


async def test_every_upstream_failing_is_503(harness: Harness) -> None:
    harness.faults["uptimerobot"].error_status = 500
    harness.faults["sentry"].error_status = 500

    response = await harness.admin_get(WEEKLY, params={"week": "2026-W48"})

    assert response.status_code == 503
    assert response.json()["code"] == "data_unavailable"
    assert response.headers["retry-after"] == "30"


# --- Formats and access ------------------------------------------------------------------------


async def test_markdown_matches_fixture(harness: Harness) -> None:
    response = await harness.admin_get(f"{WEEKLY}.md", params={"week": "2026-W49"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.text == (FIXTURES / "report_2026-W49.md").read_text(encoding="utf-8")


async def test_accept_markdown_returns_markdown(harness: Harness) -> None:
    headers = {**harness.admin_headers, "Accept": "text/markdown"}

    response = await harness.client.get(WEEKLY, params={"week": "2026-W49"}, headers=headers)

    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "Accept" in response.headers["vary"].split(", ")
    assert response.text == (FIXTURES / "report_2026-W49.md").read_text(encoding="utf-8")


async def test_accept_preferring_json_returns_json(harness: Harness) -> None:
    headers = {**harness.admin_headers, "Accept": "text/markdown;q=0.5, application/json"}

    response = await harness.client.get(WEEKLY, params={"week": "2026-W49"}, headers=headers)

    assert response.headers["content-type"] == "application/json"


async def test_html_is_self_contained_page(harness: Harness) -> None:
    response = await harness.admin_get(f"{WEEKLY}.html", params={"week": "2026-W49"})

    page = response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    assert page.count("<svg") == 2
    assert "<polyline" in page
    assert "<rect" in page
    assert "<script" not in page
    assert "<link" not in page
    assert " src=" not in page


@pytest.mark.parametrize("path", REPORT_PATHS)
async def test_report_is_private_and_never_stored(harness: Harness, path: str) -> None:
    response = await harness.admin_get(path, params={"week": "2026-W48"})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("path", REPORT_PATHS)
async def test_report_requires_admin_token(harness: Harness, path: str) -> None:
    response = await harness.client.get(path, params={"week": "2026-W48"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_openapi_documents_markdown_response(harness: Harness) -> None:
    spec = (await harness.client.get("/openapi.json")).json()

    content = spec["paths"][WEEKLY]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/markdown"} <= set(content)
    assert "422" in spec["paths"][WEEKLY]["get"]["responses"]


async def test_report_keys_leave_readiness_alone(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")
    harness.faults["sentry"] = FaultPlan(error_status=500)
    await harness.admin_get("/api/v1/admin/reports/weekly", params={"week": "2026-W47"})
    harness.faults["sentry"] = FaultPlan()

    body = (await harness.client.get("/readyz")).json()

    assert body["status"] == "ready"
    assert all(not item["key"].startswith("report:") for item in body["sources"])
