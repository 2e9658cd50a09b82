"""Domain output of the services: component states, uptime, incidents, alerts and the SLA.

``app.services.status.evaluate`` builds one ``SystemStatus`` per snapshot, and every endpoint
(public, admin, legacy, badges) shapes its response from it, so all of them agree. Fields that
must never reach the public are listed in each model's ``PRIVATE_FIELDS``, and the public
endpoints drop them (``public_dump``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.models.upstream import MonitorStatus


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True)

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def public_dump(self) -> dict[str, Any]:
        """Dump the model without its private fields, for unauthenticated responses."""
        return self.model_dump(mode="json", exclude=set(self.PRIVATE_FIELDS))


class ComponentState(StrEnum):
    """Statuspage component status, plus ``unknown`` when there is no data to judge by."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"
    UNKNOWN = "unknown"


# Worst first. Maintenance and unknown rank below every real problem, so they never mask one.
STATE_SEVERITY: dict[ComponentState, int] = {
    ComponentState.MAJOR_OUTAGE: 5,
    ComponentState.PARTIAL_OUTAGE: 4,
    ComponentState.DEGRADED_PERFORMANCE: 3,
    ComponentState.UNKNOWN: 2,
    ComponentState.UNDER_MAINTENANCE: 1,
    ComponentState.OPERATIONAL: 0,
}

PROBLEM_STATES = frozenset(
    {
        ComponentState.MAJOR_OUTAGE,
        ComponentState.PARTIAL_OUTAGE,
        ComponentState.DEGRADED_PERFORMANCE,
    }
)


