"""Report sections built from a week's data: monitor trends, Sentry errors and issues,
expiring certificates and the alerts that fired.

Alerts are derived from what a past week's data still shows: monitor-down incidents, days
with an error spike, a week's error rate or LCP over its limit, days with a slow average
response and certificates close to expiry.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.config import Settings
from app.models.report import (
    CertificateExpiry,
    DailyCount,
    DailyResponseTime,
    FiredAlert,
    MonitorTrend,
    ProjectWeekErrors,
    ReportAlertRule,
    ReportData,
    ReportWeek,
)
from app.models.snapshot import SystemSnapshot
from app.models.status import PRIORITY_ORDER, ErrorRate, Incident, Priority
from app.models.upstream import (
    CountPoint,
    ErrorStats,
    Monitor,
    MonitorsSnapshot,
    PerformanceStats,
    SentryIssue,
)
from app.services.report_window import WindowView
from app.services.sla import compute_error_rate
from app.services.uptime import normalize_ratio, window_uptime
from app.sources.uptimerobot import WINDOW_RATIO_KEY

TOP_ISSUES = 5
LISTED_ISSUES = 10
REGRESSED_SUBSTATUS = "regressed"
# A day is an error spike when it has more than this many times the errors of the week's
# median day. Sentry's 5-minute counts are not kept for past weeks, so the live 5-minute
# rule cannot be replayed.
ERROR_SPIKE_FACTOR = 3.0

_DAY = timedelta(days=1)


def week_days(week: ReportWeek) -> list[date]:
    return [(week.start + offset * _DAY).date() for offset in range(7)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, tzinfo=UTC))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- Monitors ----------------------------------------------------------------------------------


def daily_response_times(
    monitor: Monitor, days: Sequence[date], as_of: datetime
) -> list[DailyResponseTime]:
    """Average the monitor's response-time points per UTC day; days after ``as_of`` are empty."""
    values: dict[date, list[float]] = {}
    for point in monitor.response_times:
        if point.at < as_of:
            values.setdefault(point.at.astimezone(UTC).date(), []).append(point.value_ms)
    return [
        DailyResponseTime(
            day=day,
            average_ms=round(statistics.fmean(values[day]), 1) if day in values else None,
        )
        for day in days
    ]


def monitor_trends(
    view: WindowView | None,
    raw: MonitorsSnapshot | None,
    previous: MonitorsSnapshot | None,
    week: ReportWeek,
    as_of: datetime,
) -> list[MonitorTrend]:
    """Describe every monitor of the week: uptime, average and daily response times."""
    if view is None or raw is None:
        return []
    previous_by_id = {m.id: m for m in (previous.monitors if previous else [])}
    days = week_days(week)
    trends = []
    for monitor in raw.monitors:
        earlier = previous_by_id.get(monitor.id)
        components = [
            d.name for d in view.definitions if d.is_public and monitor.id in d.monitor_ids
        ]
        figure = window_uptime(view.timelines[monitor.id], view.start, view.end, week.label)
        trends.append(
            MonitorTrend(
                id=monitor.id,
                name=monitor.name,
                components=components,
                uptime_percent=figure.percent,
                uptimerobot_percent=normalize_ratio(monitor.uptime_ratios.get(WINDOW_RATIO_KEY)),
                average_response_time_ms=_round(monitor.average_response_time_ms, 1),
                previous_average_response_time_ms=(
                    None if earlier is None else _round(earlier.average_response_time_ms, 1)
                ),
                daily=daily_response_times(monitor, days, as_of),
            )
        )
    return trends


# --- Sentry errors -----------------------------------------------------------------------------


def total_count(points: Sequence[CountPoint] | None) -> int | None:
    return None if points is None else sum(point.count for point in points)


def daily_counts(
    points: Sequence[CountPoint] | None, days: Sequence[date], as_of: datetime
) -> list[DailyCount]:
    """Sum error counts per UTC day; days without a bucket or after ``as_of`` are empty."""
    counts: dict[date, int] = {}
    for point in points or []:
        if point.at < as_of:
            day = point.at.astimezone(UTC).date()
            counts[day] = counts.get(day, 0) + point.count
    return [DailyCount(day=day, count=counts.get(day)) for day in days]


def week_error_rate(
    project: str, counts: Sequence[CountPoint] | None, performance: PerformanceStats | None
) -> ErrorRate:
    """Compute a project's error rate over a week with the live status's rules."""
    # compute_error_rate reads the error count from ErrorStats.total_24h; here that field
    # carries the week's total.
    total = total_count(counts)
    snapshot = SystemSnapshot(
        taken_at=datetime.min.replace(tzinfo=UTC),
        error_stats={}
        if total is None
        else {project: ErrorStats(project=project, total_24h=total)},
        performance={} if performance is None else {project: performance},
    )
    rate = compute_error_rate(project, snapshot)
    if rate.percent is None and rate.requests == 0:
        rate = rate.model_copy(update={"reason": "no transactions in the week"})
    return rate


