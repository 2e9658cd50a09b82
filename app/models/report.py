"""The weekly monitoring report: its inputs (fetched for one ISO week) and its output shape.

``ReportData`` is what ``app.reports`` gathers through the sources and the snapshot store, and
``WeeklyReport`` is what ``app.services.report`` builds from it. The report is for super admins,
so it may name monitors, projects and Sentry issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.models.snapshot import Freshness
from app.models.status import (
    INCIDENT_EXAMPLE,
    ErrorRate,
    Incident,
    MttrReport,
    Priority,
    SlaTargetName,
)
from app.models.upstream import (
    CountPoint,
    IssuesSnapshot,
    MonitorsSnapshot,
    PerformanceStats,
    SentryIssue,
)

REPORT_SCHEMA_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReportWeek(_Frozen):
    """An ISO 8601 week in UTC: from Monday 00:00 to the next Monday 00:00."""

    label: str = Field(description="ISO week in the form `YYYY-Www`.", examples=["2026-W49"])
    start: AwareDatetime = Field(description="Monday 00:00 UTC, inclusive.")
    end: AwareDatetime = Field(description="The next Monday 00:00 UTC, exclusive.")

    def previous(self) -> ReportWeek:
        """Return the week before this one."""
        start = self.start - timedelta(days=7)
        year, week, _ = start.isocalendar()
        return ReportWeek(label=f"{year:04d}-W{week:02d}", start=start, end=self.start)


# --- Inputs ------------------------------------------------------------------------------------


class IssueListings(_Frozen):
    """One project's issues seen in a week, listed three ways by Sentry."""

    project: str
    by_events: IssuesSnapshot
    by_users: IssuesSnapshot
    newest: IssuesSnapshot


@dataclass(frozen=True)
class ReportData:
    """Everything fetched for one report; a source that could not be read is absent.

    ``month_monitors`` maps each month the week touches (``YYYY-MM``) to the monitors over
    that month's part up to the end of the week, or ``None`` when it is unavailable.
    ``current_monitors`` is the regular snapshot, which carries the maintenance windows and
    the newest logs.
    """

    week: ReportWeek
    now: datetime
    monitors: MonitorsSnapshot | None = None
    previous_monitors: MonitorsSnapshot | None = None
    month_monitors: dict[str, MonitorsSnapshot | None] = field(default_factory=dict)
    current_monitors: MonitorsSnapshot | None = None
    issues: dict[str, IssueListings] = field(default_factory=dict)
    error_counts: dict[str, list[CountPoint]] = field(default_factory=dict)
    previous_error_counts: dict[str, list[CountPoint]] = field(default_factory=dict)
    performance: dict[str, PerformanceStats] = field(default_factory=dict)
    previous_performance: dict[str, PerformanceStats] = field(default_factory=dict)
    freshness: list[Freshness] = field(default_factory=list)


# --- Output ------------------------------------------------------------------------------------


class ReportTarget(_Frozen):
    """One target over the week, its verdict and the change from the previous week."""

    name: SlaTargetName = Field(description="`uptime`, `error_rate`, `response_time` or `mttr`.")
    description: str = Field(description="The target in a sentence.")
    target: float = Field(description="The target value, in `unit`.")
    unit: str = Field(description="`percent`, `ms` or `min`.")
    value: float | None = Field(description="The week's measured value; `None` without data.")
    met: bool | None = Field(description="`None` when nothing could be measured.")
    previous_value: float | None = Field(description="The previous week's value.")
    change: float | None = Field(
        description="`value` minus `previous_value` in `unit` (percentage points for percents)."
    )
    method: str = Field(description="How `value` was measured.")
    reason: str | None = Field(default=None, description="Why `value` is `None`.")


