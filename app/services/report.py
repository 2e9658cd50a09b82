"""The weekly report, built from one ISO week's data with the same rules as the live status.

``build_weekly_report`` takes ``ReportData`` (with ``now``) and returns a ``WeeklyReport``:
each target over the week against the previous week, the downtime budget of every month the
week touches, and the sections of ``app.services.report_sections``. Uptime, incidents and MTTR
come from the window timelines of ``app.services.report_window``. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from app.config import Settings
from app.models.report import MonthBudget, ReportData, ReportTarget, ReportWeek, WeeklyReport
from app.models.status import ErrorRate, MttrReport, SlaTargetName
from app.models.upstream import Monitor
from app.services.incidents import compute_mttr
from app.services.report_sections import (
    expiring_certificates,
    fired_alerts,
    issue_sections,
    monitor_trends,
    project_errors,
)
from app.services.report_window import WindowView, maybe_evaluate_window
from app.services.sla import uptime_target
from app.services.uptime import month_start, next_month_start, window_uptime

WEEK_PATTERN = re.compile(r"^(\d{4})-[Ww](\d{2})$")
WEEK_FORMAT_HINT = "an ISO week in the form YYYY-Www, for example 2026-W49"
MAX_SHOWN_CHARS = 20

_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)


# --- Weeks and months --------------------------------------------------------------------------


def week_from_iso(year: int, week: int) -> ReportWeek:
    """Build ISO week ``week`` of ``year``; ``ValueError`` when the year has no such week."""
    monday = date.fromisocalendar(year, week, 1)
    start = datetime.combine(monday, time(0, tzinfo=UTC))
    return ReportWeek(label=f"{year:04d}-W{week:02d}", start=start, end=start + 7 * _DAY)


def parse_week(text: str) -> ReportWeek:
    """Parse ``YYYY-Www``, raising ``ValueError`` with a message that names the format."""
    match = WEEK_PATTERN.match(text.strip())
    if match is None:
        shown = text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "..."
        raise ValueError(f"Invalid week {shown!r}; expected {WEEK_FORMAT_HINT}.")
    year, week = int(match[1]), int(match[2])
    try:
        return week_from_iso(year, week)
    except (ValueError, OverflowError):
        # The last week of year 9999 ends in year 10000, which datetime cannot hold.
        weeks = date(year, 12, 28).isocalendar().week if 1 <= year <= 9998 else None
        count = f"{year} has {weeks} ISO weeks" if weeks else "the year is out of range"
        raise ValueError(f"Invalid week {text!r}: {count}; expected {WEEK_FORMAT_HINT}.") from None


def week_containing(moment: datetime) -> ReportWeek:
    """Return the ISO week (UTC) that contains ``moment``."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return week_from_iso(year, week)


def last_complete_week(now: datetime) -> ReportWeek:
    """Return the newest week that ended at or before ``now``."""
    return week_containing(now).previous()