class Indicator(StrEnum):
    """Overall indicator: Statuspage's four values plus ``maintenance`` and ``unknown``."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


class LightColor(StrEnum):
    """Traffic light of the admin dashboard."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Priority(StrEnum):
    """Response priority: P0 within 15 min, P1 within 1 h, P2 within 4 h, P3 next business day."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


PRIORITY_ORDER: dict[Priority, int] = {
    Priority.P0: 0,
    Priority.P1: 1,
    Priority.P2: 2,
    Priority.P3: 3,
}

CRITICAL_PRIORITIES = frozenset({Priority.P0, Priority.P1})

LegacySeverity = Literal["low", "medium", "high", "critical"]

PRIORITY_SEVERITY: dict[Priority, LegacySeverity] = {
    Priority.P0: "critical",
    Priority.P1: "high",
    Priority.P2: "medium",
    Priority.P3: "low",
}

PRIORITY_IMPACT: dict[Priority, Indicator] = {
    Priority.P0: Indicator.CRITICAL,
    Priority.P1: Indicator.MAJOR,
    Priority.P2: Indicator.MINOR,
    Priority.P3: Indicator.MINOR,
}


# --- Examples ----------------------------------------------------------------------------------
# Shown in /docs and reused by the admin and report examples. FastAPI drops null values from
# examples in /openapi.json, so they give every required nullable field a value.

UPTIME_24H_EXAMPLE: dict[str, Any] = {
    "window": "24h",
    "source": "uptimerobot_ratio",
    "percent": 100.0,
    "window_start": "2026-12-03T16:00:00Z",
    "window_end": "2026-12-04T16:00:00Z",
    "downtime_s": None,
    "measured_s": None,
}
UPTIME_MTD_EXAMPLE: dict[str, Any] = {
    "window": "mtd",
    "source": "logs",
    "percent": 99.28,
    "window_start": "2026-12-01T00:00:00Z",
    "window_end": "2026-12-04T16:00:00Z",
    "downtime_s": 2280.0,
    "measured_s": 316800.0,
}
SLOW_REASON_EXAMPLE = "average response 612 ms is over the 500 ms target"
OUTAGE_MESSAGE_EXAMPLE = "We're experiencing issues with API. Our team is investigating."

COMPONENT_STATUS_EXAMPLE: dict[str, Any] = {
    "name": "API",
    "description": "The API behind the app, including its database.",
    "state": "degraded_performance",
    "message": OUTAGE_MESSAGE_EXAMPLE,
    "uptime": [UPTIME_24H_EXAMPLE, UPTIME_MTD_EXAMPLE],
    "daily": [{"day": "2026-12-04", "percent": 100.0, "downtime_s": 0.0, "measured_s": 57600.0}],
    "parts": [
        {
            "kind": "monitor",
            "name": "Backend API",
            "monitor_id": 790000002,
            "state": "degraded_performance",
            "reason": SLOW_REASON_EXAMPLE,
        },
        {
            "kind": "project",
            "name": "backend",
            "monitor_id": None,
            "state": "operational",
            "reason": "no alert firing",
        },
    ],
    "missing_monitors": [],
}
MONITOR_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 790000002,
    "name": "Backend API",
    "status": "up",
    "state": "degraded_performance",
    "reason": SLOW_REASON_EXAMPLE,
    "components": ["API"],
    "in_maintenance": False,
    "is_critical": False,
    "average_response_time_ms": 612.4,
    "ssl_expires_at": "2027-02-17T16:00:00Z",
    "uptime": [UPTIME_24H_EXAMPLE, UPTIME_MTD_EXAMPLE],
}
OVERALL_STATUS_EXAMPLE: dict[str, Any] = {
    "indicator": "minor",
    "description": "Partially Degraded Service",
    "state": "degraded_performance",
}
TRAFFIC_LIGHT_EXAMPLE: dict[str, Any] = {
    "color": "yellow",
    "reasons": ["API: degraded performance", f"monitor Backend API: {SLOW_REASON_EXAMPLE}"],
}
BANNER_EXAMPLE: dict[str, Any] = {"message": OUTAGE_MESSAGE_EXAMPLE, "components": ["API"]}
INCIDENT_EXAMPLE: dict[str, Any] = {
    "id": "inc_e6a594df5f7bfedd",
    "title": "API outage",
    "status": "resolved",
    "impact": "critical",
    "severity": "critical",
    "priority": "P0",
    "started_at": "2026-12-02T11:12:00Z",
    "resolved_at": "2026-12-02T11:50:00Z",
    "duration_s": 2280.0,
    "downtime_s": 2280.0,
    "components": ["API"],
    "monitors": [
        {"id": 790000002, "name": "Backend API"},
        {"id": 790000003, "name": "Database health"},
    ],
    "cause": "503 Service Unavailable",
}
MTTR_EXAMPLE: dict[str, Any] = {
    "window_start": "2026-12-01T00:00:00Z",
    "window_end": "2026-12-04T16:00:00Z",
    "mttr_s": 2280.0,
    "critical_mttr_s": 2280.0,
    "resolved_count": 1,
    "critical_resolved_count": 1,
    "open_count": 0,
}
ALERT_EXAMPLE: dict[str, Any] = {
    "rule_id": "ssl_expiry:790000001",
    "rule": "ssl_expiry",
    "subject": "Frontend",
    "description": "TLS certificate of Frontend expires within 30 days",
    "priority": "P3",
    "firing": True,
    "since": "2026-11-24T16:00:00Z",
    "value": 20.0,
    "threshold": 30.0,
    "unit": "days",
    "has_data": True,
}
ERROR_RATE_EXAMPLE: dict[str, Any] = {
    "project": "backend",
    "percent": 0.4,
    "method": "failure_rate",
    "requests": 28800,
    "errors": 163,
    "reason": None,
}
SLA_REPORT_EXAMPLE: dict[str, Any] = {
    "targets": [
        {
            "name": "uptime",
            "description": (
                "Uptime of at least 99.9 % this calendar month "
                "(31 days, a budget of 44.64 min of downtime)"
            ),
            "target": 99.9,
            "unit": "percent",
            "measured": 99.28,
            "met": False,
            "method": "monitor logs: up time over measured time, month to date",
            "reason": None,
            "window_start": "2026-12-01T00:00:00Z",
            "window_end": "2026-12-04T16:00:00Z",
            "budget_unit": "min",
            "budget_total": 44.64,
            "budget_used": 38.0,
            "budget_remaining": 6.64,
            "budget_used_percent": 85.1254,
            "burn_rate": 7.197,
        },
        {
            "name": "error_rate",
            "description": "Error rate below 1 % of requests",
            "target": 1.0,
            "unit": "percent",
            "measured": 0.4,
            "met": True,
            "method": "Sentry: worst project (backend, failure_rate) over the last 24 h",
            "reason": None,
            "window_start": "2026-12-03T16:00:00Z",
            "window_end": "2026-12-04T16:00:00Z",
            "budget_unit": "percent",
            "budget_total": 1.0,
            "budget_used": 0.4,
            "budget_remaining": 0.6,
            "budget_used_percent": 40.0,
            "burn_rate": 0.4,
        },
        {
            "name": "response_time",
            "description": "Average response time below 500 ms",
            "target": 500.0,
            "unit": "ms",
            "measured": 612.4,
            "met": False,
            "method": "UptimeRobot: average response time of the slowest monitor (Backend API)",
            "reason": None,
            "window_start": "2026-12-03T16:00:00Z",
            "window_end": "2026-12-04T16:00:00Z",
            "budget_unit": "ms",
            "budget_total": 500.0,
            "budget_used": 612.4,
            "budget_remaining": -112.4,
            "budget_used_percent": 122.48,
            "burn_rate": 1.2248,
        },
        {
            "name": "mttr",
            "description": "Mean time to recovery of critical incidents below 60 min",
            "target": 60.0,
            "unit": "min",
            "measured": 38.0,
            "met": True,
            "method": "incidents from monitor logs: P0 and P1 resolved this month",
            "reason": None,
            "window_start": "2026-12-01T00:00:00Z",
            "window_end": "2026-12-04T16:00:00Z",
            "budget_unit": "min",
            "budget_total": 60.0,
            "budget_used": 38.0,
            "budget_remaining": 22.0,
            "budget_used_percent": 63.3333,
            "burn_rate": 0.6333,
        },
    ],
    "uptime_accounting": {
        "window_start": "2026-12-01T00:00:00Z",
        "window_end": "2026-12-04T16:00:00Z",
        "month_end": "2027-01-01T00:00:00Z",
        "month_length_s": 2678400.0,
        "elapsed_s": 316800.0,
        "maintenance_s": 0.0,
        "paused_s": 0.0,
        "no_data_s": 0.0,
        "measured_s": 316800.0,
        "up_s": 314520.0,
        "downtime_s": 2280.0,
        "monitors": ["Frontend", "Backend API", "Database health", "SSL expiry"],
    },
}


# --- Uptime ------------------------------------------------------------------------------------


class UptimeSource(StrEnum):
    """Method behind an uptime figure."""

    UPTIMEROBOT_RATIO = "uptimerobot_ratio"
    LOGS = "logs"


class UptimeFigure(_Output):
    """Uptime over one window, with the window and the method that produced it.

    ``percent`` is rounded to 0.001 and clamped to 0..100. It is 100.0 only without any
    downtime and 0.0 only without any uptime, so 99.9999 shows as 99.999. The second counts are
    set for figures computed from logs and ``None`` for UptimeRobot ratios.
    """

    window: str = Field(description="`24h`, `7d`, `30d`, `90d`, `mtd` or a custom label.")
    source: UptimeSource = Field(
        description="`uptimerobot_ratio` (UptimeRobot's own figure) or `logs` (from monitor logs)."
    )
    percent: float | None = Field(description="Uptime in percent; `None` without data.")
    window_start: AwareDatetime = Field(description="Start of the window.")
    window_end: AwareDatetime = Field(description="End of the window, usually now.")
    downtime_s: float | None = Field(
        default=None, description="Downtime in seconds; `None` for UptimeRobot ratios."
    )
    measured_s: float | None = Field(
        default=None, description="Window length minus maintenance, paused and no-data time."
    )


class DailyUptime(_Output):
    """Uptime of one UTC day (00:00 to 24:00 UTC, the last one cut at ``now``)."""

    day: date = Field(description="UTC day.")
    percent: float | None = Field(description="`None` when the day has no data, never 100.")
    downtime_s: float = Field(description="Downtime in the day, in seconds.")
    measured_s: float = Field(
        description="Seconds of the day with data, outside maintenance and pauses."
    )


# --- Components and monitors -------------------------------------------------------------------


class PartKind(StrEnum):
    MONITOR = "monitor"
    PROJECT = "project"


class PartStatus(_Output):
    """One monitor's or Sentry project's contribution to a component's state, with the reason."""

    kind: PartKind = Field(description="`monitor` or `project`.")
    name: str = Field(description="Monitor name, or Sentry project slug.")
    monitor_id: int | None = Field(
        default=None, description="UptimeRobot monitor id; `None` for projects and unmatched names."
    )
    state: ComponentState = Field(description="The part's state.")
    reason: str = Field(description="Why, for example `down` or `no alert firing`.")


