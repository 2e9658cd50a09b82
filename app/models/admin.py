"""Response models of the admin endpoints (super admins only: private detail is allowed here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.models.api import SCHEMA_VERSION, SourceFreshness
from app.models.snapshot import Freshness
from app.models.status import (
    ALERT_EXAMPLE,
    BANNER_EXAMPLE,
    COMPONENT_STATUS_EXAMPLE,
    ERROR_RATE_EXAMPLE,
    INCIDENT_EXAMPLE,
    MONITOR_SUMMARY_EXAMPLE,
    MTTR_EXAMPLE,
    OVERALL_STATUS_EXAMPLE,
    SLA_REPORT_EXAMPLE,
    TRAFFIC_LIGHT_EXAMPLE,
    UPTIME_24H_EXAMPLE,
    UPTIME_MTD_EXAMPLE,
    Alert,
    Banner,
    ComponentStatus,
    ErrorRate,
    Incident,
    MonitorSummary,
    MttrReport,
    OverallStatus,
    SlaReport,
    TrafficLight,
)
from app.models.upstream import (
    CountPoint,
    MaintenanceWindow,
    MonitorLog,
    MonitorType,
    PerformanceStats,
    RateLimitHeadroom,
    ResponseTimePoint,
    SentryIssue,
    SslInfo,
)

# --- Examples ----------------------------------------------------------------------------------
# FastAPI drops null values from examples in /openapi.json, so these give every required
# nullable field a value.

_FRESHNESS_EXAMPLE: dict[str, Any] = {
    "key": "uptimerobot:monitors",
    "available": True,
    "stale": False,
    "fetched_at": "2026-12-04T16:00:00Z",
    "age_s": 0.1,
    "last_error": None,
    "last_error_at": None,
    "next_refresh_at": "2026-12-04T16:01:00Z",
}
_PROJECT_ERRORS_EXAMPLE: dict[str, Any] = {
    "project": "backend",
    "total_24h": 163,
    "last_5m": 1,
    "threshold_5m": 50,
    "alert_firing": False,
    "hourly": [{"at": "2026-12-04T15:00:00Z", "count": 9}],
}
_PERFORMANCE_EXAMPLES: list[dict[str, Any]] = [
    {
        "project": "backend",
        "transaction_count": 28800,
        "failure_rate": 0.004,
        "avg_duration_ms": 210.0,
        "p95_duration_ms": 430.0,
        "lcp_p75_ms": None,
    },
    {
        "project": "frontend",
        "transaction_count": 43200,
        "failure_rate": 0.002,
        "avg_duration_ms": 820.0,
        "p95_duration_ms": 2400.0,
        "lcp_p75_ms": 2100.0,
    },
]
_SENTRY_ISSUE_EXAMPLE: dict[str, Any] = {
    "id": "4600000017",
    "short_id": "BACKEND-H",
    "title": "QueryException: SQLSTATE[HY000] [2002] Connection refused",
    "culprit": "DatabaseManager.php in handle",
    "permalink": "https://example.sentry.io/issues/4600000017/",
    "level": "error",
    "status": "unresolved",
    "substatus": "ongoing",
    "priority": "high",
    "project_slug": "backend",
    "project_id": "4501001",
    "count": 85,
    "user_count": 49,
    "first_seen": "2026-11-07T07:41:23Z",
    "last_seen": "2026-12-04T15:02:47Z",
    "is_unhandled": True,
}
_DATABASE_MONITOR_EXAMPLE: dict[str, Any] = {
    **MONITOR_SUMMARY_EXAMPLE,
    "id": 790000003,
    "name": "Database health",
    "state": "operational",
    "reason": "up",
    "is_critical": True,
    "average_response_time_ms": 309.7,
    "uptime": [UPTIME_24H_EXAMPLE, UPTIME_MTD_EXAMPLE],
}


def _admin_example(**fields: Any) -> dict[str, Any]:
    """Wrap the fields of one admin body in the envelope every admin body starts with."""
    envelope = {
        "schema_version": 1,
        "generated_at": "2026-12-04T16:00:00Z",
        "stale": False,
        "sources": [
            {
                "source": "uptimerobot",
                "fetched_at": "2026-12-04T16:00:00Z",
                "stale": False,
                "next_refresh_at": "2026-12-04T16:01:00Z",
            },
            {
                "source": "sentry",
                "fetched_at": "2026-12-04T15:59:30Z",
                "stale": False,
                "next_refresh_at": "2026-12-04T16:00:30Z",
            },
        ],
        "missing": [],
    }
    return {"example": {**envelope, **fields}}


class AdminBody(BaseModel):
    """Fields every admin body carries: its version and how fresh its data is."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this shape.")
    generated_at: datetime = Field(description="When this body was computed.")
    stale: bool = Field(description="Whether any data behind this body is stale or missing.")
    sources: list[SourceFreshness] = Field(description="Freshness per upstream.")
    missing: list[str] = Field(
        default_factory=list, description="Snapshot keys with no usable data right now."
    )


