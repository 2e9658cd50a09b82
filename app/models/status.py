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
    source: UptimeSource
    percent: float | None = Field(description="Uptime in percent; `None` without data.")
    window_start: AwareDatetime
    window_end: AwareDatetime
    downtime_s: float | None = None
    measured_s: float | None = Field(
        default=None, description="Window length minus maintenance, paused and no-data time."
    )


class DailyUptime(_Output):
    """Uptime of one UTC day (00:00 to 24:00 UTC, the last one cut at ``now``)."""

    day: date
    percent: float | None = Field(description="`None` when the day has no data, never 100.")
    downtime_s: float
    measured_s: float


# --- Components and monitors -------------------------------------------------------------------


class PartKind(StrEnum):
    MONITOR = "monitor"
    PROJECT = "project"


class PartStatus(_Output):
    """One monitor's or Sentry project's contribution to a component's state, with the reason."""

    kind: PartKind
    name: str
    monitor_id: int | None = None
    state: ComponentState
    reason: str


class ComponentStatus(_Output):
    """One public component: its state, banner message, uptime figures and daily bars.

    ``parts`` and ``missing_monitors`` name monitors and projects, so they are private.
    """

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"parts", "missing_monitors"})

    name: str
    description: str | None = None
    state: ComponentState
    message: str | None = Field(
        description="Banner message while the component has a problem, else `None`."
    )
    uptime: list[UptimeFigure] = Field(default_factory=list)
    daily: list[DailyUptime] = Field(default_factory=list)
    parts: list[PartStatus] = Field(default_factory=list)
    missing_monitors: list[str] = Field(
        default_factory=list, description="Configured monitor names or ids matching no monitor."
    )


class MonitorSummary(_Output):
    """One monitor for the admin views: upstream status, derived state and uptime."""

    id: int
    name: str
    status: MonitorStatus
    state: ComponentState
    reason: str
    components: list[str] = Field(description="Public components this monitor belongs to.")
    in_maintenance: bool
    is_critical: bool = Field(description="A database or auth monitor: down means P0.")
    average_response_time_ms: float | None = None
    ssl_expires_at: AwareDatetime | None = None
    uptime: list[UptimeFigure] = Field(default_factory=list)


class OverallStatus(_Output):
    """The page-wide status: indicator, its human description and the worst component state."""

    indicator: Indicator
    description: str
    state: ComponentState


class TrafficLight(_Output):
    """Dashboard light with every reason that set its color (private: names monitors)."""

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"reasons"})

    color: LightColor
    reasons: list[str] = Field(default_factory=list)


class Banner(_Output):
    """Banner shown while a component has a problem: the messages of those components."""

    message: str
    components: list[str]


# --- Incidents ---------------------------------------------------------------------------------


class IncidentStatus(StrEnum):
    """Public incident state: ``investigating`` while open, ``resolved`` once over."""

    INVESTIGATING = "investigating"
    RESOLVED = "resolved"


class MonitorRef(_Output):
    id: int
    name: str


class Incident(_Output):
    """One outage derived from monitor logs: a down log opens it, and the next up log closes it.

    ``duration_s`` is wall-clock time from start to resolution, or to ``now`` while open.
    ``downtime_s`` leaves out the paused, maintenance and no-data stretches inside it.
    ``monitors``, ``cause`` and ``priority`` are private.
    """

    PRIVATE_FIELDS: ClassVar[frozenset[str]] = frozenset({"monitors", "cause", "priority"})

    id: str = Field(description="Stable id derived from the component and the start time.")
    title: str = Field(description="Public title, for example `API outage`.")
    status: IncidentStatus
    impact: Indicator
    severity: LegacySeverity
    priority: Priority
    started_at: AwareDatetime
    resolved_at: AwareDatetime | None
    duration_s: float
    downtime_s: float
    components: list[str] = Field(description="Affected public components; empty if none.")
    monitors: list[MonitorRef]
    cause: str | None = Field(default=None, description="Reason from the down logs.")

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class MttrReport(_Output):
    """Mean time to recovery of the incidents resolved inside a window.

    An incident that started before the window counts only the part inside it. Open incidents
    are counted in ``open_count`` and left out of the means.
    """

    window_start: AwareDatetime
    window_end: AwareDatetime
    mttr_s: float | None
    critical_mttr_s: float | None = Field(description="MTTR of P0 and P1 incidents only.")
    resolved_count: int
    critical_resolved_count: int
    open_count: int


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

    rule_id: str = Field(description="Stable id, `<rule>:<monitor id or project>`.")
    rule: AlertRule
    subject: str | None = Field(description="Monitor name or Sentry project the rule watches.")
    description: str
    priority: Priority
    firing: bool
    since: AwareDatetime | None = None
    value: float | None = None
    threshold: float
    unit: str
    has_data: bool = True


# --- Error rate and SLA ------------------------------------------------------------------------


class ErrorRateMethod(StrEnum):
    FAILURE_RATE = "failure_rate"
    ERRORS_OVER_REQUESTS = "errors_over_requests"


class ErrorRate(_Output):
    """Share of failed requests of one Sentry project over the last 24 h, with its method."""

    project: str
    percent: float | None
    method: ErrorRateMethod | None = None
    requests: int | None = None
    errors: int | None = None
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

    name: SlaTargetName
    description: str
    target: float
    unit: str
    measured: float | None
    met: bool | None = Field(description="`None` when nothing could be measured.")
    method: str
    reason: str | None = None
    window_start: AwareDatetime | None = Field(description="`None` when the data gives none.")
    window_end: AwareDatetime
    budget_unit: str
    budget_total: float | None
    budget_used: float | None
    budget_remaining: float | None
    budget_used_percent: float | None
    burn_rate: float | None


class UptimeAccounting(_Output):
    """The month-to-date sum behind the uptime target, so an auditor can redo it.

    ``elapsed_s`` = ``maintenance_s`` + ``paused_s`` + ``no_data_s`` + ``measured_s`` and
    ``measured_s`` = ``up_s`` + ``downtime_s``. The budget is taken over the whole calendar
    month (``month_length_s``), so excluded time does not shrink it.
    """

    window_start: AwareDatetime
    window_end: AwareDatetime
    month_end: AwareDatetime
    month_length_s: float
    elapsed_s: float
    maintenance_s: float
    paused_s: float
    no_data_s: float
    measured_s: float
    up_s: float
    downtime_s: float
    monitors: list[str] = Field(description="Monitors in scope: those of public components.")


class SlaReport(_Output):
    targets: list[SlaTarget]
    uptime_accounting: UptimeAccounting


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