class ComponentStatus(_Output):
    """One public component: its state, banner message, uptime figures and daily bars.

    ``parts`` and ``missing_monitors`` name monitors and projects, so they are private.
    """

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"parts", "missing_monitors"})

    model_config = ConfigDict(json_schema_extra={"example": COMPONENT_STATUS_EXAMPLE})

    name: str = Field(description="Public component name.")
    description: str | None = Field(default=None, description="Public description, if configured.")
    state: ComponentState = Field(
        description="Combined state: the worst problem of its parts, else what its monitors show."
    )
    message: str | None = Field(
        description="Banner message while the component has a problem, else `None`."
    )
    uptime: list[UptimeFigure] = Field(
        default_factory=list,
        description="Uptime over 24 h, 7 d, 30 d and 90 d (UptimeRobot), then month to date.",
    )
    daily: list[DailyUptime] = Field(
        default_factory=list, description="Uptime of each of the last 90 UTC days, oldest first."
    )
    parts: list[PartStatus] = Field(
        default_factory=list, description="Each monitor and project behind the state."
    )
    missing_monitors: list[str] = Field(
        default_factory=list, description="Configured monitor names or ids matching no monitor."
    )


class MonitorSummary(_Output):
    """One monitor for the admin views: upstream status, derived state and uptime."""

    model_config = ConfigDict(json_schema_extra={"example": MONITOR_SUMMARY_EXAMPLE})

    id: int = Field(description="UptimeRobot monitor id.")
    name: str = Field(description="The monitor's friendly name.")
    status: MonitorStatus = Field(description="Status as UptimeRobot reports it.")
    state: ComponentState = Field(
        description="State Lookout derives: paused is maintenance, slow is degraded performance."
    )
    reason: str = Field(description="Why the monitor has this state.")
    components: list[str] = Field(description="Public components this monitor belongs to.")
    in_maintenance: bool = Field(description="Whether one of its maintenance windows is active.")
    is_critical: bool = Field(description="A database or auth monitor: down means P0.")
    average_response_time_ms: float | None = Field(
        default=None, description="Average response time in ms, as UptimeRobot reports it."
    )
    ssl_expires_at: AwareDatetime | None = Field(
        default=None, description="When its TLS certificate expires, if known."
    )
    uptime: list[UptimeFigure] = Field(
        default_factory=list,
        description="Uptime over 24 h, 7 d, 30 d and 90 d (UptimeRobot), then month to date.",
    )


