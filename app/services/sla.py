"""SLA targets, error budgets and the error rate of each Sentry project.

Each target states its window, method and budget, and the uptime target also states the sum
behind it (elapsed, maintenance, paused, no-data, measured and down time), so an auditor can
redo it. Nothing here divides by zero: a figure that cannot be measured is ``None`` with a
reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from app.config import Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import (
    ErrorRate,
    ErrorRateMethod,
    MttrReport,
    SlaReport,
    SlaTarget,
    SlaTargetName,
    UptimeAccounting,
)
from app.models.upstream import Monitor, MonitorStatus
from app.services.uptime import (
    Timeline,
    in_maintenance,
    month_start,
    next_month_start,
    tally,
    uptime_percent,
)

ERROR_RATE_WINDOW = timedelta(hours=24)

MEASURING_STATUSES = frozenset({MonitorStatus.UP, MonitorStatus.SEEMS_DOWN, MonitorStatus.DOWN})


# --- Error rate --------------------------------------------------------------------------------


def project_slugs(snapshot: SystemSnapshot, settings: Settings) -> list[str]:
    """List the configured Sentry projects, then any other project present in the snapshot."""
    slugs = list(dict.fromkeys(settings.sentry_projects))
    for source in (snapshot.error_stats, snapshot.performance, snapshot.issues):
        slugs.extend(slug for slug in source if slug not in slugs)
    return slugs


def compute_error_rate(project: str, snapshot: SystemSnapshot) -> ErrorRate:
    """Compute a project's share of failed requests over the last 24 h.

    Sentry's transaction failure rate (a 0..1 fraction) is used when present; otherwise errors
    over transactions when both counts are known. Zero transactions give ``None``, because a
    rate over no traffic measures nothing.
    """
    performance = snapshot.performance.get(project)
    stats = snapshot.error_stats.get(project)
    requests = performance.transaction_count if performance else None
    errors = stats.total_24h if stats else None
    if performance is None and stats is None:
        return ErrorRate(project=project, percent=None, reason="no Sentry data for this project")
    if requests == 0:
        return ErrorRate(
            project=project,
            percent=None,
            requests=0,
            errors=errors,
            reason="no transactions in the last 24 h",
        )
    if performance is not None and performance.failure_rate is not None:
        percent = min(max(performance.failure_rate * 100, 0.0), 100.0)
        return ErrorRate(
            project=project,
            percent=round(percent, 4),
            method=ErrorRateMethod.FAILURE_RATE,
            requests=requests,
            errors=errors,
        )
    if errors is not None and requests is not None:
        # Errors are not all tied to a transaction, so the quotient can pass 100 %.
        percent = min(errors / requests * 100, 100.0)
        return ErrorRate(
            project=project,
            percent=round(percent, 4),
            method=ErrorRateMethod.ERRORS_OVER_REQUESTS,
            requests=requests,
            errors=errors,
        )
    return ErrorRate(
        project=project,
        percent=None,
        requests=requests,
        errors=errors,
        reason="neither a failure rate nor both error and transaction counts",
    )


def compute_error_rates(snapshot: SystemSnapshot, settings: Settings) -> list[ErrorRate]:
    return [compute_error_rate(project, snapshot) for project in project_slugs(snapshot, settings)]


# --- Targets -----------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def uptime_target(
    system_timeline: Timeline, scope: Sequence[Monitor], settings: Settings, now: datetime
) -> tuple[SlaTarget, UptimeAccounting]:
    """Measure month-to-date uptime against the target, with the month's downtime budget.

    The budget is (100 % - target) of the whole calendar month, for example 43.2 min at 99.9 %
    in a 30-day month and 40.32 min in a 28-day February. Downtime is time when any monitor of
    a public component was down, counted once however many were down.
    """
    start = month_start(now)
    month_end = next_month_start(now)
    month_length = month_end - start
    counts = tally(system_timeline, start, now)
    target = settings.sla_uptime_target_percent
    # Decimal keeps 100 - 99.9 at exactly 0.1, so a 30-day month gives 43.2 min, not 43.19999.
    allowed = (Decimal(100) - Decimal(str(target))) / 100
    allowed_fraction = float(allowed)

    measured = uptime_percent(counts.measured, counts.down)
    budget_total = allowed * int(month_length.total_seconds()) / 60
    used = Decimal(counts.down // timedelta(microseconds=1)) / 60_000_000
    budget_total_min, used_min = float(budget_total), float(used)
    used_percent = _ratio(used_min * 100, budget_total_min)
    downtime_share = _ratio(counts.down.total_seconds(), counts.measured.total_seconds())
    burn_rate = None if downtime_share is None else _ratio(downtime_share, allowed_fraction)

    month_days = month_length.days
    target_row = SlaTarget(
        name=SlaTargetName.UPTIME,
        description=(
            f"Uptime of at least {target:g} % this calendar month ({month_days} days, "
            f"a budget of {budget_total_min:.2f} min of downtime)"
        ),
        target=target,
        unit="percent",
        measured=measured,
        met=None if measured is None else measured >= target,
        method="monitor logs: up time over measured time, month to date",
        reason="no measured time this month" if measured is None else None,
        window_start=start,
        window_end=now,
        budget_unit="min",
        budget_total=budget_total_min,
        budget_used=used_min,
        budget_remaining=float(budget_total - used),
        budget_used_percent=_rounded(used_percent),
        burn_rate=_rounded(burn_rate),
    )
    accounting = UptimeAccounting(
        window_start=start,
        window_end=now,
        month_end=month_end,
        month_length_s=month_length.total_seconds(),
        elapsed_s=counts.window.total_seconds(),
        maintenance_s=counts.maintenance.total_seconds(),
        paused_s=counts.paused.total_seconds(),
        no_data_s=counts.no_data.total_seconds(),
        measured_s=counts.measured.total_seconds(),
        up_s=counts.up.total_seconds(),
        downtime_s=counts.down.total_seconds(),
        monitors=[monitor.name for monitor in scope],
    )
    return target_row, accounting


def _limit_target(
    *,
    name: SlaTargetName,
    description: str,
    target: float,
    unit: str,
    measured: float | None,
    method: str,
    reason: str | None,
    window_start: datetime | None,
    window_end: datetime,
) -> SlaTarget:
    """Build a target that ``measured`` must stay below; the limit itself is the budget."""
    return SlaTarget(
        name=name,
        description=description,
        target=target,
        unit=unit,
        measured=measured,
        met=None if measured is None else measured < target,
        method=method,
        reason=reason,
        window_start=window_start,
        window_end=window_end,
        budget_unit=unit,
        budget_total=target,
        budget_used=measured,
        budget_remaining=None if measured is None else target - measured,
        budget_used_percent=None if measured is None else _rounded(_ratio(measured * 100, target)),
        burn_rate=None if measured is None else _rounded(_ratio(measured, target)),
    )


def error_rate_target(
    error_rates: Sequence[ErrorRate], settings: Settings, now: datetime
) -> SlaTarget:
    """Measure the worst project's error rate over the last 24 h against the target."""
    known = [rate for rate in error_rates if rate.percent is not None]
    target = settings.sla_error_rate_target_percent
    measured: float | None = None
    method = "Sentry: worst project over the last 24 h"
    reason = None
    if known:
        worst = max(known, key=lambda rate: rate.percent or 0.0)
        measured = worst.percent
        method = f"Sentry: worst project ({worst.project}, {worst.method}) over the last 24 h"
    else:
        reasons = [f"{rate.project}: {rate.reason}" for rate in error_rates if rate.reason]
        reason = "; ".join(reasons) or "no Sentry project configured"
    return _limit_target(
        name=SlaTargetName.ERROR_RATE,
        description=f"Error rate below {target:g} % of requests",
        target=target,
        unit="percent",
        measured=measured,
        method=method,
        reason=reason,
        window_start=now - ERROR_RATE_WINDOW,
        window_end=now,
    )


