"""Alert rules evaluated on one snapshot: every rule with its firing flag, value and threshold.

Rules are listed even when they do not fire, so the admin view shows what is watched. A rule
without data (``has_data`` false) never fires: absent data is shown as unknown elsewhere, never
as an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from app.config import Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import PRIORITY_ORDER, Alert, AlertRule, ErrorRate, Priority
from app.models.upstream import LogType, Monitor, MonitorStatus
from app.services.components import ComponentDefinition, critical_monitor_ids
from app.services.incidents import highest_priority, rate_outage
from app.services.sla import MEASURING_STATUSES, project_slugs
from app.services.uptime import in_maintenance

_DAY = timedelta(days=1)


def evaluate_alerts(
    snapshot: SystemSnapshot,
    settings: Settings,
    now: datetime,
    definitions: Sequence[ComponentDefinition],
    error_rates: Sequence[ErrorRate],
) -> list[Alert]:
    """Evaluate every alert rule, highest priority first."""
    alerts: list[Alert] = []
    rates = {rate.project: rate for rate in error_rates}
    for project in project_slugs(snapshot, settings):
        alerts.extend(_project_alerts(project, snapshot, settings, rates.get(project)))
    alerts.extend(_monitor_alerts(snapshot, settings, now, definitions))
    return sorted(alerts, key=lambda alert: (PRIORITY_ORDER[alert.priority], alert.rule_id))


# --- Sentry projects ---------------------------------------------------------------------------


def _project_alerts(
    project: str, snapshot: SystemSnapshot, settings: Settings, rate: ErrorRate | None
) -> list[Alert]:
    alerts: list[Alert] = []
    stats = snapshot.error_stats.get(project)
    threshold_5m = settings.alert_errors_5m.get(project)
    if threshold_5m is not None:
        count = None if stats is None else float(stats.last_5m)
        alerts.append(
            _threshold_alert(
                rule=AlertRule.ERRORS_5M,
                subject=project,
                description=f"More than {threshold_5m} errors in 5 minutes in {project}",
                priority=Priority.P2,
                value=count,
                threshold=float(threshold_5m),
                unit="errors",
            )
        )

    percent = None if rate is None else rate.percent
    limit = settings.alert_error_rate_p1_percent
    alerts.append(
        _threshold_alert(
            rule=AlertRule.ERROR_RATE,
            subject=project,
            description=f"Error rate of {project} over {limit:g} %",
            priority=Priority.P1,
            value=percent,
            threshold=limit,
            unit="percent",
        )
    )

    performance = snapshot.performance.get(project)
    lcp = None if performance is None else performance.lcp_p75_ms
    lcp_limit = settings.alert_lcp_p75_ms
    alerts.append(
        _threshold_alert(
            rule=AlertRule.LCP_P75,
            subject=project,
            description=f"LCP p75 of {project} over {lcp_limit:g} ms",
            priority=Priority.P2,
            value=lcp,
            threshold=lcp_limit,
            unit="ms",
        )
    )
    return alerts


def _threshold_alert(
    *,
    rule: AlertRule,
    subject: str,
    description: str,
    priority: Priority,
    value: float | None,
    threshold: float,
    unit: str,
    since: datetime | None = None,
    rule_key: str | None = None,
) -> Alert:
    """Build an alert that fires when ``value`` is over ``threshold``."""
    firing = value is not None and value > threshold
    return Alert(
        rule_id=f"{rule}:{rule_key or subject}",
        rule=rule,
        subject=subject,
        description=description,
        priority=priority,
        firing=firing,
        since=since if firing else None,
        value=value,
        threshold=threshold,
        unit=unit,
        has_data=value is not None,
    )


# --- Monitors ----------------------------------------------------------------------------------


def _is_checking(monitor: Monitor, now: datetime) -> bool:
    return monitor.status in MEASURING_STATUSES and not in_maintenance(monitor, now)


def _latest_down_at(monitor: Monitor) -> datetime | None:
    """Return when the monitor went down, if its newest log is a down log."""
    if not monitor.logs:
        return None
    newest = max(monitor.logs, key=lambda log: log.at)
    return newest.at if newest.type is LogType.DOWN else None


def _slow_since(monitor: Monitor, threshold_ms: float) -> datetime | None:
    """Return the start of the newest run of response times over the threshold."""
    since = None
    for point in sorted(monitor.response_times, key=lambda point: point.at, reverse=True):
        if point.value_ms <= threshold_ms:
            break
        since = point.at
    return since


def _monitor_alerts(
    snapshot: SystemSnapshot,
    settings: Settings,
    now: datetime,
    definitions: Sequence[ComponentDefinition],
) -> list[Alert]:
    if snapshot.monitors is None:
        return [
            Alert(
                rule_id=f"{AlertRule.ALL_MONITORS_DOWN}:all",
                rule=AlertRule.ALL_MONITORS_DOWN,
                subject=None,
                description="Every monitor is down",
                priority=Priority.P0,
                firing=False,
                threshold=0,
                unit="monitors",
                has_data=False,
            )
        ]

    monitors = snapshot.monitors.monitors
    critical_ids = critical_monitor_ids(settings, monitors)
    scope_ids = {i for d in definitions if d.is_public for i in d.monitor_ids}
    checking_ids = frozenset(m.id for m in monitors if _is_checking(m, now))
    down_ids = frozenset(
        m.id for m in monitors if m.id in checking_ids and m.status is MonitorStatus.DOWN
    )

    alerts = [_all_down_alert(monitors, scope_ids, checking_ids, down_ids)]
    for monitor in monitors:
        alerts.append(
            _monitor_down_alert(
                monitor, definitions, checking_ids, down_ids, scope_ids, critical_ids
            )
        )
        checking = monitor.id in checking_ids
        average = monitor.average_response_time_ms if checking else None
        limit = settings.alert_response_time_p1_ms
        alerts.append(
            _threshold_alert(
                rule=AlertRule.RESPONSE_TIME,
                subject=monitor.name,
                description=f"Average response time of {monitor.name} over {limit:g} ms",
                priority=Priority.P1,
                value=average,
                threshold=limit,
                unit="ms",
                since=_slow_since(monitor, limit),
                rule_key=str(monitor.id),
            )
        )
        ssl_alert = _ssl_alert(monitor, settings, now)
        if ssl_alert is not None:
            alerts.append(ssl_alert)
    return alerts


def _all_down_alert(
    monitors: Sequence[Monitor],
    scope_ids: set[int],
    checking_ids: frozenset[int],
    down_ids: frozenset[int],
) -> Alert:
    """Fire when every checking monitor of the public components is down."""
    checking_scope = checking_ids & scope_ids
    down_scope = down_ids & scope_ids
    firing = bool(checking_scope) and checking_scope == down_scope
    since = None
    if firing:
        times = [_latest_down_at(m) for m in monitors if m.id in down_scope]
        known = [moment for moment in times if moment is not None]
        since = max(known) if len(known) == len(times) else None
    return Alert(
        rule_id=f"{AlertRule.ALL_MONITORS_DOWN}:all",
        rule=AlertRule.ALL_MONITORS_DOWN,
        subject=None,
        description="Every monitor is down",
        priority=Priority.P0,
        firing=firing,
        since=since,
        value=float(len(down_scope)),
        threshold=float(len(checking_scope)),
        unit="monitors",
        has_data=bool(checking_scope),
    )


def _monitor_down_alert(
    monitor: Monitor,
    definitions: Sequence[ComponentDefinition],
    checking_ids: frozenset[int],
    down_ids: frozenset[int],
    scope_ids: set[int],
    critical_ids: frozenset[int],
) -> Alert:
    """Fire when the monitor is down, with the priority it has (or would have) now.

    A database or auth monitor down is P0, and so is every monitor down. A whole public
    component down is P1, part of one is P2, and a monitor of no public component is P3. Seems
    down (not confirmed yet) does not fire.
    """
    checking = monitor.id in checking_ids
    firing = checking and monitor.status is MonitorStatus.DOWN
    down = down_ids | {monitor.id}
    up = (checking_ids | {monitor.id}) - down
    every_down = not (up & scope_ids) and monitor.id in scope_ids
    priorities = [
        rate_outage(
            component_down_ids=frozenset(definition.monitor_ids) & down,
            component_up_ids=frozenset(definition.monitor_ids) & up,
            every_monitor_down=every_down,
            critical_ids=critical_ids,
            is_public=definition.is_public,
        )
        for definition in definitions
        if monitor.id in definition.monitor_ids
    ]
    priority = highest_priority(priorities) if priorities else Priority.P3
    return Alert(
        rule_id=f"{AlertRule.MONITOR_DOWN}:{monitor.id}",
        rule=AlertRule.MONITOR_DOWN,
        subject=monitor.name,
        description=f"{monitor.name} is down",
        priority=priority,
        firing=firing,
        since=_latest_down_at(monitor) if firing else None,
        value=1.0 if firing else 0.0,
        threshold=1.0,
        unit="monitors down",
        has_data=checking,
    )


def _ssl_alert(monitor: Monitor, settings: Settings, now: datetime) -> Alert | None:
    """Fire when the certificate expires within the configured days; expired is P1, else P3."""
    if monitor.ssl is None or monitor.ssl.expires_at is None:
        return None
    expires_at = monitor.ssl.expires_at
    days_left = (expires_at - now) / _DAY
    threshold = settings.alert_ssl_expiry_days
    firing = days_left <= threshold
    return Alert(
        rule_id=f"{AlertRule.SSL_EXPIRY}:{monitor.id}",
        rule=AlertRule.SSL_EXPIRY,
        subject=monitor.name,
        description=f"TLS certificate of {monitor.name} expires within {threshold} days",
        priority=Priority.P1 if days_left <= 0 else Priority.P3,
        firing=firing,
        since=expires_at - threshold * _DAY if firing else None,
        value=round(days_left, 2),
        threshold=float(threshold),
        unit="days",
    )