class OverallStatus(_Output):
    """The page-wide status: indicator, its human description and the worst component state."""

    indicator: Indicator = Field(description="Statuspage's indicator, plus `unknown`.")
    description: str = Field(description="Human description, e.g. `All Systems Operational`.")
    state: ComponentState = Field(description="The worst state of the public components.")


class TrafficLight(_Output):
    """Dashboard light with every reason that set its color (private: names monitors)."""

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"reasons"})

    color: LightColor = Field(description="`green`, `yellow` or `red`.")
    reasons: list[str] = Field(
        default_factory=list, description="Every reason for the color; empty when green."
    )


class Banner(_Output):
    """Banner shown while a component has a problem: the messages of those components."""

    message: str = Field(description="The messages of the components with a problem, joined.")
    components: list[str] = Field(description="Names of those components.")


# --- Incidents ---------------------------------------------------------------------------------


class IncidentStatus(StrEnum):
    """Public incident state: ``investigating`` while open, ``resolved`` once over."""

    INVESTIGATING = "investigating"
    RESOLVED = "resolved"


class MonitorRef(_Output):
    """A monitor named in an incident."""

    id: int = Field(description="UptimeRobot monitor id.")
    name: str = Field(description="The monitor's friendly name.")


class Incident(_Output):
    """One outage derived from monitor logs: a down log opens it, and the next up log closes it.

    ``duration_s`` is wall-clock time from start to resolution, or to ``now`` while open.
    ``downtime_s`` leaves out the paused, maintenance and no-data stretches inside it.
    ``monitors``, ``cause`` and ``priority`` are private.
    """

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"monitors", "cause", "priority"})

    model_config = ConfigDict(json_schema_extra={"example": INCIDENT_EXAMPLE})

    id: str = Field(description="Stable id derived from the component and the start time.")
    title: str = Field(description="Public title, for example `API outage`.")
    status: IncidentStatus = Field(description="`investigating` while open, then `resolved`.")
    impact: Indicator = Field(
        description="Impact from the priority: P0 `critical`, P1 `major`, P2 and P3 `minor`."
    )
    severity: LegacySeverity = Field(
        description="Legacy severity: P0 `critical`, P1 `high`, P2 `medium`, P3 `low`."
    )
    priority: Priority = Field(
        description="Response priority: P0 within 15 min, P1 1 h, P2 4 h, P3 next business day."
    )
    started_at: AwareDatetime = Field(description="When the first monitor went down.")
    resolved_at: AwareDatetime | None = Field(
        description="When no monitor was down any more; `None` while open."
    )
    duration_s: float = Field(description="Seconds from start to resolution, or to now if open.")
    downtime_s: float = Field(
        description="Seconds of downtime, without paused, maintenance and no-data stretches."
    )
    components: list[str] = Field(description="Affected public components; empty if none.")
    monitors: list[MonitorRef] = Field(description="Monitors that were down.")
    cause: str | None = Field(default=None, description="Reason from the down logs.")

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class MttrReport(_Output):
    """Mean time to recovery of the incidents resolved inside a window.

    An incident that started before the window counts only the part inside it. Open incidents
    are counted in ``open_count`` and left out of the means.
    """

    model_config = ConfigDict(json_schema_extra={"example": MTTR_EXAMPLE})

    window_start: AwareDatetime = Field(description="Start of the window.")
    window_end: AwareDatetime = Field(description="End of the window, exclusive.")
    mttr_s: float | None = Field(
        description="Mean time to recovery in seconds; `None` without a resolved incident."
    )
    critical_mttr_s: float | None = Field(description="MTTR of P0 and P1 incidents only.")
    resolved_count: int = Field(description="Incidents resolved inside the window.")
    critical_resolved_count: int = Field(
        description="P0 and P1 incidents resolved inside the window."
    )
    open_count: int = Field(description="Incidents open at the window's end.")


