"""Response models of the public, compatibility and operations endpoints.

These are the shapes the OpenAPI spec publishes and front ends generate types from. Public models
hold only public data: component names, states, uptime, incidents in public wording. They have
no field that could carry a monitor URL, id, keyword, error message or Sentry title.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
    """Liveness of the process."""

    model_config = ConfigDict(json_schema_extra={"example": {"status": "ok"}})

    status: Literal["ok"] = Field(description="Always `ok` while the process runs.")


class ReadinessSource(BaseModel):
    """One snapshot key and whether it has usable data."""

    key: str = Field(description="Snapshot key, for example `uptimerobot:monitors`.")
    available: bool = Field(description="Whether the key holds usable data.")
    stale: bool = Field(description="Whether that data is older than its TTL.")
    last_error: str | None = Field(
        description="Kind of the failure, while fetches of this key keep failing."
    )


class Readiness(BaseModel):
    """Readiness to serve data, with the state of each snapshot key."""

    # FastAPI drops null values from examples in /openapi.json, so examples give every
    # required nullable field a value: here a degraded instance with one failing key.
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "status": "degraded",
                "sources": [
                    {
                        "key": "sentry:stats:frontend",
                        "available": True,
                        "stale": True,
                        "last_error": "timeout",
                    }
                ],
            }
        }
    )

    status: Literal["ready", "degraded", "not_ready"] = Field(
        description="`degraded`: serving, but some source is failing or stale."
    )
    sources: list[ReadinessSource] = Field(description="Every snapshot key, with its state.")


class SourceFreshness(BaseModel):
    """How fresh one upstream's data is, as shown publicly (no error text)."""

    source: Literal["uptimerobot", "sentry"] = Field(description="The upstream.")
    fetched_at: datetime | None = Field(description="When its oldest key was last fetched.")
    stale: bool = Field(description="Whether any of its data is stale or missing.")
    next_refresh_at: datetime | None = Field(description="When the next refresh is due.")


class PublicUptimeFigure(BaseModel):
    """A public component's uptime over one window."""

    window: str = Field(description="Window the figure covers: `24h`, `7d`, `30d` or `90d`.")
    percent: float | None = Field(description="Uptime in percent, `null` when unknown.")
    source: str = Field(description="How it was computed: `uptimerobot_ratio` or `logs`.")


class PublicComponent(BaseModel):
    """One public component: its state and uptime, with nothing private."""

    id: str = Field(description="Stable slug of the component name.")
    name: str = Field(description="Public component name from the component map.")
    status: ComponentState = Field(description="Statuspage vocabulary, plus `unknown`.")
    description: str | None = Field(default=None, description="Public description.")
    uptime: list[PublicUptimeFigure] = Field(description="Uptime over 24 h, 7 d, 30 d and 90 d.")


class PublicIncident(BaseModel):
    """An incident in public wording: no monitor names and no causes."""

    id: str = Field(description="Stable incident id.")
    title: str = Field(description="Public title, for example `API outage`.")
    status: Literal["investigating", "resolved"] = Field(description="Public incident state.")
    impact: Literal["none", "minor", "major", "critical"] = Field(description="Impact level.")
    started_at: datetime = Field(description="When the outage started.")
    resolved_at: datetime | None = Field(
        default=None, description="When it was resolved; `null` while it is open."
    )
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
                "indicator": "minor",
                "description": "Partially Degraded Service",
                "banner": "We're experiencing issues with API. Our team is investigating.",
                "components": [
                    {
                        "id": "api",
                        "name": "API",
                        "status": "degraded_performance",
                        "description": "The API behind the app, including its database.",
                        "uptime": [
                            {"window": "24h", "percent": 100.0, "source": "uptimerobot_ratio"},
                            {"window": "7d", "percent": 99.623, "source": "uptimerobot_ratio"},
                            {"window": "30d", "percent": 99.912, "source": "uptimerobot_ratio"},
                            {"window": "90d", "percent": 99.971, "source": "uptimerobot_ratio"},
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
    components: list[PublicComponent] = Field(description="Public components, in configured order.")
    incidents: list[PublicIncident] = Field(description="Active incidents, public wording.")
    sources: list[SourceFreshness] = Field(description="Freshness per upstream.")


# --- Legacy front-end shapes (`/api/monitoring/*`) ----------------------------------------------


class LegacyMonitor(BaseModel):
    """One public component as a row of the legacy monitoring page."""

    name: str = Field(description="Public component or monitor name.")
    status: Literal["up", "down", "degraded", "paused", "unknown"] = Field(
        description="`up` unless something is wrong; paused is not down."
    )
    uptime: float | None = Field(description="30-day uptime in percent.")
    response_time: float | None = Field(description="Average response time in ms.")


class LegacyStatus(BaseModel):
    """The legacy monitoring page's status: one row per public component."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "success": True,
                "monitors": [
                    {"name": "Website", "status": "up", "uptime": 100.0, "response_time": 179.8},
                    {"name": "API", "status": "degraded", "uptime": 99.912, "response_time": 612.4},
                ],
                "overall_status": "degraded",
                "updated_at": "2026-12-04T16:00:00Z",
                "stale": False,
            }
        }
    )

    success: bool = Field(default=True, description="Always `true`.")
    monitors: list[LegacyMonitor] = Field(description="One row per public component.")
    overall_status: Literal["operational", "degraded"] = Field(
        description="`operational` when nothing is wrong, else `degraded`."
    )
    updated_at: datetime | None = Field(
        default=None, description="When the newest upstream data was fetched."
    )
    stale: bool = Field(
        default=False, description="Whether any data behind this body is stale or missing."
    )


class LegacyErrorStats(BaseModel):
    """Sentry error counts of the backend and frontend projects, for the legacy page."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "success": True,
                "backend_errors_24h": 163,
                "frontend_errors_24h": 234,
                "updated_at": "2026-12-04T16:00:00Z",
            }
        }
    )

    success: bool = Field(default=True, description="Always `true`.")
    backend_errors_24h: int = Field(
        description="Accepted errors of the first `SENTRY_PROJECTS` project over the last 24 h."
    )
    frontend_errors_24h: int = Field(
        description="Accepted errors of the second `SENTRY_PROJECTS` project over the last 24 h."
    )
    updated_at: datetime | None = Field(
        description="When the error counts were fetched; `null` before the first fetch."
    )