class MonthBudget(_Frozen):
    """The downtime budget of one calendar month, measured from its start to the report's end.

    The budget is (100 % - the uptime target) of the whole month, so a 31-day month at
    99.9 % allows 44.64 min. Only downtime inside the month counts against it.
    """

    month: str = Field(description="Calendar month, `YYYY-MM`.", examples=["2026-12"])
    is_report_month: bool = Field(
        description="Whether this is the month that contains the last day of the report."
    )
    window_start: AwareDatetime = Field(description="The first instant of the month.")
    window_end: AwareDatetime = Field(description="The month's end or the report's end.")
    month_complete: bool = Field(description="Whether the window reaches the month's end.")
    target_percent: float = Field(description="The uptime target the budget comes from.")
    budget_total_min: float = Field(description="Downtime the target allows in the month.")
    budget_used_min: float | None = Field(description="Downtime inside the window.")
    budget_remaining_min: float | None = Field(description="Negative once overspent.")
    budget_used_percent: float | None = Field(description="Share of the budget used.")
    uptime_percent: float | None = Field(description="Uptime over the window.")
    reason: str | None = Field(default=None, description="Why the figures are `None`.")


class DailyResponseTime(_Frozen):
    day: date = Field(description="UTC day.")
    average_ms: float | None = Field(description="`None` when no check ran that day.")


class MonitorTrend(_Frozen):
    """One monitor over the week: uptime, average response time and its daily averages."""

    id: int = Field(description="UptimeRobot monitor id.")
    name: str = Field(description="The monitor's friendly name.")
    components: list[str] = Field(description="Public components the monitor belongs to.")
    uptime_percent: float | None = Field(description="From the monitor's logs.")
    uptimerobot_percent: float | None = Field(
        description="UptimeRobot's own ratio for the week, as a cross-check."
    )
    average_response_time_ms: float | None = Field(description="Average over the week.")
    previous_average_response_time_ms: float | None = Field(
        description="Average over the previous week."
    )
    daily: list[DailyResponseTime] = Field(description="One entry per day of the week.")


class DailyCount(_Frozen):
    day: date = Field(description="UTC day.")
    count: int | None = Field(description="`None` for a day without data.")


class ProjectWeekErrors(_Frozen):
    """One Sentry project over the week: error events per day, totals and the error rate."""

    project: str = Field(description="Sentry project slug.")
    total: int | None = Field(description="Accepted error events in the week.")
    previous_total: int | None = Field(description="Accepted error events the week before.")
    daily: list[DailyCount] = Field(description="One entry per day of the week.")
    error_rate: ErrorRate | None = Field(description="Share of failed requests in the week.")
    previous_error_rate_percent: float | None = Field(description="The week before's rate.")
    transactions: int | None = Field(default=None, description="Transactions in the week.")
    lcp_p75_ms: float | None = Field(default=None, description="LCP p75 over the week.")


class CertificateExpiry(_Frozen):
    """A TLS certificate that expires within the alert window after the report's end."""

    monitor_id: int = Field(description="UptimeRobot monitor id.")
    monitor: str = Field(description="The monitor's friendly name.")
    brand: str | None = Field(default=None, description="Certificate issuer, if reported.")
    expires_at: AwareDatetime = Field(description="When the certificate expires.")
    days_left: float = Field(description="Days from the report's end; negative once expired.")


class ReportAlertRule(StrEnum):
    """Alert rules the report can derive from a week's data."""

    MONITOR_DOWN = "monitor_down"
    ERROR_SPIKE = "error_spike"
    ERROR_RATE = "error_rate"
    LCP_P75 = "lcp_p75"
    RESPONSE_TIME = "response_time"
    SSL_EXPIRY = "ssl_expiry"


class FiredAlert(_Frozen):
    """An alert that fired during the week, as far as the week's data shows."""

    rule: ReportAlertRule = Field(description="The rule that fired.")
    subject: str = Field(description="Monitor name or Sentry project.")
    description: str = Field(description="What happened, in a sentence.")
    priority: Priority = Field(description="Priority of the alert.")
    at: AwareDatetime = Field(description="When it fired, or the start of the day or week.")
    value: float | None = Field(default=None, description="The measured value, in `unit`.")
    threshold: float | None = Field(default=None, description="The rule's limit, in `unit`.")
    unit: str = Field(
        description="Unit of `value` and `threshold`, e.g. `min down`, `errors a day` or `days`."
    )


