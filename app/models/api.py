"""Response models of the public, compatibility and operations endpoints.

These are the shapes the OpenAPI spec publishes and front ends generate types from. Public models
hold only public data: component names, states, uptime, incidents in public wording. They have
no field that could carry a monitor URL, id, keyword, error message or Sentry title.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

ComponentState = Literal[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
    "unknown",
]
Indicator = Literal["none", "minor", "major", "critical", "maintenance", "unknown"]


class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok` while the process runs.")


class ReadinessSource(BaseModel):
    key: str = Field(description="Snapshot key, for example `uptimerobot:monitors`.")
    available: bool = Field(description="Whether the key holds usable data.")
    stale: bool = Field(description="Whether that data is older than its TTL.")
    last_error: str | None = Field(
        description="Kind of the failure, while fetches of this key keep failing."
    )


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready"] = Field(
        description="`degraded`: serving, but some source is failing or stale."
    )
    sources: list[ReadinessSource]


class SourceFreshness(BaseModel):
    """How fresh one upstream's data is, as shown publicly (no error text)."""

    source: Literal["uptimerobot", "sentry"] = Field(description="The upstream.")
    fetched_at: datetime | None = Field(description="When its oldest key was last fetched.")
    stale: bool = Field(description="Whether any of its data is stale or missing.")
    next_refresh_at: datetime | None = Field(description="When the next refresh is due.")


class UptimeFigure(BaseModel):
    window: str = Field(description="Window the figure covers: `24h`, `7d`, `30d` or `90d`.")
    percent: float | None = Field(description="Uptime in percent, `null` when unknown.")
    source: str = Field(description="How it was computed: `uptimerobot_ratio` or `logs`.")


class PublicComponent(BaseModel):
    id: str = Field(description="Stable slug of the component name.")
    name: str = Field(description="Public component name from the component map.")
    status: ComponentState = Field(description="Statuspage vocabulary, plus `unknown`.")
    description: str | None = Field(default=None, description="Public description.")
    uptime: list[UptimeFigure] = Field(description="Uptime over 24 h, 7 d, 30 d and 90 d.")


class PublicIncident(BaseModel):
    id: str = Field(description="Stable incident id.")
    title: str = Field(description="Public title, for example `API outage`.")
    status: Literal["investigating", "resolved"] = Field(description="Public incident state.")
    impact: Literal["none", "minor", "major", "critical"] = Field(description="Impact level.")
    started_at: datetime
    resolved_at: datetime | None = None
    duration_s: int = Field(description="Duration so far, in seconds.")
    components: list[str] = Field(description="Names of the affected public components.")


