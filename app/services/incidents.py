"""Incidents derived from monitor logs, their priorities and the MTTR over a window.

An incident is one run of downtime of one component: it opens when a monitor of the component
goes down and closes when none is down any more. Overlapping outages of its monitors merge, and
paused, maintenance or no-data stretches between two down stretches do not split it.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.models.status import (
    CRITICAL_PRIORITIES,
    PRIORITY_IMPACT,
    PRIORITY_ORDER,
    PRIORITY_SEVERITY,
    Incident,
    IncidentStatus,
    MonitorRef,
    MttrReport,
    Priority,
)
from app.services.components import ComponentDefinition
from app.services.uptime import SegmentState, Timeline

_EXCLUDED_STATES = frozenset({SegmentState.PAUSED, SegmentState.MAINTENANCE, SegmentState.NO_DATA})


def rate_outage(
    *,
    component_down_ids: frozenset[int],
    component_up_ids: frozenset[int],
    every_monitor_down: bool,
    critical_ids: frozenset[int],
    is_public: bool,
) -> Priority:
    """Rate a moment when some monitors of a component are down.

    P0: a database or auth monitor is down, or every monitor with data is down. P1: the whole
    public component is down (none of its monitors with data is up). P2: part of a public
    component is down. P3: the monitor backs no public component.
    """
    if component_down_ids & critical_ids or every_monitor_down:
        return Priority.P0
    if not is_public:
        return Priority.P3
    if not component_up_ids:
        return Priority.P1
    return Priority.P2


def highest_priority(priorities: Sequence[Priority]) -> Priority:
    return min(priorities, key=PRIORITY_ORDER.__getitem__)


def incident_id(component: str, started_at: datetime) -> str:
    """Derive a stable incident id from the component name and the start time."""
    digest = hashlib.sha256(f"{component}|{started_at.isoformat()}".encode()).hexdigest()
    return f"inc_{digest[:16]}"


def _down_runs(timeline: Timeline) -> list[Timeline]:
    """Group down segments into runs; only up time ends a run."""
    runs: list[Timeline] = []
    current: Timeline = []
    pending: Timeline = []
    for segment in timeline:
        if segment.state is SegmentState.DOWN:
            current.extend(pending)
            current.append(segment)
            pending = []
        elif segment.state in _EXCLUDED_STATES and current:
            pending.append(segment)
        elif current:
            runs.append(current)
            current, pending = [], []
    if current:
        runs.append(current)
    return runs


def derive_incidents(
    definition: ComponentDefinition,
    component_timeline: Timeline,
    system_timeline: Timeline,
    monitor_names: dict[int, str],
    critical_ids: frozenset[int],
    now: datetime,
) -> list[Incident]:
    """Derive the incidents of one component from its combined timeline.

    An incident still down at ``now`` is open, with no resolution time and a running duration.
    An outage followed by a pause ends where the down stretch ends, because no log shows that it
    went on. The system timeline (every monitor in scope) shows whether every monitor was down
    at once.
    """
    all_down = [
        (segment.start, segment.end)
        for segment in system_timeline
        if segment.state is SegmentState.DOWN and not segment.up_ids
    ]
    incidents: list[Incident] = []
    for run in _down_runs(component_timeline):
        down_segments = [segment for segment in run if segment.state is SegmentState.DOWN]
        started_at = down_segments[0].start
        last_end = down_segments[-1].end
        is_open = last_end >= now
        resolved_at = None if is_open else last_end

        down_ids: frozenset[int] = frozenset().union(*(s.down_ids for s in down_segments))
        whole = any(not segment.up_ids for segment in down_segments)
        priorities = [
            rate_outage(
                component_down_ids=segment.down_ids,
                component_up_ids=segment.up_ids,
                every_monitor_down=_overlaps(all_down, segment.start, segment.end),
                critical_ids=critical_ids,
                is_public=definition.is_public,
            )
            for segment in down_segments
        ]
        priority = highest_priority(priorities)

        causes: list[str] = []
        for segment in down_segments:
            causes.extend(cause for cause in segment.causes if cause not in causes)
        downtime = sum((segment.duration for segment in down_segments), timedelta(0))
        title = f"{definition.name} outage" if whole else f"{definition.name} partial outage"
        incidents.append(
            Incident(
                id=incident_id(definition.name, started_at),
                title=title,
                status=IncidentStatus.INVESTIGATING if is_open else IncidentStatus.RESOLVED,
                impact=PRIORITY_IMPACT[priority],
                severity=PRIORITY_SEVERITY[priority],
                priority=priority,
                started_at=started_at,
                resolved_at=resolved_at,
                duration_s=((now if is_open else last_end) - started_at).total_seconds(),
                downtime_s=downtime.total_seconds(),
                components=[definition.name] if definition.is_public else [],
                monitors=[
                    MonitorRef(id=monitor_id, name=monitor_names.get(monitor_id, str(monitor_id)))
                    for monitor_id in sorted(down_ids)
                ],
                cause="; ".join(causes) or None,
            )
        )
    return incidents


def _overlaps(
    intervals: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> bool:
    """Return whether any of the sorted, disjoint intervals overlaps ``[start, end)``."""
    position = bisect.bisect_right([finish for _, finish in intervals], start)
    return position < len(intervals) and intervals[position][0] < end


def compute_mttr(incidents: Sequence[Incident], start: datetime, end: datetime) -> MttrReport:
    """Compute mean time to recovery over the incidents resolved inside ``[start, end)``.

    An incident that started before ``start`` counts from ``start``, so only its part inside the
    window counts. P0 and P1 incidents also feed ``critical_mttr_s``.
    """
    resolved = [
        incident
        for incident in incidents
        if incident.resolved_at is not None and start <= incident.resolved_at < end
    ]
    critical = [incident for incident in resolved if incident.priority in CRITICAL_PRIORITIES]
    open_count = sum(
        1 for incident in incidents if incident.resolved_at is None and incident.started_at < end
    )
    return MttrReport(
        window_start=start,
        window_end=end,
        mttr_s=_mean_recovery_s(resolved, start),
        critical_mttr_s=_mean_recovery_s(critical, start),
        resolved_count=len(resolved),
        critical_resolved_count=len(critical),
        open_count=open_count,
    )


def _mean_recovery_s(incidents: Sequence[Incident], start: datetime) -> float | None:
    if not incidents:
        return None
    total = timedelta(0)
    for incident in incidents:
        assert incident.resolved_at is not None
        total += incident.resolved_at - max(incident.started_at, start)
    return total.total_seconds() / len(incidents)