# FastAPI drops null values from examples in /openapi.json, so the example gives every required
# nullable field a value.
_ISSUE_EXAMPLE: dict[str, Any] = {
    "id": "4610000017",
    "short_id": "FRONTEND-H",
    "title": "AxiosError: Request failed with status code 502",
    "culprit": "lib/api.ts in handle",
    "permalink": "https://example.sentry.io/issues/4610000017/",
    "level": "error",
    "status": "unresolved",
    "substatus": "new",
    "priority": "high",
    "project_slug": "frontend",
    "project_id": "4501002",
    "count": 585,
    "user_count": 577,
    "first_seen": "2026-11-11T13:42:34Z",
    "last_seen": "2026-12-04T08:45:15Z",
    "is_unhandled": False,
}
_WEEKLY_REPORT_EXAMPLE: dict[str, Any] = {
    "schema_version": 1,
    "title": "Weekly monitoring report 2026-W49",
    "week": {"label": "2026-W49", "start": "2026-11-30T00:00:00Z", "end": "2026-12-07T00:00:00Z"},
    "previous_week": {
        "label": "2026-W48",
        "start": "2026-11-23T00:00:00Z",
        "end": "2026-11-30T00:00:00Z",
    },
    "generated_at": "2026-12-04T16:00:00Z",
    "as_of": "2026-12-04T16:00:00Z",
    "partial": True,
    "stale": False,
    "notes": [
        "Partial week: the data runs to 2026-12-04 16:00 UTC and the week ends 2026-12-07 "
        "00:00 UTC. Changes compare it with the whole previous week."
    ],
    "targets": [
        {
            "name": "uptime",
            "description": "Uptime of at least 99.9 %",
            "target": 99.9,
            "unit": "percent",
            "value": 99.435,
            "met": False,
            "previous_value": 100.0,
            "change": -0.565,
            "method": (
                "monitor logs: time any public monitor was down, counted once, over measured time"
            ),
            "reason": None,
        },
        {
            "name": "error_rate",
            "description": "Error rate below 1 % of requests",
            "target": 1.0,
            "unit": "percent",
            "value": 0.918,
            "met": True,
            "previous_value": 0.4,
            "change": 0.518,
            "method": "Sentry: the worst project (backend, failure_rate) over the week",
            "reason": None,
        },
    ],
    "budget_month": "2026-12",
    "budgets": [
        {
            "month": "2026-11",
            "is_report_month": False,
            "window_start": "2026-11-01T00:00:00Z",
            "window_end": "2026-12-01T00:00:00Z",
            "month_complete": True,
            "target_percent": 99.9,
            "budget_total_min": 43.2,
            "budget_used_min": 0.0,
            "budget_remaining_min": 43.2,
            "budget_used_percent": 0.0,
            "uptime_percent": 100.0,
            "reason": None,
        },
        {
            "month": "2026-12",
            "is_report_month": True,
            "window_start": "2026-12-01T00:00:00Z",
            "window_end": "2026-12-04T16:00:00Z",
            "month_complete": False,
            "target_percent": 99.9,
            "budget_total_min": 44.64,
            "budget_used_min": 38.0,
            "budget_remaining_min": 6.64,
            "budget_used_percent": 85.13,
            "uptime_percent": 99.28,
            "reason": None,
        },
    ],
    "incidents": [INCIDENT_EXAMPLE],
    "mttr": {
        "window_start": "2026-11-30T00:00:00Z",
        "window_end": "2026-12-04T16:00:00Z",
        "mttr_s": 2280.0,
        "critical_mttr_s": 2280.0,
        "resolved_count": 1,
        "critical_resolved_count": 1,
        "open_count": 0,
    },
    "top_issues_by_events": [_ISSUE_EXAMPLE],
    "top_issues_by_users": [_ISSUE_EXAMPLE],
    "new_issues": [],
    "new_issue_count": 0,
    "regressed_issues": [],
    "regressed_issue_count": 0,
    "errors": [
        {
            "project": "backend",
            "total": 2261,
            "previous_total": 1132,
            "daily": [{"day": "2026-11-30", "count": 164}],
            "error_rate": {
                "project": "backend",
                "percent": 0.918,
                "method": "failure_rate",
                "requests": 134400,
                "errors": 2261,
                "reason": None,
            },
            "previous_error_rate_percent": 0.4,
            "transactions": 134400,
            "lcp_p75_ms": None,
        }
    ],
    "monitors": [
        {
            "id": 790000002,
            "name": "Backend API",
            "components": ["API"],
            "uptime_percent": 99.435,
            "uptimerobot_percent": 99.435,
            "average_response_time_ms": 252.5,
            "previous_average_response_time_ms": 239.9,
            "daily": [{"day": "2026-11-30", "average_ms": 298.0}],
        }
    ],
    "certificate_days": 30,
    "certificates": [
        {
            "monitor_id": 790000001,
            "monitor": "Frontend",
            "brand": "Let's Encrypt",
            "expires_at": "2026-12-24T16:00:00Z",
            "days_left": 20.0,
        }
    ],
    "alerts": [
        {
            "rule": "monitor_down",
            "subject": "Backend API",
            "description": "Backend API was down (API outage)",
            "priority": "P0",
            "at": "2026-12-02T11:12:00Z",
            "value": 38.0,
            "threshold": None,
            "unit": "min down",
        }
    ],
    "sources": [
        {
            "key": "uptimerobot:monitors",
            "available": True,
            "stale": False,
            "fetched_at": "2026-12-04T16:00:00Z",
            "age_s": 0.1,
            "last_error": None,
            "last_error_at": None,
            "next_refresh_at": "2026-12-04T16:01:00Z",
        }
    ],
}