class ProjectErrors(BaseModel):
    """Error counts of one Sentry project against its 5-minute alert threshold."""

    project: str = Field(description="Sentry project slug.")
    total_24h: int = Field(description="Accepted error events over the last 24 h.")
    last_5m: int = Field(description="Accepted error events over the last 5 minutes.")
    threshold_5m: int | None = Field(description="Alert threshold for 5 minutes, if any.")
    alert_firing: bool = Field(description="Whether the 5-minute error alert fires.")
    hourly: list[CountPoint] = Field(description="Hourly counts over the last 24 h.")


class AdminDashboard(AdminBody):
    """Everything the monitoring page needs in one call."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(
            overall=OVERALL_STATUS_EXAMPLE,
            light=TRAFFIC_LIGHT_EXAMPLE,
            banner=BANNER_EXAMPLE,
            components=[COMPONENT_STATUS_EXAMPLE],
            monitors=[MONITOR_SUMMARY_EXAMPLE],
            open_incidents=[],
            recent_incidents=[INCIDENT_EXAMPLE],
            mttr=MTTR_EXAMPLE,
            firing_alerts=[ALERT_EXAMPLE],
            error_rates=[ERROR_RATE_EXAMPLE],
            errors=[_PROJECT_ERRORS_EXAMPLE],
            performance=_PERFORMANCE_EXAMPLES,
            sla=SLA_REPORT_EXAMPLE,
        )
    )

    overall: OverallStatus = Field(description="Overall indicator, description and worst state.")
    light: TrafficLight = Field(description="Traffic light with every reason for its color.")
    banner: Banner | None = Field(description="Banner while a component has a problem, else null.")
    components: list[ComponentStatus] = Field(
        description="Public components in configured order, with the parts behind each state."
    )
    monitors: list[MonitorSummary] = Field(description="Every monitor of the account.")
    open_incidents: list[Incident] = Field(description="Incidents still open, newest first.")
    recent_incidents: list[Incident] = Field(description="The latest incidents, newest first.")
    mttr: MttrReport = Field(description="Mean time to recovery this calendar month.")
    firing_alerts: list[Alert] = Field(description="Alerts firing now.")
    error_rates: list[ErrorRate] = Field(
        description="Share of failed requests per Sentry project over the last 24 h."
    )
    errors: list[ProjectErrors] = Field(description="Error counts per Sentry project.")
    performance: list[PerformanceStats] = Field(
        description="Transaction performance per Sentry project over the last 24 h."
    )
    sla: SlaReport = Field(description="SLA targets with their budgets.")


class MonitorList(AdminBody):
    """Every monitor with its status, derived state and uptime."""

    model_config = ConfigDict(json_schema_extra=_admin_example(monitors=[MONITOR_SUMMARY_EXAMPLE]))

    monitors: list[MonitorSummary] = Field(description="Every monitor of the account.")


class MonitorDetail(AdminBody):
    """One monitor with its configuration, logs, response times and certificate."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(
            monitor=_DATABASE_MONITOR_EXAMPLE,
            url="https://api.example.com/health/database",
            type="keyword",
            interval_s=300,
            keyword_value="success",
            logs=[
                {
                    "id": 90000018,
                    "type": "up",
                    "at": "2026-12-02T11:50:00Z",
                    "duration_s": 187800,
                    "reason_code": "200",
                    "reason_detail": "OK",
                },
                {
                    "id": 90000017,
                    "type": "down",
                    "at": "2026-12-02T11:12:00Z",
                    "duration_s": 2280,
                    "reason_code": "503",
                    "reason_detail": "Service Unavailable",
                },
            ],
            response_times=[{"at": "2026-12-04T15:30:00Z", "value_ms": 298.0}],
            ssl={"brand": "Let's Encrypt", "product": None, "expires_at": "2027-02-17T16:00:00Z"},
            maintenance_windows=[
                {
                    "id": 41,
                    "kind": "weekly",
                    "name": "Database backups",
                    "start_time": "03:00",
                    "duration_minutes": 30,
                    "value": "7",
                    "active": False,
                }
            ],
            incidents=[INCIDENT_EXAMPLE],
        )
    )

    monitor: MonitorSummary = Field(description="Status, derived state and uptime.")
    url: str | None = Field(description="The checked URL or host.")
    type: MonitorType = Field(description="Monitor type.")
    interval_s: int | None = Field(description="Check interval in seconds.")
    keyword_value: str | None = Field(description="The keyword a keyword monitor looks for.")
    logs: list[MonitorLog] = Field(description="State changes, newest first.")
    response_times: list[ResponseTimePoint] = Field(description="Response times, newest first.")
    ssl: SslInfo | None = Field(description="TLS certificate facts, when UptimeRobot has them.")
    maintenance_windows: list[MaintenanceWindow] = Field(
        description="Maintenance windows attached to the monitor."
    )
    incidents: list[Incident] = Field(description="Incidents this monitor took part in.")