@dataclass(frozen=True)
class ErrorSection:
    """Per-project error rows, with the error rates of the week and of the week before."""

    rows: list[ProjectWeekErrors]
    rates: list[ErrorRate]
    previous_rates: list[ErrorRate]


def project_errors(data: ReportData, settings: Settings, as_of: datetime) -> ErrorSection:
    """Describe each configured Sentry project's errors over the week."""
    days = week_days(data.week)
    section = ErrorSection(rows=[], rates=[], previous_rates=[])
    for project in settings.sentry_projects:
        counts = data.error_counts.get(project)
        previous_counts = data.previous_error_counts.get(project)
        performance = data.performance.get(project)
        rate = week_error_rate(project, counts, performance)
        previous_rate = week_error_rate(
            project, previous_counts, data.previous_performance.get(project)
        )
        section.rates.append(rate)
        section.previous_rates.append(previous_rate)
        section.rows.append(
            ProjectWeekErrors(
                project=project,
                total=total_count(counts),
                previous_total=total_count(previous_counts),
                daily=daily_counts(counts, days, as_of),
                error_rate=rate,
                previous_error_rate_percent=previous_rate.percent,
                transactions=None if performance is None else performance.transaction_count,
                lcp_p75_ms=None if performance is None else performance.lcp_p75_ms,
            )
        )
    return section


# --- Sentry issues -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueSection:
    """The issue lists of the report; the counts include issues beyond the listed ones."""

    by_events: list[SentryIssue]
    by_users: list[SentryIssue]
    new: list[SentryIssue]
    new_count: int
    regressed: list[SentryIssue]
    regressed_count: int


def _ranked(
    issues: Iterable[SentryIssue], amount: Callable[[SentryIssue], int | None]
) -> list[SentryIssue]:
    """Deduplicate by id and sort by ``amount``, largest first; unknown amounts go last."""
    unique = {issue.id: issue for issue in issues}

    def key(issue: SentryIssue) -> tuple[int, str]:
        value = amount(issue)
        return (-(value if value is not None else -1), issue.id)

    return sorted(unique.values(), key=key)


def _first_seen(issue: SentryIssue) -> datetime:
    assert issue.first_seen is not None
    return issue.first_seen


def issue_sections(data: ReportData, start: datetime, as_of: datetime) -> IssueSection:
    """Pick the top issues by events and by users, the new ones and the regressed ones."""
    listings = list(data.issues.values())
    by_events = _ranked((i for x in listings for i in x.by_events.issues), lambda i: i.count)
    by_users = _ranked((i for x in listings for i in x.by_users.issues), lambda i: i.user_count)
    new = sorted(
        {
            issue.id: issue
            for listing in listings
            for issue in listing.newest.issues
            if issue.first_seen is not None and start <= issue.first_seen < as_of
        }.values(),
        key=lambda issue: (_first_seen(issue), issue.id),
    )
    regressed = _ranked(
        (
            issue
            for listing in listings
            for snapshot in (listing.by_events, listing.by_users, listing.newest)
            for issue in snapshot.issues
            if issue.substatus == REGRESSED_SUBSTATUS
        ),
        lambda issue: issue.count,
    )
    return IssueSection(
        by_events=by_events[:TOP_ISSUES],
        by_users=by_users[:TOP_ISSUES],
        new=new[:LISTED_ISSUES],
        new_count=len(new),
        regressed=regressed[:LISTED_ISSUES],
        regressed_count=len(regressed),
    )


# --- Certificates ------------------------------------------------------------------------------


def expiring_certificates(
    monitors: Sequence[Monitor], as_of: datetime, days: int
) -> list[CertificateExpiry]:
    """List certificates expiring within ``days`` days after ``as_of`` (or already expired)."""
    horizon = as_of + days * _DAY
    rows = [
        CertificateExpiry(
            monitor_id=monitor.id,
            monitor=monitor.name,
            brand=monitor.ssl.brand,
            expires_at=monitor.ssl.expires_at,
            days_left=round((monitor.ssl.expires_at - as_of) / _DAY, 1),
        )
        for monitor in monitors
        if monitor.ssl is not None
        and monitor.ssl.expires_at is not None
        and monitor.ssl.expires_at <= horizon
    ]
    return sorted(rows, key=lambda row: (row.expires_at, row.monitor))


