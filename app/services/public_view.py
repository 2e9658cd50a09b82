"""Shape the evaluated status into the public, Statuspage and legacy response models.

Pure functions: they only copy what is meant to be public (component names, states, uptime,
incident titles and times) and never a monitor URL, id, keyword, error text or Sentry title.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from app.config import Settings
from app.models.api import (
    LegacyIncident,
    LegacyIncidents,
    LegacyMonitor,
    LegacyStatus,
    PublicComponent,
    PublicIncident,
    PublicStatus,
    PublicUptimeFigure,
    SourceFreshness,
    StatuspageComponent,
    StatuspageIncident,
    StatuspageIncidentUpdate,
    StatuspagePage,
    StatuspageStatus,
    StatuspageStatusBody,
    StatuspageSummary,
)
from app.models.snapshot import Freshness, SystemSnapshot
from app.models.status import (
    ComponentState,
    ComponentStatus,
    Incident,
    IncidentStatus,
    Indicator,
    SystemStatus,
)

PUBLIC_UPTIME_WINDOWS = ("24h", "7d", "30d", "90d")
UPSTREAMS: tuple[Literal["uptimerobot", "sentry"], ...] = ("uptimerobot", "sentry")


def slugify(name: str) -> str:
    """Return a stable, URL-safe id for a public component name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "component"


def source_freshness(freshness: dict[str, Freshness]) -> list[SourceFreshness]:
    """Summarise key freshness per upstream: oldest fetch, any staleness, next refresh."""
    result = []
    for upstream in UPSTREAMS:
        items = [item for key, item in freshness.items() if key.startswith(f"{upstream}:")]
        if not items:
            continue
        fetched = [item.fetched_at for item in items if item.fetched_at is not None]
        due = [item.next_refresh_at for item in items if item.next_refresh_at is not None]
        result.append(
            SourceFreshness(
                source=upstream,
                fetched_at=min(fetched) if fetched else None,
                stale=any(item.stale or not item.available for item in items),
                next_refresh_at=min(due) if due else None,
            )
        )
    return result


def updated_at(freshness: dict[str, Freshness]) -> datetime | None:
    """When the newest data behind the status was fetched."""
    fetched = [item.fetched_at for item in freshness.values() if item.fetched_at is not None]
    return max(fetched) if fetched else None


def public_components(status: SystemStatus) -> list[PublicComponent]:
    return [
        PublicComponent(
            id=slugify(component.name),
            name=component.name,
            status=component.state.value,
            description=component.description,
            uptime=_public_uptime(component),
        )
        for component in status.components
    ]


def _public_uptime(component: ComponentStatus) -> list[PublicUptimeFigure]:
    by_window = {figure.window: figure for figure in component.uptime}
    figures = []
    for window in PUBLIC_UPTIME_WINDOWS:
        figure = by_window.get(window)
        figures.append(
            PublicUptimeFigure(
                window=window,
                percent=figure.percent if figure else None,
                source=figure.source.value if figure else "uptimerobot_ratio",
            )
        )
    return figures


def _impact(incident: Incident) -> Literal["none", "minor", "major", "critical"]:
    if incident.impact in (Indicator.MINOR, Indicator.MAJOR, Indicator.CRITICAL):
        return incident.impact.value  # type: ignore[return-value]
    return "none"


def public_incidents(incidents: list[Incident], *, active_only: bool) -> list[PublicIncident]:
    """Incidents that affect a public component, in public wording (no monitors, no causes)."""
    result = []
    for incident in incidents:
        if not incident.components or (active_only and not incident.is_open):
            continue
        result.append(
            PublicIncident(
                id=incident.id,
                title=incident.title,
                status="investigating" if incident.is_open else "resolved",
                impact=_impact(incident),
                started_at=incident.started_at,
                resolved_at=incident.resolved_at,
                duration_s=int(incident.duration_s),
                components=incident.components,
            )
        )
    return result


def to_public_status(status: SystemStatus, snapshot: SystemSnapshot, now: datetime) -> PublicStatus:
    """Build the body of ``GET /api/v1/status``."""
    return PublicStatus(
        generated_at=now,
        updated_at=updated_at(snapshot.freshness),
        stale=snapshot.stale,
        indicator=status.overall.indicator.value,
        description=status.overall.description,
        banner=status.banner.message if status.banner else None,
        components=public_components(status),
        incidents=public_incidents(status.incidents, active_only=True),
        sources=source_freshness(snapshot.freshness),
    )


# --- Statuspage v2 -----------------------------------------------------------------------------

_STATUSPAGE_INDICATORS = {"none", "minor", "major", "critical", "maintenance"}


def _page(settings: Settings, updated: datetime) -> StatuspagePage:
    return StatuspagePage(
        id=slugify(settings.status_page_name),
        name=settings.status_page_name,
        url=settings.status_page_url,
        updated_at=updated,
    )


def _statuspage_status(status: SystemStatus) -> StatuspageStatus:
    indicator = status.overall.indicator.value
    if indicator not in _STATUSPAGE_INDICATORS:
        # Statuspage has no "unknown"; widgets read "minor" as "something is not right".
        indicator = "minor"
    return StatuspageStatus(indicator=indicator, description=status.overall.description)