class ErrorPage(AdminBody):
    """One page of Sentry issues after filtering, newest last-seen first."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(
            issues=[_SENTRY_ISSUE_EXAMPLE],
            page=1,
            per_page=25,
            total=30,
            pages=2,
            truncated_projects=[],
        )
    )

    issues: list[SentryIssue] = Field(description="The issues of this page.")
    page: int = Field(description="Page number, from 1.")
    per_page: int = Field(description="Issues per page.")
    total: int = Field(description="Issues matching the filters across all pages.")
    pages: int = Field(description="Number of pages, at least 1.")
    truncated_projects: list[str] = Field(
        description="Projects with more issues upstream than Lookout fetched."
    )


class ErrorStatsBody(AdminBody):
    """Error counts per Sentry project."""

    model_config = ConfigDict(json_schema_extra=_admin_example(projects=[_PROJECT_ERRORS_EXAMPLE]))

    projects: list[ProjectErrors] = Field(
        description="Per project: errors over 24 h and 5 minutes against the alert threshold."
    )


class PerformanceBody(AdminBody):
    """Transaction performance and error rate per Sentry project."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(
            projects=_PERFORMANCE_EXAMPLES, error_rates=[ERROR_RATE_EXAMPLE]
        )
    )

    projects: list[PerformanceStats] = Field(
        description="Per project: transactions, failure rate and durations over the last 24 h."
    )
    error_rates: list[ErrorRate] = Field(
        description="Share of failed requests per project over the last 24 h."
    )


class SlaBody(AdminBody):
    """The SLA targets with their budgets."""

    model_config = ConfigDict(json_schema_extra=_admin_example(sla=SLA_REPORT_EXAMPLE))

    sla: SlaReport = Field(description="Every target and the sum behind the uptime target.")