class WeeklyReport(_Frozen):
    """The weekly monitoring report of one ISO week (UTC)."""

    model_config = ConfigDict(json_schema_extra={"example": _WEEKLY_REPORT_EXAMPLE})

    schema_version: int = Field(default=REPORT_SCHEMA_VERSION, description="Version of this shape.")
    title: str = Field(description="Title, for example `Weekly monitoring report 2026-W49`.")
    week: ReportWeek = Field(description="The reported week.")
    previous_week: ReportWeek = Field(description="The week the changes compare with.")
    generated_at: AwareDatetime = Field(description="When the report was built.")
    as_of: AwareDatetime = Field(description="End of the data: the week's end, or now if earlier.")
    partial: bool = Field(description="Whether the week is still running.")
    stale: bool = Field(description="Whether any data behind the report is stale or missing.")
    notes: list[str] = Field(description="Caveats about the data, such as a partial week.")
    targets: list[ReportTarget] = Field(
        description="Uptime, error rate, response time and MTTR, in that order."
    )
    budget_month: str = Field(description="The month of the headline budget, `YYYY-MM`.")
    budgets: list[MonthBudget] = Field(description="One budget per month the week touches.")
    incidents: list[Incident] = Field(description="Incidents of the week, oldest first.")
    mttr: MttrReport | None = Field(description="Recovery times of the week's incidents.")
    top_issues_by_events: list[SentryIssue] = Field(
        description="The 5 issues with the most events, over every project."
    )
    top_issues_by_users: list[SentryIssue] = Field(
        description="The 5 issues that reached the most users, over every project."
    )
    new_issues: list[SentryIssue] = Field(
        description="Issues first seen during the week, oldest first, at most 10."
    )
    new_issue_count: int = Field(description="All issues first seen during the week.")
    regressed_issues: list[SentryIssue] = Field(
        description="Issues seen during the week whose substatus is `regressed`, at most 10."
    )
    regressed_issue_count: int = Field(description="All such regressed issues.")
    errors: list[ProjectWeekErrors] = Field(description="One entry per configured project.")
    monitors: list[MonitorTrend] = Field(description="One entry per monitor.")
    certificate_days: int = Field(
        description="Certificates expiring within this many days of `as_of` are listed."
    )
    certificates: list[CertificateExpiry] = Field(description="Soonest expiry first.")
    alerts: list[FiredAlert] = Field(description="Alerts that fired, in time order.")
    sources: list[Freshness] = Field(description="Freshness of every key the report read.")