class LegacyIncident(BaseModel):
    """One incident as the legacy monitoring page shows it."""

    id: str = Field(description="Stable incident id.")
    title: str = Field(description="Public title, for example `API outage`.")
    status: Literal["resolved", "ongoing"] = Field(description="`ongoing` until it is resolved.")
    started_at: datetime = Field(description="When the outage started.")
    resolved_at: datetime | None = Field(description="When it was resolved; `null` if ongoing.")
    duration_minutes: int = Field(description="Duration in whole minutes, so far if ongoing.")
    severity: Literal["low", "medium", "high", "critical"] = Field(
        description="From the priority: P0 `critical`, P1 `high`, P2 `medium`, P3 `low`."
    )


class LegacyIncidents(BaseModel):
    """Incidents for the legacy monitoring page."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "success": True,
                "incidents": [
                    {
                        "id": "inc_e6a594df5f7bfedd",
                        "title": "API outage",
                        "status": "resolved",
                        "started_at": "2026-12-02T11:12:00Z",
                        "resolved_at": "2026-12-02T11:50:00Z",
                        "duration_minutes": 38,
                        "severity": "critical",
                    }
                ],
            }
        }
    )

    success: bool = Field(default=True, description="Always `true`.")
    incidents: list[LegacyIncident] = Field(
        description="Incidents derived from monitor logs, newest first."
    )


# --- Statuspage public API v2 ------------------------------------------------------------------


class StatuspagePage(BaseModel):
    """The status page itself, as Statuspage describes a page."""

    id: str = Field(description="Page id: the slug of the page name.")
    name: str = Field(description="Page name, from `STATUS_PAGE_NAME`.")
    url: str = Field(description="Page URL, from `STATUS_PAGE_URL`.")
    time_zone: str = Field(default="Etc/UTC", description="Always `Etc/UTC`.")
    updated_at: datetime = Field(description="When the newest upstream data was fetched.")


class StatuspageStatus(BaseModel):
    """The overall status in Statuspage's vocabulary."""

    indicator: Literal["none", "minor", "major", "critical", "maintenance"] = Field(
        description="Overall indicator; Lookout's `unknown` shows as `minor`."
    )
    description: str = Field(description="Human description, e.g. `All Systems Operational`.")


class StatuspageComponent(BaseModel):
    """One public component in Statuspage's shape."""

    id: str = Field(description="Slug of the component name.")
    name: str = Field(description="Public component name.")
    status: Literal[
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ] = Field(description="Component state; Lookout's `unknown` shows as `degraded_performance`.")
    created_at: datetime = Field(description="When this Lookout process started.")
    updated_at: datetime = Field(description="When the snapshot behind the state was taken.")
    position: int = Field(description="Position in the configured order, from 1.")
    description: str | None = Field(description="Public description, if configured.")
    showcase: bool = Field(default=False, description="Always `false`.")
    start_date: str | None = Field(default=None, description="Always `null`.")
    group_id: str | None = Field(default=None, description="Always `null`: there are no groups.")
    page_id: str = Field(description="Id of the page.")
    group: bool = Field(default=False, description="Always `false`.")
    only_show_if_degraded: bool = Field(default=False, description="Always `false`.")


class StatuspageAffectedComponent(BaseModel):
    """A component an incident update changed (Statuspage shape; Lookout sends none)."""

    code: str = Field(description="Component id.")
    name: str = Field(description="Component name.")
    old_status: str = Field(description="Component status before the update.")
    new_status: str = Field(description="Component status after the update.")


