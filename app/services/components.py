"""Public components: which monitors and Sentry projects form each one, and its state.

Without a component map every monitor is its own public component under its friendly name and
Sentry data stays admin-only. With a map, monitors that belong to no component form private
groups of one, so their outages still become (private, P3) incidents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.config import Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import (
    PROBLEM_STATES,
    STATE_SEVERITY,
    Alert,
    AlertRule,
    ComponentState,
    ComponentStatus,
    PartKind,
    PartStatus,
)
from app.models.upstream import Monitor, MonitorStatus
from app.services.uptime import in_maintenance


@dataclass(frozen=True)
class ComponentDefinition:
    """One group of monitors and projects; ``is_public`` is false for unmapped monitors."""

    name: str
    monitor_ids: tuple[int, ...]
    projects: tuple[str, ...] = ()
    missing_monitors: tuple[str, ...] = ()
    description: str | None = None
    outage_message: str | None = None
    is_public: bool = True


def matches_monitor(entry: str, monitor: Monitor) -> bool:
    """Return whether a configured entry names the monitor, by friendly name (any case) or id."""
    text = entry.strip()
    return text == str(monitor.id) or text.casefold() == monitor.name.strip().casefold()


def select_monitor_ids(entries: Iterable[str], monitors: Sequence[Monitor]) -> frozenset[int]:
    """Return the ids of the monitors that any of the entries names."""
    wanted = list(entries)
    return frozenset(
        monitor.id for monitor in monitors if any(matches_monitor(e, monitor) for e in wanted)
    )


def critical_monitor_ids(settings: Settings, monitors: Sequence[Monitor]) -> frozenset[int]:
    """Return the database and auth monitors: one of them down is a P0."""
    return select_monitor_ids([*settings.database_monitors, *settings.auth_monitors], monitors)


def resolve_components(
    monitors: Sequence[Monitor] | None, settings: Settings
) -> list[ComponentDefinition]:
    """Resolve the component map against the monitors present, public components first."""
    known = list(monitors or [])
    configs = settings.public_components
    if configs is None:
        # A paused monitor watches nothing, so without a map it stays admin-only instead of
        # showing the public a component "under maintenance".
        return [
            ComponentDefinition(
                name=monitor.name,
                monitor_ids=(monitor.id,),
                is_public=monitor.status is not MonitorStatus.PAUSED,
            )
            for monitor in known
        ]

    definitions: list[ComponentDefinition] = []
    mapped: set[int] = set()
    for config in configs:
        ids: list[int] = []
        missing: list[str] = []
        for entry in config.monitors:
            found = [monitor.id for monitor in known if matches_monitor(entry, monitor)]
            if not found:
                missing.append(entry)
            ids.extend(monitor_id for monitor_id in found if monitor_id not in ids)
        mapped.update(ids)
        definitions.append(
            ComponentDefinition(
                name=config.name,
                monitor_ids=tuple(ids),
                projects=tuple(config.projects),
                missing_monitors=tuple(missing),
                description=config.description,
                outage_message=config.outage_message,
            )
        )
    for monitor in known:
        if monitor.id not in mapped:
            definitions.append(
                ComponentDefinition(name=monitor.name, monitor_ids=(monitor.id,), is_public=False)
            )
    return definitions


def default_outage_message(component: str) -> str:
    return f"We're experiencing issues with {component}. Our team is investigating."


# --- Parts -------------------------------------------------------------------------------------


def monitor_part(monitor: Monitor, settings: Settings, now: datetime) -> tuple[ComponentState, str]:
    """Judge one monitor: its state and the reason.

    A paused monitor or one inside a maintenance window is under maintenance, and a monitor not
    checked yet or with an unknown status is unknown, so neither ever counts as down. Seems down
    is a partial outage and down a major one. Up but slower on average than the response-time
    target is degraded performance.
    """
    if monitor.status is MonitorStatus.PAUSED:
        return ComponentState.UNDER_MAINTENANCE, "paused"
    if in_maintenance(monitor, now):
        return ComponentState.UNDER_MAINTENANCE, "inside a maintenance window"
    if monitor.status is MonitorStatus.DOWN:
        return ComponentState.MAJOR_OUTAGE, "down"
    if monitor.status is MonitorStatus.SEEMS_DOWN:
        return ComponentState.PARTIAL_OUTAGE, "seems down (not confirmed yet)"
    if monitor.status is MonitorStatus.NOT_CHECKED:
        return ComponentState.UNKNOWN, "not checked yet"
    if monitor.status is not MonitorStatus.UP:
        return ComponentState.UNKNOWN, "status unknown"
    average = monitor.average_response_time_ms
    target = settings.sla_response_time_target_ms
    if average is not None and average > target:
        reason = f"average response {average:.0f} ms is over the {target:.0f} ms target"
        return ComponentState.DEGRADED_PERFORMANCE, reason
    return ComponentState.OPERATIONAL, "up"


# Alerts that change the state of the component owning the project. An error rate over the P1
# limit means part of the service fails for users, so it is a partial outage. An error spike or
# slow page loads are degraded performance.
PROJECT_ALERT_STATES: dict[AlertRule, ComponentState] = {
    AlertRule.ERROR_RATE: ComponentState.PARTIAL_OUTAGE,
    AlertRule.ERRORS_5M: ComponentState.DEGRADED_PERFORMANCE,
    AlertRule.LCP_P75: ComponentState.DEGRADED_PERFORMANCE,
}


def project_part(
    project: str, snapshot: SystemSnapshot, alerts: Sequence[Alert]
) -> tuple[ComponentState, str]:
    """Judge one Sentry project from its firing alerts; absent data is unknown."""
    firing = [
        alert
        for alert in alerts
        if alert.firing and alert.subject == project and alert.rule in PROJECT_ALERT_STATES
    ]
    if firing:
        worst = max(firing, key=lambda alert: STATE_SEVERITY[PROJECT_ALERT_STATES[alert.rule]])
        reasons = "; ".join(alert.description for alert in firing)
        return PROJECT_ALERT_STATES[worst.rule], reasons
    present = any(
        project in source
        for source in (snapshot.error_stats, snapshot.performance, snapshot.issues)
    )
    if not present:
        return ComponentState.UNKNOWN, "no Sentry data"
    return ComponentState.OPERATIONAL, "no alert firing"


def combine_parts(
    monitor_states: Sequence[ComponentState], project_states: Sequence[ComponentState]
) -> ComponentState:
    """Combine part states into the component's state.

    The worst real problem wins, so maintenance and unknown parts never mask an outage. Without
    a problem, monitors decide: operational if any is, under maintenance if every known one is
    paused or in maintenance, unknown if none is known. Sentry without alerts cannot vouch that
    a service is up, so projects decide only for a component without monitors.
    """
    problems = [state for state in (*monitor_states, *project_states) if state in PROBLEM_STATES]
    if problems:
        return max(problems, key=STATE_SEVERITY.__getitem__)
    deciding = monitor_states if monitor_states else project_states
    if ComponentState.OPERATIONAL in deciding:
        return ComponentState.OPERATIONAL
    if ComponentState.UNDER_MAINTENANCE in deciding:
        return ComponentState.UNDER_MAINTENANCE
    return ComponentState.UNKNOWN


def evaluate_component(
    definition: ComponentDefinition,
    snapshot: SystemSnapshot,
    settings: Settings,
    now: datetime,
    alerts: Sequence[Alert],
    *,
    monitors_by_id: Mapping[int, Monitor] | None = None,
) -> ComponentStatus:
    """Judge one component from its monitors and projects; uptime is filled in by the caller.

    A configured monitor that matches nothing, or all monitors when UptimeRobot data is
    absent, counts as an unknown part. ``monitors_by_id`` indexes the snapshot's monitors; a
    caller judging many components passes it, so that each does not index them again.
    """
    by_id = monitors_by_id
    if by_id is None:
        by_id = {
            monitor.id: monitor
            for monitor in (snapshot.monitors.monitors if snapshot.monitors else [])
        }
    parts: list[PartStatus] = []
    monitor_states: list[ComponentState] = []
    for monitor_id in definition.monitor_ids:
        monitor = by_id[monitor_id]
        state, reason = monitor_part(monitor, settings, now)
        monitor_states.append(state)
        parts.append(
            PartStatus(
                kind=PartKind.MONITOR,
                name=monitor.name,
                monitor_id=monitor.id,
                state=state,
                reason=reason,
            )
        )
    for entry in definition.missing_monitors:
        reason = "no monitor data" if snapshot.monitors is None else "no monitor by this name or id"
        monitor_states.append(ComponentState.UNKNOWN)
        parts.append(
            PartStatus(
                kind=PartKind.MONITOR, name=entry, state=ComponentState.UNKNOWN, reason=reason
            )
        )

    project_states: list[ComponentState] = []
    for project in definition.projects:
        state, reason = project_part(project, snapshot, alerts)
        project_states.append(state)
        parts.append(PartStatus(kind=PartKind.PROJECT, name=project, state=state, reason=reason))

    state = combine_parts(monitor_states, project_states)
    message = None
    if state in PROBLEM_STATES:
        message = definition.outage_message or default_outage_message(definition.name)
    return ComponentStatus(
        name=definition.name,
        description=definition.description,
        state=state,
        message=message,
        parts=parts,
        missing_monitors=list(definition.missing_monitors),
    )
