"""Report windows: monitor timelines, components and incidents over a stretch of past logs.

UptimeRobot returns only the logs inside a window, so the state at its start must be seeded.
The seed is the newest earlier log known (the regular snapshot keeps the newest logs). Without
one, it is inferred from the window's first log, and without any log from UptimeRobot's ratio
for the window. The timelines, incidents and uptime then come from ``app.services.uptime`` and
``app.services.incidents``, as for the live status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.config import Settings
from app.models.status import Incident
from app.models.upstream import LogType, Monitor, MonitorLog, MonitorsSnapshot, MonitorStatus
from app.services.components import (
    ComponentDefinition,
    critical_monitor_ids,
    resolve_components,
)
from app.services.incidents import derive_incidents
from app.services.uptime import Timeline, build_monitor_timeline, combine_timelines
from app.sources.uptimerobot import WINDOW_RATIO_KEY

# The state a monitor was in before a log of each type, when nothing earlier is known.
_STATE_BEFORE: dict[LogType, LogType | None] = {
    LogType.DOWN: LogType.UP,
    LogType.UP: LogType.DOWN,
    # A monitor is started after a pause or when it is created: either way, no data before.
    LogType.STARTED: None,
    # NOTE: a pause may also follow a down stretch; up is the likelier state and is assumed.
    LogType.PAUSED: LogType.UP,
    LogType.UNKNOWN: None,
}


@dataclass(frozen=True)
class WindowView:
    """Monitor timelines, components and incidents over ``[start, end)``."""

    start: datetime
    end: datetime
    monitors: list[Monitor]
    definitions: list[ComponentDefinition]
    timelines: dict[int, Timeline]
    scope: list[Monitor]
    system_timeline: Timeline
    incidents: list[Incident]


def seed_log(
    monitor: Monitor, known_logs: Sequence[MonitorLog], start: datetime, end: datetime
) -> MonitorLog | None:
    """Infer the monitor's state at ``start`` as a log at ``start``; ``None`` means no data.

    The newest known log at or before ``start`` wins. Without one, the state before the
    window's first log is inferred from its type (a down log follows up time). Without any
    log, a window ratio of 0 % means down all along and any other ratio up all along.
    """
    earlier = [log for log in known_logs if log.at <= start]
    if earlier:
        newest = max(earlier, key=lambda log: log.at)
        if newest.type is LogType.UNKNOWN:
            return None
        return replace(newest, id=None, at=start, duration_s=None)

    inside = sorted((log for log in monitor.logs if start <= log.at < end), key=lambda log: log.at)
    if inside:
        if inside[0].at == start:
            return None
        state = _STATE_BEFORE[inside[0].type]
        return None if state is None else MonitorLog(type=state, at=start)

    if monitor.created_at is not None and monitor.created_at >= end:
        return None
    ratio = monitor.uptime_ratios.get(WINDOW_RATIO_KEY)
    if ratio is None:
        return None
    return MonitorLog(type=LogType.DOWN if ratio <= 0 else LogType.UP, at=start)


def window_monitor(
    monitor: Monitor, reference: Monitor | None, start: datetime, end: datetime
) -> Monitor:
    """Prepare a window's monitor for ``build_monitor_timeline``.

    Its logs become the seed plus the logs inside ``[start, end)``. The maintenance windows
    come from ``reference`` (the regular snapshot), because window data does not carry them.
    The status is set to unknown so that the newest log lasts to ``end``: the status the
    upstream reports is today's, not the window's.
    """
    known = reference.logs if reference is not None else []
    seed = seed_log(monitor, known, start, end)
    logs = [log for log in monitor.logs if start <= log.at < end]
    windows = reference.maintenance_windows if reference is not None else []
    return monitor.model_copy(
        update={
            "logs": [seed, *logs] if seed is not None else logs,
            "status": MonitorStatus.UNKNOWN,
            "maintenance_windows": windows or monitor.maintenance_windows,
        }
    )


def evaluate_window(
    snapshot: MonitorsSnapshot,
    reference: MonitorsSnapshot | None,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> WindowView:
    """Build timelines, component groups and incidents over ``[start, end)``, as ``evaluate``
    does for the live status."""
    known = {monitor.id: monitor for monitor in (reference.monitors if reference else [])}
    monitors = [window_monitor(m, known.get(m.id), start, end) for m in snapshot.monitors]
    definitions = resolve_components(monitors, settings)
    critical_ids = critical_monitor_ids(settings, monitors)

    timelines = {monitor.id: build_monitor_timeline(monitor, start, end) for monitor in monitors}
    public = [definition for definition in definitions if definition.is_public]
    scope_ids = list(dict.fromkeys(i for definition in public for i in definition.monitor_ids))
    system_timeline = combine_timelines([timelines[i] for i in scope_ids], start, end)

    names = {monitor.id: monitor.name for monitor in monitors}
    incidents = [
        incident
        for definition in definitions
        for incident in derive_incidents(
            definition,
            combine_timelines([timelines[i] for i in definition.monitor_ids], start, end),
            system_timeline,
            names,
            critical_ids,
            end,
        )
    ]
    incidents.sort(key=lambda incident: (incident.started_at, incident.title))
    return WindowView(
        start=start,
        end=end,
        monitors=monitors,
        definitions=definitions,
        timelines=timelines,
        scope=[monitor for monitor in monitors if monitor.id in scope_ids],
        system_timeline=system_timeline,
        incidents=incidents,
    )


def maybe_evaluate_window(
    snapshot: MonitorsSnapshot | None,
    reference: MonitorsSnapshot | None,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> WindowView | None:
    """Evaluate the window, or return ``None`` without data or for an empty window."""
    if snapshot is None or end <= start:
        return None
    return evaluate_window(snapshot, reference, start, end, settings)