class StatuspageIncidentUpdate(BaseModel):
    """One update of an incident in Statuspage's shape."""

    id: str = Field(description="Update id: the incident id with `-1` appended.")
    incident_id: str = Field(description="Id of the incident.")
    status: str = Field(description="Incident status at this update.")
    body: str = Field(description="Update text.")
    created_at: datetime = Field(description="When the update was created: the incident start.")
    updated_at: datetime = Field(description="When the update last changed: the incident start.")
    display_at: datetime = Field(description="When the update is shown: the incident start.")
    affected_components: list[StatuspageAffectedComponent] | None = Field(
        description="Always `null`: the incident lists its components instead."
    )
    deliver_notifications: bool = Field(default=False, description="Always `false`.")
    custom_tweet: str | None = Field(default=None, description="Always `null`.")
    tweet_id: str | None = Field(default=None, description="Always `null`.")


class StatuspageIncident(BaseModel):
    """An unresolved incident in Statuspage's shape."""

    id: str = Field(description="Stable incident id.")
    name: str = Field(description="Public incident title.")
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"] = Field(
        description="Always `investigating`: only unresolved incidents are listed."
    )
    impact: Literal["none", "minor", "major", "critical"] = Field(description="Impact level.")
    created_at: datetime = Field(description="When the outage started.")
    updated_at: datetime = Field(description="When the newest upstream data was fetched.")
    started_at: datetime = Field(description="When the outage started.")
    monitoring_at: datetime | None = Field(default=None, description="Always `null`.")
    resolved_at: datetime | None = Field(
        default=None, description="Always `null`: only unresolved incidents are listed."
    )
    shortlink: str = Field(description="URL of the status page.")
    page_id: str = Field(description="Id of the page.")
    incident_updates: list[StatuspageIncidentUpdate] = Field(
        description="One update: the start of the investigation."
    )
    components: list[StatuspageComponent] = Field(description="Affected public components.")


class StatuspageMaintenance(BaseModel):
    """A scheduled maintenance in Statuspage's shape; Lookout never lists one."""

    id: str = Field(description="Maintenance id.")
    name: str = Field(description="Maintenance title.")
    status: Literal["scheduled", "in_progress", "verifying", "completed"] = Field(
        description="Maintenance status."
    )
    impact: Literal["none", "minor", "major", "critical", "maintenance"] = Field(
        default="maintenance", description="Impact level."
    )
    created_at: datetime = Field(description="When the maintenance was created.")
    updated_at: datetime = Field(description="When the maintenance last changed.")
    started_at: datetime | None = Field(default=None, description="When it started.")
    monitoring_at: datetime | None = Field(default=None, description="When monitoring began.")
    resolved_at: datetime | None = Field(default=None, description="When it was completed.")
    shortlink: str = Field(description="URL of the maintenance.")
    page_id: str = Field(description="Id of the page.")
    incident_updates: list[StatuspageIncidentUpdate] = Field(description="Its updates.")
    components: list[StatuspageComponent] = Field(description="Affected public components.")
    scheduled_for: datetime = Field(description="Planned start.")
    scheduled_until: datetime = Field(description="Planned end.")


_STATUSPAGE_PAGE_EXAMPLE: dict[str, Any] = {
    "id": "lookout",
    "name": "Lookout",
    "url": "https://status.example.com/status",
    "time_zone": "Etc/UTC",
    "updated_at": "2026-12-04T16:00:00Z",
}
_STATUSPAGE_STATUS_EXAMPLE: dict[str, Any] = {
    "indicator": "minor",
    "description": "Partially Degraded Service",
}


class StatuspageStatusBody(BaseModel):
    """The body of Statuspage's `status.json`: the page and its overall status."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"page": _STATUSPAGE_PAGE_EXAMPLE, "status": _STATUSPAGE_STATUS_EXAMPLE}
        }
    )

    page: StatuspagePage = Field(description="The status page.")
    status: StatuspageStatus = Field(description="The overall status.")


class StatuspageSummary(BaseModel):
    """The body of Statuspage's `summary.json`: status, components and open incidents."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "page": _STATUSPAGE_PAGE_EXAMPLE,
                "status": _STATUSPAGE_STATUS_EXAMPLE,
                "components": [
                    {
                        "id": "api",
                        "name": "API",
                        "status": "degraded_performance",
                        "created_at": "2026-12-04T08:00:00Z",
                        "updated_at": "2026-12-04T16:00:00Z",
                        "position": 2,
                        "description": "The API behind the app, including its database.",
                        "showcase": False,
                        "start_date": None,
                        "group_id": None,
                        "page_id": "lookout",
                        "group": False,
                        "only_show_if_degraded": False,
                    }
                ],
                "incidents": [],
                "scheduled_maintenances": [],
            }
        }
    )

    page: StatuspagePage = Field(description="The status page.")
    status: StatuspageStatus = Field(description="The overall status.")
    components: list[StatuspageComponent] = Field(
        description="Public components, in configured order."
    )
    incidents: list[StatuspageIncident] = Field(description="Unresolved incidents.")
    scheduled_maintenances: list[StatuspageMaintenance] = Field(
        description="Always empty: Lookout does not schedule maintenance."
    )