def _statuspage_state(
    state: ComponentState,
) -> Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]:
    if state is ComponentState.UNKNOWN:
        # Statuspage has no "unknown" component state; without data nothing is claimed broken.
        return "degraded_performance"
    return state.value  # type: ignore[return-value]


def statuspage_components(
    status: SystemStatus, settings: Settings, created_at: datetime
) -> list[StatuspageComponent]:
    page_id = slugify(settings.status_page_name)
    return [
        StatuspageComponent(
            id=slugify(component.name),
            name=component.name,
            status=_statuspage_state(component.state),
            created_at=created_at,
            updated_at=status.snapshot_taken_at,
            position=position,
            description=component.description,
            page_id=page_id,
        )
        for position, component in enumerate(status.components, start=1)
    ]


def to_statuspage_status(
    status: SystemStatus, snapshot: SystemSnapshot, settings: Settings
) -> StatuspageStatusBody:
    updated = updated_at(snapshot.freshness) or status.generated_at
    return StatuspageStatusBody(page=_page(settings, updated), status=_statuspage_status(status))


def to_statuspage_summary(
    status: SystemStatus, snapshot: SystemSnapshot, settings: Settings, created_at: datetime
) -> StatuspageSummary:
    """Build the body of ``GET /api/v2/summary.json``: status, components, open incidents."""
    updated = updated_at(snapshot.freshness) or status.generated_at
    components = statuspage_components(status, settings, created_at)
    by_name = {component.name: component for component in components}
    page_id = slugify(settings.status_page_name)
    incidents = []
    for incident in public_incidents(status.incidents, active_only=True):
        affected = [by_name[name] for name in incident.components if name in by_name]
        update = StatuspageIncidentUpdate(
            id=f"{incident.id}-1",
            incident_id=incident.id,
            status="investigating",
            body="We are investigating this issue.",
            created_at=incident.started_at,
            updated_at=incident.started_at,
            display_at=incident.started_at,
            affected_components=None,
        )
        incidents.append(
            StatuspageIncident(
                id=incident.id,
                name=incident.title,
                status="investigating",
                impact=incident.impact,
                created_at=incident.started_at,
                updated_at=updated,
                started_at=incident.started_at,
                shortlink=settings.status_page_url,
                page_id=page_id,
                incident_updates=[update],
                components=affected,
            )
        )
    return StatuspageSummary(
        page=_page(settings, updated),
        status=_statuspage_status(status),
        components=components,
        incidents=incidents,
        scheduled_maintenances=[],
    )


# --- Legacy front end --------------------------------------------------------------------------

_LEGACY_STATES: dict[ComponentState, Literal["up", "down", "degraded", "paused", "unknown"]] = {
    ComponentState.OPERATIONAL: "up",
    ComponentState.DEGRADED_PERFORMANCE: "degraded",
    ComponentState.PARTIAL_OUTAGE: "down",
    ComponentState.MAJOR_OUTAGE: "down",
    ComponentState.UNDER_MAINTENANCE: "paused",
    ComponentState.UNKNOWN: "unknown",
}


def _figure(component: ComponentStatus, window: str) -> float | None:
    for figure in component.uptime:
        if figure.window == window:
            return figure.percent
    return None


def to_legacy_status(status: SystemStatus, snapshot: SystemSnapshot) -> LegacyStatus:
    """``/api/monitoring/public-status`` and ``system-status``: one row per public component.

    Paused and unknown rows do not make the page "degraded": only a real problem does.
    """
    response_times = _component_response_times(status)
    monitors = [
        LegacyMonitor(
            name=component.name,
            status=_LEGACY_STATES[component.state],
            uptime=_figure(component, "30d"),
            response_time=response_times.get(component.name),
        )
        for component in status.components
    ]
    problem = any(row.status in ("down", "degraded") for row in monitors)
    return LegacyStatus(
        monitors=monitors,
        overall_status="degraded" if problem else "operational",
        updated_at=updated_at(snapshot.freshness),
        stale=snapshot.stale,
    )


def _component_response_times(status: SystemStatus) -> dict[str, float]:
    """Mean of the average response times of each component's monitors, in ms."""
    samples: dict[str, list[float]] = {}
    for monitor in status.monitors:
        if monitor.average_response_time_ms is None:
            continue
        for component in monitor.components:
            samples.setdefault(component, []).append(monitor.average_response_time_ms)
    return {name: round(sum(values) / len(values), 1) for name, values in samples.items()}


def to_legacy_incidents(incidents: list[Incident]) -> LegacyIncidents:
    return LegacyIncidents(
        incidents=[
            LegacyIncident(
                id=incident.id,
                title=incident.title,
                status="ongoing" if incident.status is IncidentStatus.INVESTIGATING else "resolved",
                started_at=incident.started_at,
                resolved_at=incident.resolved_at,
                duration_minutes=int(incident.duration_s // 60),
                severity=incident.severity,
            )
            for incident in incidents
        ]
    )
