"""The whole evaluation: overall indicator, banner, traffic light and the shared result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import ComponentConfig, Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import (
    ComponentState,
    ComponentStatus,
    Indicator,
    LightColor,
    UptimeSource,
)
from app.models.upstream import (
    ErrorStats,
    IssuesSnapshot,
    IssueStatus,
    LogType,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    MonitorStatus,
    PerformanceStats,
    SentryIssue,
)
from app.services.status import build_banner, evaluate, overall_status

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

OP = ComponentState.OPERATIONAL
DEGRADED = ComponentState.DEGRADED_PERFORMANCE
PARTIAL = ComponentState.PARTIAL_OUTAGE
MAJOR = ComponentState.MAJOR_OUTAGE
MAINT = ComponentState.UNDER_MAINTENANCE
UNKNOWN = ComponentState.UNKNOWN

SITE_MAP = [
    ComponentConfig(
        name="API",
        monitors=["Backend API", "Database health"],
        projects=["backend"],
        outage_message="The API is having trouble.",
    ),
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


def component(name: str, state: ComponentState, message: str | None = None) -> ComponentStatus:
    return ComponentStatus(name=name, state=state, message=message)


def site(
    frontend: MonitorStatus = MonitorStatus.UP,
    backend: MonitorStatus = MonitorStatus.UP,
    database: MonitorStatus = MonitorStatus.UP,
    **backend_fields: Any,
) -> list[Monitor]:
    started = [MonitorLog(type=LogType.STARTED, at=datetime(2026, 3, 1, tzinfo=UTC))]
    backend_fields.setdefault("logs", started)
    return [
        Monitor(id=1, name="Frontend", status=frontend, logs=started),
        Monitor(id=2, name="Backend API", status=backend, **backend_fields),
        Monitor(id=3, name="Database health", status=database, logs=started),
    ]


HEALTHY_SENTRY: dict[str, Any] = {
    "error_stats": {
        "backend": ErrorStats(project="backend", total_24h=4, last_5m=0),
        "frontend": ErrorStats(project="frontend", total_24h=9, last_5m=1),
    },
    "performance": {
        "backend": PerformanceStats(project="backend", transaction_count=5000, failure_rate=0.002),
        "frontend": PerformanceStats(
            project="frontend", transaction_count=800, failure_rate=0.001, lcp_p75_ms=1800.0
        ),
    },
}


def evaluate_site(
    monitors: list[Monitor] | None, settings: Settings | None = None, **sources: Any
) -> Any:
    listing = None if monitors is None else MonitorsSnapshot(monitors=monitors)
    merged = {**HEALTHY_SENTRY, **sources}
    snapshot = SystemSnapshot(taken_at=NOW, monitors=listing, **merged)
    return evaluate(snapshot, settings or make_settings(), NOW)


# --- Overall indicator -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "indicator", "description"),
    [
        ([OP, OP], Indicator.NONE, "All Systems Operational"),
        ([OP, DEGRADED], Indicator.MINOR, "Partially Degraded Service"),
        ([OP, PARTIAL], Indicator.MINOR, "Minor Service Outage"),
        ([OP, MAJOR], Indicator.MAJOR, "Partial System Outage"),
        ([PARTIAL, MAJOR], Indicator.MAJOR, "Partial System Outage"),
        ([MAJOR, MAJOR], Indicator.CRITICAL, "Major Service Outage"),
        ([MAINT, OP], Indicator.MAINTENANCE, "Service Under Maintenance"),
        ([MAINT, DEGRADED], Indicator.MINOR, "Partially Degraded Service"),
        ([UNKNOWN, UNKNOWN], Indicator.UNKNOWN, "Status Unknown"),
        ([UNKNOWN, OP], Indicator.UNKNOWN, "Status Partially Unknown"),
        ([UNKNOWN, MAJOR], Indicator.MAJOR, "Partial System Outage"),
        ([], Indicator.UNKNOWN, "Status Unknown"),
    ],
)
def test_overall_indicator_table(
    states: list[ComponentState], indicator: Indicator, description: str
) -> None:
    components = [component(f"c{index}", state) for index, state in enumerate(states)]

    overall = overall_status(components)

    assert overall.indicator is indicator
    assert overall.description == description


# --- Banner ------------------------------------------------------------------------------------


def test_banner_none_when_all_is_fine() -> None:
    assert build_banner([component("API", OP), component("Website", MAINT)]) is None


def test_banner_joins_distinct_messages() -> None:
    components = [
        component("API", MAJOR, "The API is having trouble."),
        component("Website", DEGRADED, "The website is slow."),
        component("Admin", PARTIAL, "The API is having trouble."),
        component("Docs", UNKNOWN),
    ]

    banner = build_banner(components)

    assert banner is not None
    assert banner.message == "The API is having trouble. The website is slow."
    assert banner.components == ["API", "Website", "Admin"]


def test_banner_uses_component_message_end_to_end() -> None:
    status = evaluate_site(site(backend=MonitorStatus.DOWN))

    assert status.banner is not None
    assert status.banner.message == "The API is having trouble."


def test_banner_uses_default_message_end_to_end() -> None:
    status = evaluate_site(site(frontend=MonitorStatus.DOWN))

    assert status.banner is not None
    assert status.banner.message == (
        "We're experiencing issues with Website. Our team is investigating."
    )


def test_paused_monitor_raises_no_banner() -> None:
    status = evaluate_site(site(database=MonitorStatus.PAUSED))

    assert status.banner is None
    assert status.overall.indicator is Indicator.NONE


# --- Traffic light -----------------------------------------------------------------------------


def test_light_green_when_all_up_within_targets() -> None:
    status = evaluate_site(site())

    assert status.light.color is LightColor.GREEN
    assert status.light.reasons == []


def test_light_stays_green_with_paused_monitor() -> None:
    monitors = [*site(), Monitor(id=5, name="Staging", status=MonitorStatus.PAUSED)]

    assert evaluate_site(monitors).light.color is LightColor.GREEN


def test_light_red_when_monitor_down() -> None:
    status = evaluate_site(site(database=MonitorStatus.DOWN))

    assert status.light.color is LightColor.RED
    assert "monitor Database health: down" in status.light.reasons


def test_light_red_when_error_rate_alert_fires() -> None:
    performance = {
        **HEALTHY_SENTRY["performance"],
        "backend": PerformanceStats(project="backend", transaction_count=100, failure_rate=0.2),
    }

    status = evaluate_site(site(), performance=performance)

    assert status.light.color is LightColor.RED
    assert "Error rate of backend over 10 %" in status.light.reasons


def test_light_yellow_when_slow() -> None:
    status = evaluate_site(site(average_response_time_ms=800.0))

    assert status.light.color is LightColor.YELLOW
    assert "API: degraded performance" in status.light.reasons


def test_light_yellow_when_error_rate_over_target() -> None:
    performance = {
        **HEALTHY_SENTRY["performance"],
        "backend": PerformanceStats(project="backend", transaction_count=100, failure_rate=0.03),
    }

    status = evaluate_site(site(), performance=performance)

    assert status.light.color is LightColor.YELLOW
    assert status.light.reasons == ["error rate of backend is 3 %, over 1 %"]


def test_light_yellow_when_new_error_type_appears() -> None:
    fresh = SentryIssue(
        id="1",
        title="TypeError",
        project_slug="frontend",
        status=IssueStatus.UNRESOLVED,
        first_seen=NOW - timedelta(hours=2),
    )
    old = fresh.model_copy(update={"id": "2", "first_seen": NOW - timedelta(days=3)})
    issues = {"frontend": IssuesSnapshot(project="frontend", issues=[fresh, old])}

    status = evaluate_site(site(), issues=issues)

    assert status.light.color is LightColor.YELLOW
    assert status.light.reasons == ["1 new error types in frontend in the last 24 h"]


def test_light_yellow_without_monitor_data() -> None:
    status = evaluate_site(None)

    assert status.light.color is LightColor.YELLOW
    assert "no monitor data from UptimeRobot" in status.light.reasons


# --- The shared result -------------------------------------------------------------------------


def test_absent_monitors_give_unknown_never_down() -> None:
    status = evaluate_site(None)

    assert [c.state for c in status.components] == [UNKNOWN, UNKNOWN]
    assert status.overall.indicator is Indicator.UNKNOWN
    assert status.overall.description == "Status Unknown"
    assert status.banner is None
    assert status.monitors_available is False
    assert status.incidents == []


def test_not_checked_monitors_are_unknown_not_down() -> None:
    monitors = site(
        frontend=MonitorStatus.NOT_CHECKED,
        backend=MonitorStatus.NOT_CHECKED,
        database=MonitorStatus.NOT_CHECKED,
    )

    status = evaluate_site(monitors)

    assert [c.state for c in status.components] == [UNKNOWN, UNKNOWN]
    assert status.banner is None
    assert not any(alert.firing for alert in status.alerts)


def test_every_component_down_is_critical() -> None:
    monitors = site(
        frontend=MonitorStatus.DOWN, backend=MonitorStatus.DOWN, database=MonitorStatus.DOWN
    )

    status = evaluate_site(monitors)

    assert status.overall.indicator is Indicator.CRITICAL
    assert status.overall.description == "Major Service Outage"


def test_without_map_sentry_affects_no_component() -> None:
    performance = {
        "backend": PerformanceStats(project="backend", transaction_count=100, failure_rate=0.5)
    }

    status = evaluate_site(site(), make_settings(components=None), performance=performance)

    assert [c.name for c in status.components] == ["Frontend", "Backend API", "Database health"]
    assert {c.state for c in status.components} == {OP}
    assert status.light.color is LightColor.RED


def test_component_carries_every_uptime_window() -> None:
    status = evaluate_site(site())

    api = status.components[0]
    assert [(f.window, f.source) for f in api.uptime] == [
        ("24h", UptimeSource.UPTIMEROBOT_RATIO),
        ("7d", UptimeSource.UPTIMEROBOT_RATIO),
        ("30d", UptimeSource.UPTIMEROBOT_RATIO),
        ("90d", UptimeSource.UPTIMEROBOT_RATIO),
        ("mtd", UptimeSource.LOGS),
    ]
    assert len(api.daily) == 90
    assert api.daily[-1].percent == 100.0


def test_monitor_summary_names_components_and_criticality() -> None:
    status = evaluate_site(site())

    summaries = {summary.name: summary for summary in status.monitors}
    assert summaries["Database health"].components == ["API"]
    assert summaries["Database health"].is_critical is True
    assert summaries["Frontend"].is_critical is False


def test_open_incident_and_firing_alert_are_exposed() -> None:
    logs = [
        MonitorLog(type=LogType.STARTED, at=datetime(2026, 3, 1, tzinfo=UTC)),
        MonitorLog(type=LogType.DOWN, at=NOW - timedelta(minutes=10)),
    ]

    status = evaluate_site(site(backend=MonitorStatus.DOWN, logs=logs))

    assert [incident.title for incident in status.open_incidents] == ["API partial outage"]
    assert [alert.rule_id for alert in status.firing_alerts] == ["monitor_down:2"]


def test_evaluation_is_deterministic() -> None:
    first = evaluate_site(site(backend=MonitorStatus.DOWN))
    second = evaluate_site(site(backend=MonitorStatus.DOWN))

    assert first == second
