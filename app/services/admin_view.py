"""Shape the evaluated status and snapshots into the admin response models.

Pure functions over a ``SystemStatus`` and its ``SystemSnapshot``; the admin routers only parse
parameters and call one of these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.config import Settings
from app.models.admin import (
    AdminDashboard,
    ErrorPage,
    MonitorDetail,
    ProjectErrors,
    UpstreamHealth,
)
from app.models.snapshot import Freshness, SystemSnapshot
from app.models.status import AlertRule, Incident, SystemStatus
from app.models.upstream import IssueLevel, IssueStatus, Monitor, SentryIssue
from app.services.public_view import UPSTREAMS, source_freshness
from app.sources.base import SourceHealth

RECENT_INCIDENTS = 10


def envelope(snapshot: SystemSnapshot, now: datetime) -> dict[str, Any]:
    """The fields every admin body starts with."""
    return {
        "generated_at": now,
        "stale": snapshot.stale,
        "sources": source_freshness(snapshot.freshness),
        "missing": sorted(key for key, item in snapshot.freshness.items() if not item.available),
    }


def project_errors(
    status: SystemStatus, snapshot: SystemSnapshot, settings: Settings
) -> list[ProjectErrors]:
    firing = {
        alert.subject
        for alert in status.alerts
        if alert.rule is AlertRule.ERRORS_5M and alert.firing
    }
    return [
        ProjectErrors(
            project=project,
            total_24h=stats.total_24h,
            last_5m=stats.last_5m,
            threshold_5m=settings.alert_errors_5m.get(project),
            alert_firing=project in firing,
            hourly=stats.hourly,
        )
        for project, stats in snapshot.error_stats.items()
    ]


def dashboard(
    status: SystemStatus, snapshot: SystemSnapshot, settings: Settings, now: datetime
) -> AdminDashboard:
    return AdminDashboard(
        **envelope(snapshot, now),
        overall=status.overall,
        light=status.light,
        banner=status.banner,
        components=status.components,
        monitors=status.monitors,
        open_incidents=status.open_incidents,
        recent_incidents=status.incidents[:RECENT_INCIDENTS],
        mttr=status.mttr,
        firing_alerts=status.firing_alerts,
        error_rates=status.error_rates,
        errors=project_errors(status, snapshot, settings),
        performance=list(snapshot.performance.values()),
        sla=status.sla,
    )


def find_monitor(snapshot: SystemSnapshot, monitor_id: int) -> Monitor | None:
    if snapshot.monitors is None:
        return None
    for monitor in snapshot.monitors.monitors:
        if monitor.id == monitor_id:
            return monitor
    return None


def monitor_detail(
    status: SystemStatus, snapshot: SystemSnapshot, monitor: Monitor, now: datetime
) -> MonitorDetail:
    summary = next(item for item in status.monitors if item.id == monitor.id)
    incidents = [
        incident
        for incident in status.incidents
        if any(ref.id == monitor.id for ref in incident.monitors)
    ]
    return MonitorDetail(
        **envelope(snapshot, now),
        monitor=summary,
        url=monitor.url,
        type=monitor.type,
        interval_s=monitor.interval_s,
        keyword_value=monitor.keyword_value,
        logs=monitor.logs,
        response_times=monitor.response_times,
        ssl=monitor.ssl,
        maintenance_windows=monitor.maintenance_windows,
        incidents=incidents,
    )


def filter_issues(
    snapshot: SystemSnapshot,
    *,
    project: str | None,
    level: IssueLevel | None,
    status: IssueStatus | None,
    query: str | None,
) -> list[SentryIssue]:
    """Issues matching every given filter, most recently seen first."""
    needle = query.lower() if query else None
    matches = []
    for slug, issues in snapshot.issues.items():
        if project is not None and slug != project:
            continue
        for issue in issues.issues:
            if level is not None and issue.level is not level:
                continue
            if status is not None and issue.status is not status:
                continue
            if needle and not _matches(issue, needle):
                continue
            matches.append(issue)
    return sorted(matches, key=_last_seen_key, reverse=True)


def _matches(issue: SentryIssue, needle: str) -> bool:
    fields = (issue.title, issue.culprit or "", issue.short_id or "")
    return any(needle in text.lower() for text in fields)


def _last_seen_key(issue: SentryIssue) -> float:
    return issue.last_seen.timestamp() if issue.last_seen else 0.0


def error_page(
    snapshot: SystemSnapshot, issues: list[SentryIssue], page: int, per_page: int, now: datetime
) -> ErrorPage:
    start = (page - 1) * per_page
    return ErrorPage(
        **envelope(snapshot, now),
        issues=issues[start : start + per_page],
        page=page,
        per_page=per_page,
        total=len(issues),
        pages=max(1, math.ceil(len(issues) / per_page)),
        truncated_projects=sorted(slug for slug, item in snapshot.issues.items() if item.truncated),
    )


def incidents_of_window(
    incidents: Iterable[Incident], since: datetime | None, open_only: bool
) -> list[Incident]:
    result = []
    for incident in incidents:
        if open_only and not incident.is_open:
            continue
        end = incident.resolved_at
        if since is not None and end is not None and end < since:
            continue
        result.append(incident)
    return result


def upstream_health(
    health: Iterable[SourceHealth],
    freshness: dict[str, Freshness],
    blocked_until: dict[str, datetime | None],
) -> list[UpstreamHealth]:
    by_source = {item.source: item for item in health}
    result = []
    for source in UPSTREAMS:
        item = by_source.get(source) or SourceHealth(source=source)
        keys = [value for key, value in freshness.items() if key.startswith(f"{source}:")]
        result.append(
            UpstreamHealth(
                source=source,
                calls=item.calls,
                failures=item.failures,
                last_call_at=item.last_call_at,
                last_success_at=item.last_success_at,
                last_error_at=item.last_error_at,
                last_error_kind=item.last_error_kind,
                last_status=item.last_status,
                last_duration_ms=item.last_duration_ms,
                headroom=item.headroom,
                blocked_until=blocked_until.get(source),
                keys=keys,
            )
        )
    return result
