"""The one calculation every endpoint shares: ``evaluate(snapshot, settings, now)``.

It resolves the component map, judges monitors and projects, builds one timeline per monitor
from its logs, and derives from them the uptime figures, daily bars, incidents, alerts and SLA.
The API caches the result per snapshot version, so public, admin, legacy and badge output all
come from the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from app.config import Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import (
    PROBLEM_STATES,
    STATE_SEVERITY,
    Alert,
    AlertRule,
    Banner,
    ComponentState,
    ComponentStatus,
    ErrorRate,
    Indicator,
    LightColor,
    MonitorSummary,
    OverallStatus,
    SystemStatus,
    TrafficLight,
)
from app.models.upstream import IssueStatus, Monitor
from app.services.alerts import evaluate_alerts
from app.services.components import (
    ComponentDefinition,
    critical_monitor_ids,
    evaluate_component,
    monitor_part,
    resolve_components,
)
from app.services.incidents import compute_mttr, derive_incidents
from app.services.sla import compute_error_rates, compute_sla, project_slugs
from app.services.uptime import (
    STATUS_PAGE_DAYS,
    Timeline,
    build_monitor_timeline,
    combine_timelines,
    daily_uptime,
    in_maintenance,
    month_start,
    month_to_date_uptime,
    ratio_uptime,
)

NEW_ERROR_WINDOW = timedelta(hours=24)

# Error-rate alerts turn the light red; the other alerts that fire turn it yellow. A down monitor
# already turns it red through its own state, so its alert adds no second reason.
RED_ALERT_RULES = frozenset(
    {AlertRule.ERROR_RATE, AlertRule.ERRORS_5M, AlertRule.ALL_MONITORS_DOWN}
)
SILENT_ALERT_RULES = frozenset({AlertRule.MONITOR_DOWN})


def evaluate(snapshot: SystemSnapshot, settings: Settings, now: datetime) -> SystemStatus:
    """Compute the whole status of the watched system from one snapshot at ``now``."""
    monitors = list(snapshot.monitors.monitors) if snapshot.monitors else []
    definitions = resolve_components(
        snapshot.monitors.monitors if snapshot.monitors else None, settings
    )
    critical_ids = critical_monitor_ids(settings, monitors)
    error_rates = compute_error_rates(snapshot, settings)
    alerts = evaluate_alerts(snapshot, settings, now, definitions, error_rates)

    horizon = timeline_start(monitors, now)
    timelines = {monitor.id: build_monitor_timeline(monitor, horizon, now) for monitor in monitors}
    public = [definition for definition in definitions if definition.is_public]
    scope_ids = list(dict.fromkeys(i for definition in public for i in definition.monitor_ids))
    scope = [monitor for monitor in monitors if monitor.id in scope_ids]
    system_timeline = combine_timelines([timelines[i] for i in scope_ids], horizon, now)
    group_timelines = [
        combine_timelines([timelines[i] for i in definition.monitor_ids], horizon, now)
        for definition in definitions
    ]

    as_of = _ratios_as_of(snapshot)
    by_id = {monitor.id: monitor for monitor in monitors}
    components = [
        _component_status(definition, snapshot, settings, now, alerts, timeline, as_of, by_id)
        for definition, timeline in zip(definitions, group_timelines, strict=True)
        if definition.is_public
    ]
    component_names: dict[int, list[str]] = {}
    for definition in public:
        for monitor_id in dict.fromkeys(definition.monitor_ids):
            component_names.setdefault(monitor_id, []).append(definition.name)
    summaries = [
        _monitor_summary(
            monitor,
            component_names.get(monitor.id, []),
            settings,
            critical_ids,
            timelines,
            now,
            as_of,
        )
        for monitor in monitors
    ]

    names = {monitor.id: monitor.name for monitor in monitors}
    incidents = [
        incident
        for definition, timeline in zip(definitions, group_timelines, strict=True)
        for incident in derive_incidents(
            definition,
            timeline,
            system_timeline,
            names,
            critical_ids,
            now,
        )
    ]
    incidents.sort(key=lambda incident: incident.started_at, reverse=True)
    mttr = compute_mttr(incidents, month_start(now), now)
    sla = compute_sla(
        system_timeline=system_timeline,
        scope=scope,
        error_rates=error_rates,
        mttr=mttr,
        settings=settings,
        now=now,
    )

    return SystemStatus(
        generated_at=now,
        snapshot_taken_at=_aware(snapshot.taken_at),
        stale=snapshot.stale,
        monitors_available=snapshot.monitors is not None,
        overall=overall_status(components),
        light=traffic_light(snapshot, settings, now, components, summaries, alerts, error_rates),
        banner=build_banner(components),
        components=components,
        monitors=summaries,
        incidents=incidents,
        mttr=mttr,
        alerts=alerts,
        error_rates=error_rates,
        sla=sla,
    )


def timeline_start(monitors: Sequence[Monitor], now: datetime) -> datetime:
    """Start timelines at the first daily bar, or earlier if logs go back further.

    Starting at the oldest log keeps the true start of an outage that began before the bars.
    """
    first_day = now.astimezone(UTC).date() - timedelta(days=STATUS_PAGE_DAYS - 1)
    start = datetime.combine(first_day, time(0, tzinfo=UTC))
    log_times = [log.at for monitor in monitors for log in monitor.logs]
    return min([start, *log_times])


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ratios_as_of(snapshot: SystemSnapshot) -> datetime:
    """Return when the monitors (and so their ratios) were fetched."""
    freshness = snapshot.freshness.get("uptimerobot:monitors")
    if freshness is not None and freshness.fetched_at is not None:
        return _aware(freshness.fetched_at)
    return _aware(snapshot.taken_at)


def _component_status(
    definition: ComponentDefinition,
    snapshot: SystemSnapshot,
    settings: Settings,
    now: datetime,
    alerts: Sequence[Alert],
    timeline: Timeline,
    as_of: datetime,
    by_id: dict[int, Monitor],
) -> ComponentStatus:
    status = evaluate_component(definition, snapshot, settings, now, alerts, monitors_by_id=by_id)
    ids = dict.fromkeys(definition.monitor_ids)
    ratios = [by_id[monitor_id].uptime_ratios for monitor_id in ids if monitor_id in by_id]
    uptime = [*ratio_uptime(ratios, as_of), month_to_date_uptime(timeline, now)]
    return status.model_copy(update={"uptime": uptime, "daily": daily_uptime(timeline, now)})


def _monitor_summary(
    monitor: Monitor,
    component_names: list[str],
    settings: Settings,
    critical_ids: frozenset[int],
    timelines: dict[int, Timeline],
    now: datetime,
    as_of: datetime,
) -> MonitorSummary:
    state, reason = monitor_part(monitor, settings, now)
    timeline = timelines[monitor.id]
    return MonitorSummary(
        id=monitor.id,
        name=monitor.name,
        status=monitor.status,
        state=state,
        reason=reason,
        components=component_names,
        in_maintenance=in_maintenance(monitor, now),
        is_critical=monitor.id in critical_ids,
        average_response_time_ms=monitor.average_response_time_ms,
        ssl_expires_at=monitor.ssl.expires_at if monitor.ssl else None,
        uptime=[*ratio_uptime([monitor.uptime_ratios], as_of), month_to_date_uptime(timeline, now)],
    )


# --- Page-wide verdicts ------------------------------------------------------------------------


def overall_status(components: Sequence[ComponentStatus]) -> OverallStatus:
    """Derive the page indicator and description from the public components' states.

    Every component in major outage is critical, and any one in major outage is major. A
    partial outage is minor because the rest of the service still works, and degraded
    performance is minor too. Without a problem, unknown outranks maintenance, which outranks
    operational.
    """
    states = [component.state for component in components]
    if not states:
        return OverallStatus(
            indicator=Indicator.UNKNOWN, description="Status Unknown", state=ComponentState.UNKNOWN
        )
    worst = max(states, key=STATE_SEVERITY.__getitem__)
    everywhere = all(state is worst for state in states)
    if worst is ComponentState.MAJOR_OUTAGE:
        if everywhere:
            return OverallStatus(
                indicator=Indicator.CRITICAL, description="Major Service Outage", state=worst
            )
        return OverallStatus(
            indicator=Indicator.MAJOR, description="Partial System Outage", state=worst
        )
    if worst is ComponentState.PARTIAL_OUTAGE:
        return OverallStatus(
            indicator=Indicator.MINOR, description="Minor Service Outage", state=worst
        )
    if worst is ComponentState.DEGRADED_PERFORMANCE:
        return OverallStatus(
            indicator=Indicator.MINOR, description="Partially Degraded Service", state=worst
        )
    if worst is ComponentState.UNKNOWN:
        description = "Status Unknown" if everywhere else "Status Partially Unknown"
        return OverallStatus(indicator=Indicator.UNKNOWN, description=description, state=worst)
    if worst is ComponentState.UNDER_MAINTENANCE:
        return OverallStatus(
            indicator=Indicator.MAINTENANCE, description="Service Under Maintenance", state=worst
        )
    return OverallStatus(
        indicator=Indicator.NONE, description="All Systems Operational", state=worst
    )


def build_banner(components: Sequence[ComponentStatus]) -> Banner | None:
    """Join the messages of components with a problem; ``None`` when there is none.

    Maintenance and unknown components raise no banner, so a paused monitor never does.
    """
    troubled = [c for c in components if c.state in PROBLEM_STATES and c.message]
    if not troubled:
        return None
    messages = list(dict.fromkeys(component.message for component in troubled if component.message))
    return Banner(message=" ".join(messages), components=[c.name for c in troubled])


def traffic_light(
    snapshot: SystemSnapshot,
    settings: Settings,
    now: datetime,
    components: Sequence[ComponentStatus],
    monitors: Sequence[MonitorSummary],
    alerts: Sequence[Alert],
    error_rates: Sequence[ErrorRate],
) -> TrafficLight:
    """Set the dashboard light and list every reason for its color.

    Red: something is down (an outage of a component or monitor) or an error-rate alert fires.
    Yellow: something is slow, a new error type appeared in the last 24 h, an error rate is
    over its target, another alert fires, or data is missing. Green otherwise. Paused monitors
    and maintenance count for neither.
    """
    red: list[str] = []
    yellow: list[str] = []
    outages = (ComponentState.MAJOR_OUTAGE, ComponentState.PARTIAL_OUTAGE)
    for component in components:
        label = component.state.value.replace("_", " ")
        if component.state in outages:
            red.append(f"{component.name}: {label}")
        elif component.state is ComponentState.DEGRADED_PERFORMANCE:
            yellow.append(f"{component.name}: {label}")
        elif component.state is ComponentState.UNKNOWN:
            yellow.append(f"{component.name}: no data")
    for monitor in monitors:
        if monitor.state in outages:
            red.append(f"monitor {monitor.name}: {monitor.reason}")
        elif monitor.state is ComponentState.DEGRADED_PERFORMANCE:
            yellow.append(f"monitor {monitor.name}: {monitor.reason}")
    for alert in alerts:
        if alert.firing and alert.rule not in SILENT_ALERT_RULES:
            (red if alert.rule in RED_ALERT_RULES else yellow).append(alert.description)

    target = settings.sla_error_rate_target_percent
    for rate in error_rates:
        if rate.percent is not None and rate.percent > target:
            yellow.append(f"error rate of {rate.project} is {rate.percent:g} %, over {target:g} %")
    yellow.extend(_new_error_reasons(snapshot, now))
    if snapshot.monitors is None:
        yellow.append("no monitor data from UptimeRobot")
    for project in project_slugs(snapshot, settings):
        sources = (snapshot.error_stats, snapshot.performance, snapshot.issues)
        if not any(project in source for source in sources):
            yellow.append(f"no Sentry data for {project}")

    reasons = list(dict.fromkeys([*red, *yellow]))
    if red:
        return TrafficLight(color=LightColor.RED, reasons=reasons)
    if yellow:
        return TrafficLight(color=LightColor.YELLOW, reasons=reasons)
    return TrafficLight(color=LightColor.GREEN, reasons=reasons)


def _new_error_reasons(snapshot: SystemSnapshot, now: datetime) -> list[str]:
    """Name the projects with unresolved issues first seen in the last 24 h."""
    reasons: list[str] = []
    for project, listing in snapshot.issues.items():
        fresh = [
            issue
            for issue in listing.issues
            if issue.status is IssueStatus.UNRESOLVED
            and issue.first_seen is not None
            and issue.first_seen >= now - NEW_ERROR_WINDOW
        ]
        if fresh:
            reasons.append(f"{len(fresh)} new error types in {project} in the last 24 h")
    return reasons