# --- Alerts ------------------------------------------------------------------------------------


def _down_alerts(incidents: Sequence[Incident]) -> list[FiredAlert]:
    return [
        FiredAlert(
            rule=ReportAlertRule.MONITOR_DOWN,
            subject=monitor.name,
            description=f"{monitor.name} was down ({incident.title})",
            priority=incident.priority,
            at=incident.started_at,
            value=round(incident.downtime_s / 60, 1),
            unit="min down",
        )
        for incident in incidents
        for monitor in incident.monitors
    ]


def _spike_alerts(row: ProjectWeekErrors) -> list[FiredAlert]:
    known = [day.count for day in row.daily if day.count is not None]
    median = statistics.median(known) if known else 0
    limit = ERROR_SPIKE_FACTOR * max(median, 1)
    return [
        FiredAlert(
            rule=ReportAlertRule.ERROR_SPIKE,
            subject=row.project,
            description=(
                f"{day.count} errors in {row.project} on {day.day.isoformat()}, over "
                f"{ERROR_SPIKE_FACTOR:g} times the week's median day ({median:g})"
            ),
            priority=Priority.P2,
            at=_midnight(day.day),
            value=float(day.count),
            threshold=limit,
            unit="errors a day",
        )
        for day in row.daily
        if day.count is not None and day.count > limit
    ]


def _project_alerts(
    rows: Sequence[ProjectWeekErrors], week: ReportWeek, settings: Settings
) -> list[FiredAlert]:
    alerts: list[FiredAlert] = []
    for row in rows:
        alerts.extend(_spike_alerts(row))
        rate = row.error_rate.percent if row.error_rate is not None else None
        rate_limit = settings.alert_error_rate_p1_percent
        if rate is not None and rate > rate_limit:
            alerts.append(
                FiredAlert(
                    rule=ReportAlertRule.ERROR_RATE,
                    subject=row.project,
                    description=f"Error rate of {row.project} over {rate_limit:g} % for the week",
                    priority=Priority.P1,
                    at=week.start,
                    value=rate,
                    threshold=rate_limit,
                    unit="percent",
                )
            )
        lcp_limit = settings.alert_lcp_p75_ms
        if row.lcp_p75_ms is not None and row.lcp_p75_ms > lcp_limit:
            alerts.append(
                FiredAlert(
                    rule=ReportAlertRule.LCP_P75,
                    subject=row.project,
                    description=f"LCP p75 of {row.project} over {lcp_limit:g} ms for the week",
                    priority=Priority.P2,
                    at=week.start,
                    value=row.lcp_p75_ms,
                    threshold=lcp_limit,
                    unit="ms",
                )
            )
    return alerts


def _slow_alerts(trends: Sequence[MonitorTrend], settings: Settings) -> list[FiredAlert]:
    limit = settings.alert_response_time_p1_ms
    return [
        FiredAlert(
            rule=ReportAlertRule.RESPONSE_TIME,
            subject=trend.name,
            description=f"Average response time of {trend.name} over {limit:g} ms for a day",
            priority=Priority.P1,
            at=_midnight(day.day),
            value=day.average_ms,
            threshold=limit,
            unit="ms",
        )
        for trend in trends
        for day in trend.daily
        if day.average_ms is not None and day.average_ms > limit
    ]


def _ssl_alerts(
    certificates: Sequence[CertificateExpiry], week: ReportWeek, settings: Settings
) -> list[FiredAlert]:
    days = settings.alert_ssl_expiry_days
    return [
        FiredAlert(
            rule=ReportAlertRule.SSL_EXPIRY,
            subject=row.monitor,
            description=f"TLS certificate of {row.monitor} expires within {days} days",
            priority=Priority.P1 if row.days_left <= 0 else Priority.P3,
            at=max(week.start, row.expires_at - days * _DAY),
            value=row.days_left,
            threshold=float(days),
            unit="days",
        )
        for row in certificates
    ]


def fired_alerts(
    *,
    week: ReportWeek,
    incidents: Sequence[Incident],
    errors: Sequence[ProjectWeekErrors],
    trends: Sequence[MonitorTrend],
    certificates: Sequence[CertificateExpiry],
    settings: Settings,
) -> list[FiredAlert]:
    """Derive the alerts that fired during the week, in time order, highest priority first."""
    alerts = [
        *_down_alerts(incidents),
        *_project_alerts(errors, week, settings),
        *_slow_alerts(trends, settings),
        *_ssl_alerts(certificates, week, settings),
    ]
    return sorted(
        alerts,
        key=lambda alert: (alert.at, PRIORITY_ORDER[alert.priority], alert.rule, alert.subject),
    )