# --- Alerts ------------------------------------------------------------------------------------


class AlertRule(StrEnum):
    ERRORS_5M = "errors_5m"
    LCP_P75 = "lcp_p75"
    ERROR_RATE = "error_rate"
    RESPONSE_TIME = "response_time"
    MONITOR_DOWN = "monitor_down"
    ALL_MONITORS_DOWN = "all_monitors_down"
    SSL_EXPIRY = "ssl_expiry"


class Alert(_Output):
    """One alert rule applied to one monitor or project, firing or not.

    ``priority`` is the priority the alert has (or would have) when firing. ``since`` is the
    best estimate the data allows, or ``None``. ``has_data`` is false when the rule could not
    be evaluated, and such a rule never fires.
    """

    model_config = ConfigDict(json_schema_extra={"example": ALERT_EXAMPLE})

    rule_id: str = Field(description="Stable id, `<rule>:<monitor id or project>`.")
    rule: AlertRule = Field(description="The rule applied.")
    subject: str | None = Field(description="Monitor name or Sentry project the rule watches.")
    description: str = Field(description="What the rule checks, in a sentence.")
    priority: Priority = Field(description="Priority of the alert when it fires.")
    firing: bool = Field(description="Whether the alert fires now.")
    since: AwareDatetime | None = Field(
        default=None, description="When it started firing, if the data shows it."
    )
    value: float | None = Field(
        default=None, description="The measured value, in `unit`; `None` without data."
    )
    threshold: float = Field(description="The rule's limit, in `unit`.")
    unit: str = Field(
        description="Unit of `value` and `threshold`: `errors`, `percent`, `ms`, `days`, "
        "`monitors` or `monitors down`."
    )
    has_data: bool = Field(
        default=True,
        description="Whether the rule could be evaluated; without data it never fires.",
    )


# --- Error rate and SLA ------------------------------------------------------------------------


class ErrorRateMethod(StrEnum):
    FAILURE_RATE = "failure_rate"
    ERRORS_OVER_REQUESTS = "errors_over_requests"


class ErrorRate(_Output):
    """Share of failed requests of one Sentry project over the last 24 h, with its method."""

    model_config = ConfigDict(json_schema_extra={"example": ERROR_RATE_EXAMPLE})

    project: str = Field(description="Sentry project slug.")
    percent: float | None = Field(description="Failed requests in percent; `None` with a reason.")
    method: ErrorRateMethod | None = Field(
        default=None,
        description="`failure_rate` (Sentry's transaction failure rate) or `errors_over_requests`.",
    )
    requests: int | None = Field(default=None, description="Transactions in the window.")
    errors: int | None = Field(default=None, description="Accepted error events in the window.")
    reason: str | None = Field(default=None, description="Why `percent` is `None`.")