def month_label(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def months_touched(start: datetime, end: datetime) -> list[datetime]:
    """List the starts of the UTC months that ``[start, end)`` overlaps, oldest first."""
    months = []
    cursor = month_start(start)
    while cursor < end:
        months.append(cursor)
        cursor = next_month_start(cursor)
    return months


# --- Targets -----------------------------------------------------------------------------------


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _change(value: float | None, previous: float | None, digits: int) -> float | None:
    if value is None or previous is None:
        return None
    return round(value - previous, digits)


def _uptime_value(view: WindowView | None) -> float | None:
    if view is None:
        return None
    return window_uptime(view.system_timeline, view.start, view.end, "week").percent


def _uptime_target(
    view: WindowView | None, previous: WindowView | None, settings: Settings
) -> ReportTarget:
    target = settings.sla_uptime_target_percent
    value = _uptime_value(view)
    previous_value = _uptime_value(previous)
    reason = None
    if view is None:
        reason = "no UptimeRobot data for the week"
    elif value is None:
        reason = "no measured time in the week"
    return ReportTarget(
        name=SlaTargetName.UPTIME,
        description=f"Uptime of at least {target:g} %",
        target=target,
        unit="percent",
        value=value,
        met=None if value is None else value >= target,
        previous_value=previous_value,
        change=_change(value, previous_value, 3),
        method="monitor logs: time any public monitor was down, counted once, over measured time",
        reason=reason,
    )


def _worst_rate(rates: Iterable[ErrorRate]) -> ErrorRate | None:
    known = [rate for rate in rates if rate.percent is not None]
    return max(known, key=lambda rate: rate.percent or 0.0) if known else None


def _error_rate_target(
    rates: Sequence[ErrorRate], previous_rates: Sequence[ErrorRate], settings: Settings
) -> ReportTarget:
    target = settings.sla_error_rate_target_percent
    worst = _worst_rate(rates)
    previous_worst = _worst_rate(previous_rates)
    value = None if worst is None else worst.percent
    previous_value = None if previous_worst is None else previous_worst.percent
    method = "Sentry: the worst project's share of failed requests over the week"
    reason = None
    if worst is not None:
        method = f"Sentry: the worst project ({worst.project}, {worst.method}) over the week"
    else:
        reasons = [f"{rate.project}: {rate.reason}" for rate in rates if rate.reason]
        reason = "; ".join(reasons) or "no Sentry project configured"
    return ReportTarget(
        name=SlaTargetName.ERROR_RATE,
        description=f"Error rate below {target:g} % of requests",
        target=target,
        unit="percent",
        value=value,
        met=None if value is None else value < target,
        previous_value=previous_value,
        change=_change(value, previous_value, 4),
        method=method,
        reason=reason,
    )


def _slowest(view: WindowView | None) -> Monitor | None:
    if view is None:
        return None
    measured = [m for m in view.scope if m.average_response_time_ms is not None]
    return max(measured, key=lambda m: m.average_response_time_ms or 0.0) if measured else None


def _response_time_target(
    view: WindowView | None, previous: WindowView | None, settings: Settings
) -> ReportTarget:
    target = settings.sla_response_time_target_ms
    slowest = _slowest(view)
    previous_slowest = _slowest(previous)
    value = None if slowest is None else _round(slowest.average_response_time_ms, 1)
    previous_value = (
        None if previous_slowest is None else _round(previous_slowest.average_response_time_ms, 1)
    )
    method = "UptimeRobot: the slowest public monitor's average response time over the week"
    if slowest is not None:
        method += f" ({slowest.name})"
    return ReportTarget(
        name=SlaTargetName.RESPONSE_TIME,
        description=f"Average response time below {target:g} ms",
        target=target,
        unit="ms",
        value=value,
        met=None if value is None else value < target,
        previous_value=previous_value,
        change=_change(value, previous_value, 1),
        method=method,
        reason=None if value is not None else "no public monitor reports a response time",
    )


def _mttr(view: WindowView | None) -> MttrReport | None:
    if view is None:
        return None
    return compute_mttr(view.incidents, view.start, view.end)


def _mttr_minutes(mttr: MttrReport | None) -> float | None:
    if mttr is None or mttr.critical_mttr_s is None:
        return None
    return round(mttr.critical_mttr_s / 60, 1)


def _mttr_target(
    mttr: MttrReport | None, previous: MttrReport | None, settings: Settings
) -> ReportTarget:
    target = settings.sla_mttr_target_minutes
    value = _mttr_minutes(mttr)
    previous_value = _mttr_minutes(previous)
    reason = None
    if mttr is None:
        reason = "no UptimeRobot data for the week"
    elif value is None:
        reason = "no critical incident resolved in the week"
    return ReportTarget(
        name=SlaTargetName.MTTR,
        description=f"Mean time to recovery of critical incidents below {target:g} min",
        target=target,
        unit="min",
        value=value,
        met=None if value is None else value < target,
        previous_value=previous_value,
        change=_change(value, previous_value, 1),
        method="incidents from monitor logs: P0 and P1 incidents resolved in the week",
        reason=reason,
    )


# --- Error budgets -----------------------------------------------------------------------------


def month_budget(
    view: WindowView | None,
    first: datetime,
    window_end: datetime,
    settings: Settings,
    *,
    is_report_month: bool,
) -> MonthBudget:
    """Measure one month's downtime budget from its first instant to ``window_end``.

    ``view`` covers the month's part up to ``window_end``; without it, only the budget's
    size is known.
    """
    month_end = next_month_start(first)
    end = min(window_end, month_end)
    # uptime_target measures the month that contains its ``now``, so a whole month is measured
    # up to its last microsecond.
    measured_until = min(end, month_end - _MICROSECOND)
    timeline = view.system_timeline if view is not None else []
    scope = view.scope if view is not None else []
    target, _ = uptime_target(timeline, scope, settings, measured_until)
    return MonthBudget(
        month=month_label(first),
        is_report_month=is_report_month,
        window_start=first,
        window_end=end,
        month_complete=end >= month_end,
        target_percent=settings.sla_uptime_target_percent,
        budget_total_min=round(target.budget_total or 0.0, 3),
        budget_used_min=None if view is None else _round(target.budget_used, 3),
        budget_remaining_min=None if view is None else _round(target.budget_remaining, 3),
        budget_used_percent=None if view is None else _round(target.budget_used_percent, 2),
        uptime_percent=None if view is None else target.measured,
        reason=None if view is not None else "no UptimeRobot data for this month",
    )


def month_budgets(data: ReportData, as_of: datetime, settings: Settings) -> list[MonthBudget]:
    """Measure the budget of every month the week touches, up to ``as_of``.

    The headline month is the one that contains the last instant of the report, so a week
    from Monday 30 November to Sunday 6 December reports December's budget, and November's
    budget counts only the downtime of 30 November.
    """
    report_month = month_start(as_of - _MICROSECOND)
    budgets = []
    for first in months_touched(data.week.start, as_of):
        end = min(next_month_start(first), as_of)
        view = maybe_evaluate_window(
            data.month_monitors.get(month_label(first)),
            data.current_monitors,
            first,
            end,
            settings,
        )
        budgets.append(
            month_budget(view, first, as_of, settings, is_report_month=first == report_month)
        )
    return budgets


# --- Notes -------------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def report_notes(data: ReportData, as_of: datetime, partial: bool) -> list[str]:
    """List the caveats a reader needs: a partial week, missing data, cut issue lists."""
    notes = []
    if partial:
        notes.append(
            f"Partial week: the data runs to {_when(as_of)} and the week ends "
            f"{_when(data.week.end)}. Changes compare it with the whole previous week."
        )
    for freshness in data.freshness:
        if not freshness.available:
            error = freshness.last_error or "not fetched yet"
            notes.append(f"No data for {freshness.key} ({error}); its sections are empty.")
    truncated = sorted(
        listing.project
        for listing in data.issues.values()
        if any(s.truncated for s in (listing.by_events, listing.by_users, listing.newest))
    )
    if truncated:
        notes.append(
            f"Sentry issue lists of {', '.join(truncated)} stopped at SENTRY_ISSUE_PAGE_CAP "
            "pages, so the issue sections may miss some issues."
        )
    return notes


# --- The report --------------------------------------------------------------------------------


def build_weekly_report(data: ReportData, settings: Settings) -> WeeklyReport:
    """Build the weekly report from the week's data, as of ``data.now``."""
    week = data.week
    previous_week = week.previous()
    as_of = min(week.end, data.now)
    partial = data.now < week.end

    view = maybe_evaluate_window(data.monitors, data.current_monitors, week.start, as_of, settings)
    previous_view = maybe_evaluate_window(
        data.previous_monitors,
        data.current_monitors,
        previous_week.start,
        previous_week.end,
        settings,
    )
    mttr = _mttr(view)
    errors = project_errors(data, settings, as_of)
    targets = [
        _uptime_target(view, previous_view, settings),
        _error_rate_target(errors.rates, errors.previous_rates, settings),
        _response_time_target(view, previous_view, settings),
        _mttr_target(mttr, _mttr(previous_view), settings),
    ]
    budgets = month_budgets(data, as_of, settings)

    trends = monitor_trends(view, data.monitors, data.previous_monitors, week, as_of)
    incidents = view.incidents if view is not None else []
    issues = issue_sections(data, week.start, as_of)
    certificate_source = data.monitors or data.current_monitors
    certificates = expiring_certificates(
        certificate_source.monitors if certificate_source else [],
        as_of,
        settings.alert_ssl_expiry_days,
    )
    alerts = fired_alerts(
        week=week,
        incidents=incidents,
        errors=errors.rows,
        trends=trends,
        certificates=certificates,
        settings=settings,
    )

    return WeeklyReport(
        title=f"Weekly monitoring report {week.label}",
        week=week,
        previous_week=previous_week,
        generated_at=data.now,
        as_of=as_of,
        partial=partial,
        stale=any(item.stale or not item.available for item in data.freshness),
        notes=report_notes(data, as_of, partial),
        targets=targets,
        budget_month=month_label(month_start(as_of - _MICROSECOND)),
        budgets=budgets,
        incidents=incidents,
        mttr=mttr,
        top_issues_by_events=issues.by_events,
        top_issues_by_users=issues.by_users,
        new_issues=issues.new,
        new_issue_count=issues.new_count,
        regressed_issues=issues.regressed,
        regressed_issue_count=issues.regressed_count,
        errors=errors.rows,
        monitors=trends,
        certificate_days=settings.alert_ssl_expiry_days,
        certificates=certificates,
        alerts=alerts,
        sources=list(data.freshness),
    )
