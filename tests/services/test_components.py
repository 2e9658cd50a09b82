"""Component map, monitor rules and how part states combine into a component's state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.config import ComponentConfig, Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import Alert, AlertRule, ComponentState, Priority
from app.models.upstream import (
    ErrorStats,
    MaintenanceWindow,
    Monitor,
    MonitorsSnapshot,
    MonitorStatus,
)
from app.services.components import (
    combine_parts,
    critical_monitor_ids,
    evaluate_component,
    monitor_part,
    resolve_components,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

OP = ComponentState.OPERATIONAL
DEGRADED = ComponentState.DEGRADED_PERFORMANCE
PARTIAL = ComponentState.PARTIAL_OUTAGE
MAJOR = ComponentState.MAJOR_OUTAGE
MAINT = ComponentState.UNDER_MAINTENANCE
UNKNOWN = ComponentState.UNKNOWN


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


def make_monitor(monitor_id: int, name: str, **fields: Any) -> Monitor:
    return Monitor(id=monitor_id, name=name, **fields)


def snapshot_of(monitors: list[Monitor] | None, **sources: Any) -> SystemSnapshot:
    listing = None if monitors is None else MonitorsSnapshot(monitors=monitors)
    return SystemSnapshot(taken_at=NOW, monitors=listing, **sources)


API_MAP = [
    ComponentConfig(
        name="API",
        monitors=["Backend API", "790000003"],
        projects=["backend"],
        outage_message="The API is having trouble.",
    ),
    ComponentConfig(name="Website", monitors=["frontend", "SSL expiry"], projects=["frontend"]),
]


# --- Monitor rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (MonitorStatus.PAUSED, MAINT),
        (MonitorStatus.NOT_CHECKED, UNKNOWN),
        (MonitorStatus.UP, OP),
        (MonitorStatus.SEEMS_DOWN, PARTIAL),
        (MonitorStatus.DOWN, MAJOR),
        (MonitorStatus.UNKNOWN, UNKNOWN),
    ],
)
def test_monitor_status_maps_to_component_state(
    status: MonitorStatus, expected: ComponentState
) -> None:
    state, _ = monitor_part(make_monitor(1, "Backend API", status=status), make_settings(), NOW)

    assert state is expected


def test_slow_monitor_is_degraded() -> None:
    slow = make_monitor(1, "Backend API", status=MonitorStatus.UP, average_response_time_ms=612.4)

    state, reason = monitor_part(slow, make_settings(), NOW)

    assert state is DEGRADED
    assert reason == "average response 612 ms is over the 500 ms target"


def test_monitor_at_target_is_operational() -> None:
    at_target = make_monitor(1, "API", status=MonitorStatus.UP, average_response_time_ms=500.0)

    state, _ = monitor_part(at_target, make_settings(), NOW)

    assert state is OP


def test_down_monitor_in_maintenance_window_is_maintenance() -> None:
    window = MaintenanceWindow(kind="daily", start_time="11:30", duration_minutes=60, active=True)
    down = make_monitor(1, "API", status=MonitorStatus.DOWN, maintenance_windows=[window])

    state, reason = monitor_part(down, make_settings(), NOW)

    assert state is MAINT
    assert reason == "inside a maintenance window"


# --- Combining parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("monitor_states", "project_states", "expected"),
    [
        ([OP, OP], [OP], OP),
        ([MAINT, MAJOR], [], MAJOR),
        ([UNKNOWN, PARTIAL], [], PARTIAL),
        ([MAINT, UNKNOWN, DEGRADED], [], DEGRADED),
        ([OP, OP], [PARTIAL], PARTIAL),
        ([MAJOR], [PARTIAL], MAJOR),
        ([MAINT, MAINT], [OP], MAINT),
        ([MAINT, UNKNOWN], [], MAINT),
        ([MAINT, OP], [], OP),
        ([UNKNOWN, UNKNOWN], [OP], UNKNOWN),
        ([UNKNOWN, OP], [UNKNOWN], OP),
        ([], [OP], OP),
        ([], [UNKNOWN], UNKNOWN),
        ([], [], UNKNOWN),
    ],
)
def test_combine_parts_table(
    monitor_states: list[ComponentState],
    project_states: list[ComponentState],
    expected: ComponentState,
) -> None:
    assert combine_parts(monitor_states, project_states) is expected


# --- The component map -------------------------------------------------------------------------


def test_without_map_each_monitor_is_public_component() -> None:
    monitors = [make_monitor(1, "Frontend"), make_monitor(2, "Backend API")]

    definitions = resolve_components(monitors, make_settings())

    assert [d.name for d in definitions] == ["Frontend", "Backend API"]
    assert [d.monitor_ids for d in definitions] == [(1,), (2,)]
    assert all(d.is_public for d in definitions)
    assert all(d.projects == () for d in definitions)


def test_map_matches_monitors_by_name_or_id() -> None:
    monitors = [
        make_monitor(790000001, "Frontend"),
        make_monitor(790000002, "Backend API"),
        make_monitor(790000003, "Database health"),
    ]

    definitions = resolve_components(monitors, make_settings(components=API_MAP))

    assert definitions[0].monitor_ids == (790000002, 790000003)
    assert definitions[1].monitor_ids == (790000001,)
    assert definitions[1].missing_monitors == ("SSL expiry",)


def test_unmapped_monitor_forms_private_group() -> None:
    monitors = [make_monitor(1, "Backend API"), make_monitor(5, "Staging")]

    definitions = resolve_components(monitors, make_settings(components=API_MAP))

    assert [(d.name, d.is_public) for d in definitions] == [
        ("API", True),
        ("Website", True),
        ("Staging", False),
    ]


def test_critical_monitors_come_from_database_and_auth_settings() -> None:
    monitors = [make_monitor(1, "Database health"), make_monitor(2, "Login"), make_monitor(3, "X")]
    settings = make_settings(auth_monitors="2")

    assert critical_monitor_ids(settings, monitors) == frozenset({1, 2})


# --- Evaluating a component --------------------------------------------------------------------


def _fire(rule: AlertRule, project: str) -> Alert:
    return Alert(
        rule_id=f"{rule}:{project}",
        rule=rule,
        subject=project,
        description=f"{rule} of {project}",
        priority=Priority.P1,
        firing=True,
        value=1.0,
        threshold=0.0,
        unit="test",
    )


def _api_component(
    statuses: list[MonitorStatus], alerts: list[Alert], **sources: Any
) -> tuple[ComponentState, str | None]:
    monitors = [
        make_monitor(790000002, "Backend API", status=statuses[0]),
        make_monitor(790000003, "Database health", status=statuses[1]),
    ]
    snapshot = snapshot_of(monitors, **sources)
    settings = make_settings(components=API_MAP)
    definition = resolve_components(monitors, settings)[0]
    status = evaluate_component(definition, snapshot, settings, NOW, alerts)
    return status.state, status.message


STATS = {"error_stats": {"backend": ErrorStats(project="backend")}}


def test_error_rate_alert_is_partial_outage() -> None:
    up = [MonitorStatus.UP, MonitorStatus.UP]

    state, message = _api_component(up, [_fire(AlertRule.ERROR_RATE, "backend")], **STATS)

    assert state is PARTIAL
    assert message == "The API is having trouble."


def test_error_spike_alert_is_degraded() -> None:
    up = [MonitorStatus.UP, MonitorStatus.UP]

    state, _ = _api_component(up, [_fire(AlertRule.ERRORS_5M, "backend")], **STATS)

    assert state is DEGRADED


def test_alert_of_other_project_changes_nothing() -> None:
    up = [MonitorStatus.UP, MonitorStatus.UP]

    state, message = _api_component(up, [_fire(AlertRule.ERROR_RATE, "frontend")], **STATS)

    assert state is OP
    assert message is None


def test_paused_only_component_is_under_maintenance() -> None:
    paused = [MonitorStatus.PAUSED, MonitorStatus.PAUSED]

    state, message = _api_component(paused, [], **STATS)

    assert state is MAINT
    assert message is None


def test_absent_sentry_does_not_mask_monitors() -> None:
    state, _ = _api_component([MonitorStatus.UP, MonitorStatus.UP], [])

    assert state is OP


def test_absent_monitors_make_component_unknown() -> None:
    settings = make_settings(components=API_MAP)
    snapshot = snapshot_of(None, **STATS)
    definition = resolve_components(None, settings)[0]

    status = evaluate_component(definition, snapshot, settings, NOW, [])

    assert status.state is UNKNOWN
    assert [part.reason for part in status.parts][:2] == ["no monitor data", "no monitor data"]


def test_default_message_when_component_has_none() -> None:
    settings = make_settings(components=API_MAP)
    monitors = [make_monitor(790000001, "Frontend", status=MonitorStatus.DOWN)]
    definition = resolve_components(monitors, settings)[1]

    status = evaluate_component(definition, snapshot_of(monitors), settings, NOW, [])

    assert status.state is MAJOR
    assert status.message == "We're experiencing issues with Website. Our team is investigating."


def test_component_parts_are_private() -> None:
    settings = make_settings(components=API_MAP)
    monitors = [make_monitor(790000001, "Frontend", status=MonitorStatus.DOWN)]
    definition = resolve_components(monitors, settings)[1]

    public = evaluate_component(definition, snapshot_of(monitors), settings, NOW, []).public_dump()

    assert "parts" not in public
    assert "missing_monitors" not in public
    assert public["state"] == "major_outage"


def test_shared_monitor_index_gives_same_status() -> None:
    settings = make_settings(components=API_MAP)
    monitors = [
        make_monitor(790000001, "Frontend", status=MonitorStatus.DOWN),
        make_monitor(790000002, "Backend API"),
        make_monitor(790000003, "Database health"),
    ]
    snapshot = snapshot_of(monitors)
    by_id = {monitor.id: monitor for monitor in monitors}

    for definition in resolve_components(monitors, settings):
        indexed = evaluate_component(definition, snapshot, settings, NOW, [], monitors_by_id=by_id)

        assert indexed == evaluate_component(definition, snapshot, settings, NOW, [])


def test_without_map_paused_monitor_stays_private() -> None:
    from app.models.upstream import MonitorStatus

    monitors = [
        make_monitor(1, "Frontend"),
        make_monitor(2, "Staging", status=MonitorStatus.PAUSED),
    ]

    definitions = resolve_components(monitors, make_settings())

    assert [d.is_public for d in definitions] == [True, False]