def response_time_target(scope: Sequence[Monitor], settings: Settings, now: datetime) -> SlaTarget:
    """Measure the slowest monitor's average response time against the target.

    Only monitors that are checking (up, seems down or down, outside maintenance) count. The
    window is the span of the response times UptimeRobot returned, ``None`` without any.
    """
    checking = [
        monitor
        for monitor in scope
        if monitor.status in MEASURING_STATUSES
        and monitor.average_response_time_ms is not None
        and not in_maintenance(monitor, now)
    ]
    target = settings.sla_response_time_target_ms
    measured: float | None = None
    method = "UptimeRobot: average response time of the slowest monitor"
    points = [point.at for monitor in checking for point in monitor.response_times]
    if checking:
        slowest = max(checking, key=lambda monitor: monitor.average_response_time_ms or 0.0)
        measured = slowest.average_response_time_ms
        method = f"UptimeRobot: average response time of the slowest monitor ({slowest.name})"
    return _limit_target(
        name=SlaTargetName.RESPONSE_TIME,
        description=f"Average response time below {target:g} ms",
        target=target,
        unit="ms",
        measured=measured,
        method=method,
        reason=None if checking else "no checking monitor reports a response time",
        window_start=min(points) if points else None,
        window_end=now,
    )


def mttr_target(mttr: MttrReport, settings: Settings) -> SlaTarget:
    """Measure the MTTR of critical (P0 and P1) incidents against the target."""
    measured = None if mttr.critical_mttr_s is None else mttr.critical_mttr_s / 60
    target = settings.sla_mttr_target_minutes
    return _limit_target(
        name=SlaTargetName.MTTR,
        description=f"Mean time to recovery of critical incidents below {target:g} min",
        target=target,
        unit="min",
        measured=measured,
        method="incidents from monitor logs: P0 and P1 resolved this month",
        reason="no critical incident resolved this month" if measured is None else None,
        window_start=mttr.window_start,
        window_end=mttr.window_end,
    )


def compute_sla(
    *,
    system_timeline: Timeline,
    scope: Sequence[Monitor],
    error_rates: Sequence[ErrorRate],
    mttr: MttrReport,
    settings: Settings,
    now: datetime,
) -> SlaReport:
    """Measure every SLA target; ``scope`` is the monitors of the public components."""
    uptime, accounting = uptime_target(system_timeline, scope, settings, now)
    return SlaReport(
        targets=[
            uptime,
            error_rate_target(error_rates, settings, now),
            response_time_target(scope, settings, now),
            mttr_target(mttr, settings),
        ],
        uptime_accounting=accounting,
    )