class SlaTargetName(StrEnum):
    UPTIME = "uptime"
    ERROR_RATE = "error_rate"
    RESPONSE_TIME = "response_time"
    MTTR = "mttr"


class SlaTarget(_Output):
    """One target with its measured value, verdict and budget.

    The budget (``budget_total``, in ``budget_unit``) is what the target allows over the
    window, and ``budget_remaining`` is negative once overspent. ``burn_rate`` is the observed
    shortfall divided by the allowed one, so 1.0 spends exactly the budget.
    """

    name: SlaTargetName = Field(description="`uptime`, `error_rate`, `response_time` or `mttr`.")
    description: str = Field(description="The target in a sentence.")
    target: float = Field(description="The target value, in `unit`.")
    unit: str = Field(description="`percent`, `ms` or `min`.")
    measured: float | None = Field(
        description="The measured value, in `unit`; `None` when nothing could be measured."
    )
    met: bool | None = Field(description="`None` when nothing could be measured.")
    method: str = Field(description="How `measured` was measured.")
    reason: str | None = Field(default=None, description="Why `measured` is `None`.")
    window_start: AwareDatetime | None = Field(description="`None` when the data gives none.")
    window_end: AwareDatetime = Field(description="End of the measurement window.")
    budget_unit: str = Field(description="Unit of the budget: `min` for uptime, else `unit`.")
    budget_total: float | None = Field(
        description="What the target allows over the window, in `budget_unit`."
    )
    budget_used: float | None = Field(description="Budget used, in `budget_unit`.")
    budget_remaining: float | None = Field(
        description="Budget left, in `budget_unit`; negative once overspent."
    )
    budget_used_percent: float | None = Field(description="Share of the budget used, in percent.")
    burn_rate: float | None = Field(
        description="Observed shortfall over the allowed one; above 1.0 overspends."
    )


class UptimeAccounting(_Output):
    """The month-to-date sum behind the uptime target, so an auditor can redo it.

    ``elapsed_s`` = ``maintenance_s`` + ``paused_s`` + ``no_data_s`` + ``measured_s`` and
    ``measured_s`` = ``up_s`` + ``downtime_s``. The budget is taken over the whole calendar
    month (``month_length_s``), so excluded time does not shrink it.
    """

    window_start: AwareDatetime = Field(description="The first instant of the month.")
    window_end: AwareDatetime = Field(description="Now: the end of the accounted time.")
    month_end: AwareDatetime = Field(description="The first instant of the next month.")
    month_length_s: float = Field(description="Length of the calendar month, in seconds.")
    elapsed_s: float = Field(description="Seconds from the month's start to now.")
    maintenance_s: float = Field(description="Seconds inside maintenance windows.")
    paused_s: float = Field(description="Seconds with the monitors paused.")
    no_data_s: float = Field(description="Seconds without monitor data.")
    measured_s: float = Field(description="Seconds left to measure: up plus down.")
    up_s: float = Field(description="Measured seconds with no monitor down.")
    downtime_s: float = Field(description="Measured seconds with any monitor down, counted once.")
    monitors: list[str] = Field(description="Monitors in scope: those of public components.")


class SlaReport(_Output):
    """Every SLA target with its budget, and the sum behind the uptime target."""

    model_config = ConfigDict(json_schema_extra={"example": SLA_REPORT_EXAMPLE})

    targets: list[SlaTarget] = Field(
        description="Uptime, error rate, response time and MTTR, in that order."
    )
    uptime_accounting: UptimeAccounting = Field(
        description="The month-to-date sum behind the uptime target."
    )


# --- The whole picture -------------------------------------------------------------------------


class SystemStatus(_Output):
    """Everything every endpoint needs, computed once per snapshot."""

    generated_at: AwareDatetime
    snapshot_taken_at: AwareDatetime
    stale: bool
    monitors_available: bool
    overall: OverallStatus
    light: TrafficLight
    banner: Banner | None
    components: list[ComponentStatus]
    monitors: list[MonitorSummary]
    incidents: list[Incident] = Field(description="Newest first.")
    mttr: MttrReport
    alerts: list[Alert]
    error_rates: list[ErrorRate]
    sla: SlaReport

    @property
    def firing_alerts(self) -> list[Alert]:
        return [alert for alert in self.alerts if alert.firing]

    @property
    def open_incidents(self) -> list[Incident]:
        return [incident for incident in self.incidents if incident.is_open]