class IncidentsBody(AdminBody):
    """Incidents of a window, with the month's mean time to recovery."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(incidents=[INCIDENT_EXAMPLE], mttr=MTTR_EXAMPLE)
    )

    incidents: list[Incident] = Field(description="Newest first.")
    mttr: MttrReport = Field(
        description="Mean time to recovery this calendar month, whatever `days` is."
    )


_RESPONSE_TIME_ALERT_EXAMPLE: dict[str, Any] = {
    "rule_id": "response_time:790000002",
    "rule": "response_time",
    "subject": "Backend API",
    "description": "Average response time of Backend API over 5000 ms",
    "priority": "P1",
    "firing": False,
    "since": None,
    "value": 612.4,
    "threshold": 5000.0,
    "unit": "ms",
    "has_data": True,
}


class AlertsBody(AdminBody):
    """Every alert rule with its subject, and how many fire."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(
            alerts=[ALERT_EXAMPLE, _RESPONSE_TIME_ALERT_EXAMPLE], firing=1
        )
    )

    alerts: list[Alert] = Field(description="Every rule and subject, firing or not.")
    firing: int = Field(description="Number of alerts firing now.")


_UPSTREAM_HEALTH_EXAMPLE: dict[str, Any] = {
    "source": "sentry",
    "calls": 42,
    "failures": 1,
    "last_call_at": "2026-12-04T16:00:00Z",
    "last_success_at": "2026-12-04T15:59:30Z",
    "last_error_at": "2026-12-04T16:00:00Z",
    "last_error_kind": "rate_limited",
    "last_status": 429,
    "last_duration_ms": 184.2,
    "headroom": {
        "limit": 40,
        "remaining": 0,
        "reset_at": "2026-12-04T16:00:30Z",
        "concurrent_limit": 25,
        "concurrent_remaining": 24,
    },
    "blocked_until": "2026-12-04T16:00:30Z",
    "keys": [
        {
            "key": "sentry:stats:backend",
            "available": True,
            "stale": False,
            "fetched_at": "2026-12-04T15:59:30Z",
            "age_s": 30.0,
            "last_error": "rate_limited",
            "last_error_at": "2026-12-04T16:00:00Z",
            "next_refresh_at": "2026-12-04T16:00:30Z",
        }
    ],
}


class UpstreamHealth(BaseModel):
    """One upstream's recent calls, rate-limit headroom and snapshot keys."""

    source: str = Field(description="`uptimerobot` or `sentry`.")
    calls: int = Field(description="Calls this process made to the upstream.")
    failures: int = Field(description="Of those calls, the ones that failed.")
    last_call_at: datetime | None = Field(description="When the last call was made.")
    last_success_at: datetime | None = Field(description="When a call last succeeded.")
    last_error_at: datetime | None = Field(description="When a call last failed.")
    last_error_kind: str | None = Field(
        description="Kind of the last failure: `timeout`, `unavailable`, `rate_limited`, "
        "`auth_failed` or `bad_response`."
    )
    last_status: int | None = Field(description="HTTP status of the last response, if any.")
    last_duration_ms: float | None = Field(description="Duration of the last call in ms.")
    headroom: RateLimitHeadroom = Field(
        description="Rate-limit state from the last response's headers."
    )
    blocked_until: datetime | None = Field(description="No calls before this time (after a 429).")
    keys: list[Freshness] = Field(description="Freshness of each snapshot key of the upstream.")


class SourcesBody(AdminBody):
    """Health of each upstream."""

    model_config = ConfigDict(
        json_schema_extra=_admin_example(upstreams=[_UPSTREAM_HEALTH_EXAMPLE])
    )

    upstreams: list[UpstreamHealth] = Field(
        description="Per upstream: calls, last outcome, rate-limit headroom and key freshness."
    )


class RefreshBody(AdminBody):
    """The outcome of a refresh of every snapshot key."""

    model_config = ConfigDict(json_schema_extra=_admin_example(refreshed=[_FRESHNESS_EXAMPLE]))

    refreshed: list[Freshness] = Field(description="Freshness of each key after the refresh.")
