"""Alert rules: each one firing and not firing, its priority, value, threshold and since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import ComponentConfig, Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import Alert, Priority
from app.models.upstream import (
    ErrorStats,
    LogType,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    MonitorStatus,
    PerformanceStats,
    ResponseTimePoint,
    SslInfo,
)
from app.services.alerts import evaluate_alerts
from app.services.components import resolve_components
from app.services.sla import compute_error_rates

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

SITE_MAP = [
    ComponentConfig(name="API", monitors=["Backend API", "Database health"], projects=["backend"]),
    ComponentConfig(name="Website", monitors=["Frontend"], projects=["frontend"]),
]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": False,
        "poller_enabled": False,
        "uptimerobot_api_key": "test-key",
        "sentry_auth_token": "test-token",
        "sentry_org": "example",
        "jwt_secret": "a-test-signing-secret-of-forty-characters",
        "components": SITE_MAP,
    }
    values.update(overrides)
    return Settings(**values)


def site(
    frontend: MonitorStatus = MonitorStatus.UP,
    backend: MonitorStatus = MonitorStatus.UP,
    database: MonitorStatus = MonitorStatus.UP,
    **backend_fields: Any,
) -> list[Monitor]:
    return [
        Monitor(id=1, name="Frontend", status=frontend),
        Monitor(id=2, name="Backend API", status=backend, **backend_fields),
        Monitor(id=3, name="Database health", status=database),
    ]


def alerts_for(
    monitors: list[Monitor] | None, settings: Settings | None = None, **sources: Any
) -> dict[str, Alert]:
    settings = settings or make_settings()
    listing = None if monitors is None else MonitorsSnapshot(monitors=monitors)
    snapshot = SystemSnapshot(taken_at=NOW, monitors=listing, **sources)
    definitions = resolve_components(monitors, settings)
    rates = compute_error_rates(snapshot, settings)
    return {
        alert.rule_id: alert
        for alert in evaluate_alerts(snapshot, settings, NOW, definitions, rates)
    }


# --- Sentry rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "last_5m", "firing"),
    [
        ("backend", 51, True),
        ("backend", 50, False),
        ("frontend", 101, True),
        ("frontend", 100, False),
    ],
)
def test_errors_in_five_minutes_rule(project: str, last_5m: int, firing: bool) -> None:
    stats = {project: ErrorStats(project=project, last_5m=last_5m)}

    alert = alerts_for(site(), error_stats=stats)[f"errors_5m:{project}"]

    assert alert.firing is firing
    assert alert.value == float(last_5m)
    assert alert.threshold == {"backend": 50.0, "frontend": 100.0}[project]
    assert alert.priority is Priority.P2


def test_errors_rule_without_data_never_fires() -> None:
    alert = alerts_for(site())["errors_5m:backend"]

    assert alert.firing is False
    assert alert.has_data is False
    assert alert.value is None


@pytest.mark.parametrize(("lcp_ms", "firing"), [(2600.0, True), (2500.0, False), (None, False)])
def test_lcp_rule(lcp_ms: float | None, firing: bool) -> None:
    performance = {"frontend": PerformanceStats(project="frontend", lcp_p75_ms=lcp_ms)}

    alert = alerts_for(site(), performance=performance)["lcp_p75:frontend"]

    assert alert.firing is firing
    assert alert.threshold == 2500.0
    assert alert.priority is Priority.P2


@pytest.mark.parametrize(
    ("failure_rate", "percent", "firing"),
    [(0.11, 11.0, True), (0.10, 10.0, False), (0.02, 2.0, False)],
)
def test_error_rate_rule(failure_rate: float, percent: float, firing: bool) -> None:
    performance = {
        "backend": PerformanceStats(
            project="backend", transaction_count=1000, failure_rate=failure_rate
        )
    }

    alert = alerts_for(site(), performance=performance)["error_rate:backend"]

    assert alert.firing is firing
    assert alert.value == percent
    assert alert.threshold == 10.0
    assert alert.priority is Priority.P1


def test_error_rate_rule_without_traffic_never_fires() -> None:
    performance = {"backend": PerformanceStats(project="backend", transaction_count=0)}

    alert = alerts_for(site(), performance=performance)["error_rate:backend"]

    assert alert.firing is False
    assert alert.has_data is False


# --- Response time -----------------------------------------------------------------------------


def test_response_time_rule_fires_with_since() -> None:
    points = [
        ResponseTimePoint(at=NOW - timedelta(minutes=minutes), value_ms=value)
        for minutes, value in [(30, 400.0), (20, 5200.0), (10, 6100.0), (0, 5900.0)]
    ]
    monitors = site(average_response_time_ms=5400.0, response_times=points)

    alert = alerts_for(monitors)["response_time:2"]

    assert alert.firing is True
    assert alert.priority is Priority.P1
    assert alert.value == 5400.0
    assert alert.threshold == 5000.0
    assert alert.since == NOW - timedelta(minutes=20)


def test_response_time_rule_quiet_under_limit() -> None:
    alert = alerts_for(site(average_response_time_ms=4999.0))["response_time:2"]

    assert alert.firing is False
    assert alert.since is None


def test_response_time_rule_ignores_paused_monitor() -> None:
    monitors = site(backend=MonitorStatus.PAUSED, average_response_time_ms=9000.0)

    alert = alerts_for(monitors)["response_time:2"]

    assert alert.firing is False
    assert alert.has_data is False


# --- Monitors down -----------------------------------------------------------------------------


def test_monitor_down_fires_with_log_time() -> None:
    went_down = NOW - timedelta(minutes=7)
    logs = [
        MonitorLog(type=LogType.UP, at=NOW - timedelta(days=1)),
        MonitorLog(type=LogType.DOWN, at=went_down),
    ]

    alert = alerts_for(site(backend=MonitorStatus.DOWN, logs=logs))["monitor_down:2"]

    assert alert.firing is True
    assert alert.since == went_down
    assert alert.value == 1.0


def test_monitor_down_since_unknown_without_logs() -> None:
    alert = alerts_for(site(backend=MonitorStatus.DOWN))["monitor_down:2"]

    assert alert.firing is True
    assert alert.since is None


@pytest.mark.parametrize(
    "status",
    [MonitorStatus.UP, MonitorStatus.SEEMS_DOWN, MonitorStatus.PAUSED, MonitorStatus.NOT_CHECKED],
)
def test_monitor_down_quiet_unless_down(status: MonitorStatus) -> None:
    alert = alerts_for(site(frontend=status))["monitor_down:1"]

    assert alert.firing is False


@pytest.mark.parametrize(
    ("statuses", "monitor_id", "expected"),
    [
        # Part of the API down: P2; the database (a critical monitor): P0.
        ((MonitorStatus.UP, MonitorStatus.DOWN, MonitorStatus.UP), 2, Priority.P2),
        ((MonitorStatus.UP, MonitorStatus.UP, MonitorStatus.DOWN), 3, Priority.P0),
        # The Website's only monitor down: the whole component, P1.
        ((MonitorStatus.DOWN, MonitorStatus.UP, MonitorStatus.UP), 1, Priority.P1),
        # The whole API down while the Website is up: P1.
        ((MonitorStatus.UP, MonitorStatus.DOWN, MonitorStatus.PAUSED), 2, Priority.P1),
        # The last monitor still up goes down: every monitor down, P0.
        ((MonitorStatus.DOWN, MonitorStatus.DOWN, MonitorStatus.PAUSED), 2, Priority.P0),
    ],
)
def test_monitor_down_priority_table(
    statuses: tuple[MonitorStatus, MonitorStatus, MonitorStatus],
    monitor_id: int,
    expected: Priority,
) -> None:
    monitors = site(frontend=statuses[0], backend=statuses[1], database=statuses[2])

    alert = alerts_for(monitors)[f"monitor_down:{monitor_id}"]

    assert alert.firing is True
    assert alert.priority is expected


def test_auth_monitor_down_is_p0() -> None:
    settings = make_settings(auth_monitors="Backend API")

    alert = alerts_for(site(backend=MonitorStatus.DOWN), settings)["monitor_down:2"]

    assert alert.priority is Priority.P0


def test_unmapped_monitor_down_is_p3() -> None:
    monitors = [*site(), Monitor(id=5, name="Staging", status=MonitorStatus.DOWN)]

    alerts = alerts_for(monitors)

    assert alerts["monitor_down:5"].firing is True
    assert alerts["monitor_down:5"].priority is Priority.P3
    assert alerts["all_monitors_down:all"].firing is False


def test_all_monitors_down_fires_p0() -> None:
    went_down = [NOW - timedelta(minutes=minutes) for minutes in (9, 4, 6)]
    monitors = [
        Monitor(
            id=monitor_id,
            name=name,
            status=MonitorStatus.DOWN,
            logs=[MonitorLog(type=LogType.DOWN, at=moment)],
        )
        for monitor_id, name, moment in zip(
            (1, 2, 3), ("Frontend", "Backend API", "Database health"), went_down, strict=True
        )
    ]

    alert = alerts_for(monitors)["all_monitors_down:all"]

    assert alert.firing is True
    assert alert.priority is Priority.P0
    assert alert.since == NOW - timedelta(minutes=4)
    assert alert.value == 3.0
    assert alert.threshold == 3.0


def test_all_monitors_down_ignores_paused() -> None:
    monitors = site(
        frontend=MonitorStatus.DOWN, backend=MonitorStatus.DOWN, database=MonitorStatus.PAUSED
    )

    assert alerts_for(monitors)["all_monitors_down:all"].firing is True


def test_all_monitors_down_quiet_while_one_is_up() -> None:
    monitors = site(frontend=MonitorStatus.DOWN, backend=MonitorStatus.DOWN)

    alert = alerts_for(monitors)["all_monitors_down:all"]

    assert alert.firing is False
    assert alert.value == 2.0
    assert alert.threshold == 3.0


def test_all_monitors_down_without_monitor_data() -> None:
    alerts = alerts_for(None)

    assert alerts["all_monitors_down:all"].firing is False
    assert alerts["all_monitors_down:all"].has_data is False
    assert not any(rule_id.startswith("monitor_down:") for rule_id in alerts)


# --- TLS certificates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "firing", "priority"),
    [
        (45.0, False, Priority.P3),
        (30.0, True, Priority.P3),
        (12.5, True, Priority.P3),
        (-1.0, True, Priority.P1),
    ],
)
def test_ssl_expiry_rule(days_left: float, firing: bool, priority: Priority) -> None:
    expires_at = NOW + timedelta(days=days_left)
    monitors = [
        Monitor(id=1, name="Frontend", status=MonitorStatus.UP, ssl=SslInfo(expires_at=expires_at))
    ]

    alert = alerts_for(monitors)["ssl_expiry:1"]

    assert alert.firing is firing
    assert alert.priority is priority
    assert alert.value == days_left
    assert alert.threshold == 30.0
    assert alert.since == (expires_at - timedelta(days=30) if firing else None)


def test_ssl_rule_absent_without_certificate_facts() -> None:
    assert "ssl_expiry:1" not in alerts_for(site())


# --- The list ----------------------------------------------------------------------------------


def test_rules_are_listed_highest_priority_first() -> None:
    alerts = list(alerts_for(site()).values())

    order = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
    assert [order[a.priority] for a in alerts] == sorted(order[a.priority] for a in alerts)
    assert not any(alert.firing for alert in alerts)