class PublicStatus(BaseModel):
    """The public status: safe for anyone, cached, identical for every caller."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "schema_version": 1,
                "generated_at": "2026-12-04T16:00:00Z",
                "updated_at": "2026-12-04T15:59:30Z",
                "stale": False,
                "indicator": "none",
                "description": "All Systems Operational",
                "banner": None,
                "components": [
                    {
                        "id": "api",
                        "name": "API",
                        "status": "operational",
                        "description": "The API behind the app.",
                        "uptime": [
                            {"window": "24h", "percent": 100.0, "source": "uptimerobot_ratio"},
                            {"window": "30d", "percent": 99.982, "source": "uptimerobot_ratio"},
                        ],
                    }
                ],
                "incidents": [],
                "sources": [
                    {
                        "source": "uptimerobot",
                        "fetched_at": "2026-12-04T15:59:30Z",
                        "stale": False,
                        "next_refresh_at": "2026-12-04T16:00:30Z",
                    }
                ],
            }
        }
    )

    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this shape.")
    generated_at: datetime = Field(description="When this body was computed.")
    updated_at: datetime | None = Field(description="When the newest upstream data was fetched.")
    stale: bool = Field(description="Whether any data behind this status is stale or missing.")
    indicator: Indicator = Field(description="Overall indicator in Statuspage's vocabulary.")
    description: str = Field(description="Human description, e.g. `All Systems Operational`.")
    banner: str | None = Field(description="Banner text while something is wrong, else null.")
    components: list[PublicComponent]
    incidents: list[PublicIncident] = Field(description="Active incidents, public wording.")
    sources: list[SourceFreshness] = Field(description="Freshness per upstream.")


# --- Legacy front-end shapes (`/api/monitoring/*`) ----------------------------------------------


class LegacyMonitor(BaseModel):
    name: str = Field(description="Public component or monitor name.")
    status: Literal["up", "down", "degraded", "paused", "unknown"] = Field(
        description="`up` unless something is wrong; paused is not down."
    )
    uptime: float | None = Field(description="30-day uptime in percent.")
    response_time: float | None = Field(description="Average response time in ms.")


class LegacyStatus(BaseModel):
    success: bool = True
    monitors: list[LegacyMonitor]
    overall_status: Literal["operational", "degraded"] = Field(
        description="`operational` when nothing is wrong, else `degraded`."
    )
    updated_at: datetime | None = None
    stale: bool = False


class LegacyErrorStats(BaseModel):
    success: bool = True
    backend_errors_24h: int
    frontend_errors_24h: int
    updated_at: datetime | None


class LegacyIncident(BaseModel):
    id: str
    title: str
    status: Literal["resolved", "ongoing"]
    started_at: datetime
    resolved_at: datetime | None
    duration_minutes: int
    severity: Literal["low", "medium", "high", "critical"]


class LegacyIncidents(BaseModel):
    success: bool = True
    incidents: list[LegacyIncident]


# --- Statuspage public API v2 ------------------------------------------------------------------


class StatuspagePage(BaseModel):
    id: str
    name: str
    url: str
    time_zone: str = "Etc/UTC"
    updated_at: datetime


class StatuspageStatus(BaseModel):
    indicator: Literal["none", "minor", "major", "critical", "maintenance"]
    description: str


class StatuspageComponent(BaseModel):
    id: str
    name: str
    status: Literal[
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ]
    created_at: datetime
    updated_at: datetime
    position: int
    description: str | None
    showcase: bool = False
    start_date: str | None = None
    group_id: str | None = None
    page_id: str
    group: bool = False
    only_show_if_degraded: bool = False


class StatuspageAffectedComponent(BaseModel):
    code: str
    name: str
    old_status: str
    new_status: str


class StatuspageIncidentUpdate(BaseModel):
    id: str
    incident_id: str
    status: str
    body: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: list[StatuspageAffectedComponent] | None
    deliver_notifications: bool = False
    custom_tweet: str | None = None
    tweet_id: str | None = None


class StatuspageIncident(BaseModel):
    id: str
    name: str
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
    impact: Literal["none", "minor", "major", "critical"]
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None = None
    resolved_at: datetime | None = None
    shortlink: str
    page_id: str
    incident_updates: list[StatuspageIncidentUpdate]
    components: list[StatuspageComponent]


class StatuspageMaintenance(BaseModel):
    id: str
    name: str
    status: Literal["scheduled", "in_progress", "verifying", "completed"]
    impact: Literal["none", "minor", "major", "critical", "maintenance"] = "maintenance"
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    monitoring_at: datetime | None = None
    resolved_at: datetime | None = None
    shortlink: str
    page_id: str
    incident_updates: list[StatuspageIncidentUpdate]
    components: list[StatuspageComponent]
    scheduled_for: datetime
    scheduled_until: datetime


class StatuspageStatusBody(BaseModel):
    page: StatuspagePage
    status: StatuspageStatus


class StatuspageSummary(BaseModel):
    page: StatuspagePage
    status: StatuspageStatus
    components: list[StatuspageComponent]
    incidents: list[StatuspageIncident]
    scheduled_maintenances: list[StatuspageMaintenance]
