"""Response models of the admin endpoints (super admins only: private detail is allowed here)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.models.api import SCHEMA_VERSION, SourceFreshness
from app.models.snapshot import Freshness
from app.models.status import (
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
    project: str = Field(description="Sentry project slug.")
    total_24h: int = Field(description="Accepted error events over the last 24 h.")
    last_5m: int = Field(description="Accepted error events over the last 5 minutes.")
    threshold_5m: int | None = Field(description="Alert threshold for 5 minutes, if any.")
    alert_firing: bool = Field(description="Whether the 5-minute error alert fires.")
    hourly: list[CountPoint] = Field(description="Hourly counts over the last 24 h.")


class AdminDashboard(AdminBody):
    """Everything the monitoring page needs in one call."""

    overall: OverallStatus
    light: TrafficLight
    banner: Banner | None
    components: list[ComponentStatus]
    monitors: list[MonitorSummary]
    open_incidents: list[Incident]
    recent_incidents: list[Incident] = Field(description="The latest incidents, newest first.")
    mttr: MttrReport
    firing_alerts: list[Alert]
    error_rates: list[ErrorRate]
    errors: list[ProjectErrors]
    performance: list[PerformanceStats]
    sla: SlaReport


class MonitorList(AdminBody):
    monitors: list[MonitorSummary]


class MonitorDetail(AdminBody):
    """One monitor with its configuration, logs, response times and certificate."""

    monitor: MonitorSummary
    url: str | None
    type: MonitorType
    interval_s: int | None
    keyword_value: str | None
    logs: list[MonitorLog] = Field(description="Newest first.")
    response_times: list[ResponseTimePoint] = Field(description="Newest first.")
    ssl: SslInfo | None
    maintenance_windows: list[MaintenanceWindow]
    incidents: list[Incident] = Field(description="Incidents this monitor took part in.")


class ErrorPage(AdminBody):
    """One page of Sentry issues after filtering, newest last-seen first."""

    issues: list[SentryIssue]
    page: int
    per_page: int
    total: int = Field(description="Issues matching the filters across all pages.")
    pages: int
    truncated_projects: list[str] = Field(
        description="Projects with more issues upstream than Lookout fetched."
    )


class ErrorStatsBody(AdminBody):
    projects: list[ProjectErrors]


class PerformanceBody(AdminBody):
    projects: list[PerformanceStats]
    error_rates: list[ErrorRate]


class SlaBody(AdminBody):
    sla: SlaReport


class IncidentsBody(AdminBody):
    incidents: list[Incident] = Field(description="Newest first.")
    mttr: MttrReport


class AlertsBody(AdminBody):
    alerts: list[Alert] = Field(description="Every rule and subject, firing or not.")
    firing: int


class UpstreamHealth(BaseModel):
    source: str
    calls: int
    failures: int
    last_call_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_kind: str | None
    last_status: int | None
    last_duration_ms: float | None
    headroom: RateLimitHeadroom
    blocked_until: datetime | None = Field(description="No calls before this time (after a 429).")
    keys: list[Freshness]


class SourcesBody(AdminBody):
    upstreams: list[UpstreamHealth]


class RefreshBody(AdminBody):
    refreshed: list[Freshness]
