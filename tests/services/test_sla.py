"""SLA targets: monthly downtime budget, accounting, error rate methods and limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.config import Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import ErrorRateMethod, MttrReport, SlaTarget, SlaTargetName
from app.models.upstream import (
    ErrorStats,
    LogType,
    MaintenanceWindow,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    MonitorStatus,
    PerformanceStats,
)
from app.services.sla import (
    compute_error_rate,
    error_rate_target,
    mttr_target,
    response_time_target,
    uptime_target,
)
from app.services.status import evaluate
from app.services.uptime import build_monitor_timeline


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": False,
        "poller_enabled": False,
        "uptimerobot_api_key": "test-key",
        "sentry_auth_token": "test-token",
        "sentry_org": "example",
        "jwt_secret": "a-test-signing-secret-of-forty-characters",
    }
    values.update(overrides)
    return Settings(**values)


def up_since_month_start(now: datetime, *extra: MonitorLog, **fields: Any) -> Monitor:
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    logs = [MonitorLog(type=LogType.STARTED, at=month_start), *extra]
    return Monitor(id=1, name="Backend API", logs=logs, **fields)


def uptime_of(monitor: Monitor, now: datetime, **overrides: Any) -> SlaTarget:
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    timeline = build_monitor_timeline(monitor, month_start, now)
    target, _ = uptime_target(timeline, [monitor], make_settings(**overrides), now)
    return target


# --- Uptime and its budget ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "target_percent", "budget_min", "days"),
    [
        ("2026-04-10T00:00:00", 99.9, 43.2, 30),
        ("2026-02-10T00:00:00", 99.9, 40.32, 28),
        ("2028-02-10T00:00:00", 99.9, 41.76, 29),
        ("2026-03-10T00:00:00", 99.9, 44.64, 31),
        ("2026-04-10T00:00:00", 99.0, 432.0, 30),
        ("2026-04-10T00:00:00", 100.0, 0.0, 30),
    ],
)
def test_uptime_budget_follows_month_length(
    now: str, target_percent: float, budget_min: float, days: int
) -> None:
    target = uptime_of(
        up_since_month_start(at(now)), at(now), sla_uptime_target_percent=target_percent
    )

    assert target.budget_total == budget_min
    assert f"({days} days," in target.description


def test_uptime_budget_used_and_burn_rate() -> None:
    now = at("2026-04-11T00:00:00")
    down = MonitorLog(type=LogType.DOWN, at=at("2026-04-05T10:00:00"), duration_s=1296)
    back = MonitorLog(type=LogType.UP, at=at("2026-04-05T10:21:36"))

    target = uptime_of(up_since_month_start(now, down, back), now)

    # 21.6 min down in 10 days: 0.15 % of the time against an allowed 0.1 %.
    assert target.budget_used == 21.6
    assert target.budget_remaining == 21.6
    assert target.budget_used_percent == 50.0
    assert target.burn_rate == 1.5
    assert target.measured == 99.85
    assert target.met is False


def test_uptime_target_met_without_downtime() -> None:
    now = at("2026-04-11T00:00:00")

    target = uptime_of(up_since_month_start(now), now)

    assert target.measured == 100.0
    assert target.met is True
    assert target.burn_rate == 0.0
    assert target.budget_remaining == 43.2


def test_overspent_budget_goes_negative() -> None:
    now = at("2026-04-11T00:00:00")
    down = MonitorLog(type=LogType.DOWN, at=at("2026-04-05T10:00:00"))
    back = MonitorLog(type=LogType.UP, at=at("2026-04-05T11:00:00"))

    target = uptime_of(up_since_month_start(now, down, back), now)

    assert target.budget_used == 60.0
    assert target.budget_remaining == -16.8


def test_uptime_without_data_is_not_judged() -> None:
    now = at("2026-04-11T00:00:00")

    target = uptime_of(Monitor(id=1, name="Backend API"), now)

    assert target.measured is None
    assert target.met is None
    assert target.burn_rate is None
    assert target.reason == "no measured time this month"


def test_uptime_at_month_start_is_not_judged() -> None:
    now = at("2026-04-01T00:00:00")

    target = uptime_of(Monitor(id=1, name="Backend API"), now)

    assert target.measured is None


def test_accounting_sums_add_up() -> None:
    now = at("2026-04-03T00:00:00")
    window = MaintenanceWindow(kind="daily", start_time="02:00", duration_minutes=30, active=True)
    monitor = Monitor(
        id=1,
        name="Backend API",
        status=MonitorStatus.UP,
        maintenance_windows=[window],
        logs=[
            MonitorLog(type=LogType.STARTED, at=at("2026-04-01T06:00:00")),
            MonitorLog(type=LogType.DOWN, at=at("2026-04-01T10:00:00")),
            MonitorLog(type=LogType.PAUSED, at=at("2026-04-01T10:20:00")),
            MonitorLog(type=LogType.STARTED, at=at("2026-04-01T12:00:00")),
        ],
    )
    timeline = build_monitor_timeline(monitor, at("2026-04-01T00:00:00"), now)

    _, accounting = uptime_target(timeline, [monitor], make_settings(), now)

    # Maintenance overrides every other state, so the window at 02:00 on the 1st takes 30 min
    # out of the 6 h before the first log.
    assert accounting.elapsed_s == 48 * 3600.0
    assert accounting.no_data_s == 5.5 * 3600.0
    assert accounting.paused_s == 100 * 60.0
    assert accounting.maintenance_s == 60 * 60.0
    assert accounting.downtime_s == 20 * 60.0
    assert accounting.measured_s == accounting.up_s + accounting.downtime_s
    assert accounting.elapsed_s == (
        accounting.maintenance_s
        + accounting.paused_s
        + accounting.no_data_s
        + accounting.measured_s
    )
    assert accounting.month_length_s == 30 * 86400.0
    assert accounting.monitors == ["Backend API"]


# --- Error rate --------------------------------------------------------------------------------


def _snapshot(
    performance: PerformanceStats | None = None, stats: ErrorStats | None = None
) -> SystemSnapshot:
    return SystemSnapshot(
        taken_at=at("2026-04-10T00:00:00"),
        performance={"backend": performance} if performance else {},
        error_stats={"backend": stats} if stats else {},
    )


def test_error_rate_prefers_failure_rate() -> None:
    snapshot = _snapshot(
        PerformanceStats(project="backend", transaction_count=2000, failure_rate=0.0125),
        ErrorStats(project="backend", total_24h=500),
    )

    rate = compute_error_rate("backend", snapshot)

    assert rate.percent == 1.25
    assert rate.method is ErrorRateMethod.FAILURE_RATE


def test_error_rate_falls_back_to_errors_over_requests() -> None:
    snapshot = _snapshot(
        PerformanceStats(project="backend", transaction_count=4000),
        ErrorStats(project="backend", total_24h=30),
    )

    rate = compute_error_rate("backend", snapshot)

    assert rate.percent == 0.75
    assert rate.method is ErrorRateMethod.ERRORS_OVER_REQUESTS


def test_error_rate_with_zero_traffic_is_none() -> None:
    snapshot = _snapshot(
        PerformanceStats(project="backend", transaction_count=0, failure_rate=0.0),
        ErrorStats(project="backend", total_24h=3),
    )

    rate = compute_error_rate("backend", snapshot)

    assert rate.percent is None
    assert rate.reason == "no transactions in the last 24 h"


def test_error_rate_without_request_count_is_none() -> None:
    rate = compute_error_rate(
        "backend", _snapshot(stats=ErrorStats(project="backend", total_24h=3))
    )

    assert rate.percent is None
    assert rate.method is None


def test_error_rate_of_absent_project_is_none() -> None:
    rate = compute_error_rate("backend", _snapshot())

    assert rate.percent is None
    assert rate.reason == "no Sentry data for this project"


def test_error_rate_target_uses_worst_project() -> None:
    snapshot = SystemSnapshot(
        taken_at=at("2026-04-10T00:00:00"),
        performance={
            "backend": PerformanceStats(
                project="backend", transaction_count=10, failure_rate=0.004
            ),
            "frontend": PerformanceStats(
                project="frontend", transaction_count=10, failure_rate=0.02
            ),
        },
    )
    rates = [compute_error_rate(project, snapshot) for project in ("backend", "frontend")]

    target = error_rate_target(rates, make_settings(), at("2026-04-10T00:00:00"))

    assert target.measured == 2.0
    assert target.met is False
    assert target.burn_rate == 2.0
    assert target.budget_remaining == -1.0
    assert "frontend" in target.method


def test_error_rate_target_without_traffic_is_not_judged() -> None:
    snapshot = _snapshot(PerformanceStats(project="backend", transaction_count=0))

    target = error_rate_target(
        [compute_error_rate("backend", snapshot)], make_settings(), at("2026-04-10T00:00:00")
    )

    assert target.measured is None
    assert target.met is None
    assert target.reason == "backend: no transactions in the last 24 h"


# --- Response time and MTTR --------------------------------------------------------------------


def test_response_time_target_uses_slowest_checking_monitor() -> None:
    now = at("2026-04-10T00:00:00")
    monitors = [
        Monitor(id=1, name="Frontend", status=MonitorStatus.UP, average_response_time_ms=180.0),
        Monitor(id=2, name="Backend API", status=MonitorStatus.UP, average_response_time_ms=450.0),
        Monitor(id=3, name="Staging", status=MonitorStatus.PAUSED, average_response_time_ms=900.0),
    ]

    target = response_time_target(monitors, make_settings(), now)

    assert target.measured == 450.0
    assert target.met is True
    assert target.budget_remaining == 50.0
    assert target.burn_rate == 0.9


def test_mttr_target_from_critical_incidents() -> None:
    report = MttrReport(
        window_start=at("2026-04-01T00:00:00"),
        window_end=at("2026-04-10T00:00:00"),
        mttr_s=600.0,
        critical_mttr_s=4500.0,
        resolved_count=3,
        critical_resolved_count=1,
        open_count=0,
    )

    target = mttr_target(report, make_settings())

    assert target.name is SlaTargetName.MTTR
    assert target.measured == 75.0
    assert target.met is False
    assert target.burn_rate == 1.25


def test_sla_report_lists_every_target() -> None:
    now = at("2026-04-10T00:00:00")
    snapshot = SystemSnapshot(
        taken_at=now, monitors=MonitorsSnapshot(monitors=[up_since_month_start(now)])
    )

    report = evaluate(snapshot, make_settings(), now).sla

    assert [target.name for target in report.targets] == [
        SlaTargetName.UPTIME,
        SlaTargetName.ERROR_RATE,
        SlaTargetName.RESPONSE_TIME,
        SlaTargetName.MTTR,
    ]
