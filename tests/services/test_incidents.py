"""Incidents from monitor logs: opening, closing, merging, priorities and MTTR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import ComponentConfig, Settings
from app.models.snapshot import SystemSnapshot
from app.models.status import Incident, IncidentStatus, Indicator, Priority
from app.models.upstream import LogType, Monitor, MonitorLog, MonitorsSnapshot, MonitorStatus
from app.services.incidents import compute_mttr, incident_id, rate_outage
from app.services.status import evaluate

MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


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
        "sentry_projects": "",
    }
    values.update(overrides)
    return Settings(**values)


def make_monitor(
    monitor_id: int,
    name: str,
    outages: list[tuple[str, str | None]],
    status: MonitorStatus | None = None,
    reason: str | None = None,
) -> Monitor:
    """A monitor started on the 1st, down during each outage (``None`` end: still down)."""
    logs = [MonitorLog(type=LogType.STARTED, at=MONTH_START)]
    for down_text, up_text in outages:
        down_at = at(down_text)
        logs.append(MonitorLog(type=LogType.DOWN, at=down_at, reason_detail=reason))
        if up_text is not None:
            logs.append(MonitorLog(type=LogType.UP, at=at(up_text)))
    still_down = bool(outages) and outages[-1][1] is None
    if status is None:
        status = MonitorStatus.DOWN if still_down else MonitorStatus.UP
    return Monitor(id=monitor_id, name=name, status=status, logs=logs)


def incidents_of(monitors: list[Monitor], settings: Settings | None = None) -> list[Incident]:
    snapshot = SystemSnapshot(taken_at=NOW, monitors=MonitorsSnapshot(monitors=monitors))
    return evaluate(snapshot, settings or make_settings(), NOW).incidents


SITE_MAP = [
    ComponentConfig(name="API", monitors=["Backend API", "Database health"]),
    ComponentConfig(name="Website", monitors=["Frontend"]),
]


def site(
    backend: list[tuple[str, str | None]],
    database: list[tuple[str, str | None]],
    frontend: list[tuple[str, str | None]],
) -> list[Monitor]:
    return [
        make_monitor(1, "Frontend", frontend),
        make_monitor(2, "Backend API", backend, reason="503 Service Unavailable"),
        make_monitor(3, "Database health", database, reason="Keyword not found"),
    ]


# --- Opening, closing, merging -----------------------------------------------------------------


def test_down_log_opens_and_up_log_closes() -> None:
    monitors = [make_monitor(2, "Backend API", [("2026-03-05T10:00:00", "2026-03-05T10:30:00")])]

    [incident] = incidents_of(monitors)

    assert incident.started_at == at("2026-03-05T10:00:00")
    assert incident.resolved_at == at("2026-03-05T10:30:00")
    assert incident.duration_s == 1800.0
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.components == ["Backend API"]


def test_open_incident_has_running_duration() -> None:
    monitors = [make_monitor(2, "Backend API", [("2026-03-10T11:15:00", None)])]

    [incident] = incidents_of(monitors)

    assert incident.resolved_at is None
    assert incident.is_open
    assert incident.status is IncidentStatus.INVESTIGATING
    assert incident.duration_s == 2700.0


def test_overlapping_outages_in_component_merge() -> None:
    monitors = site(
        backend=[("2026-03-05T10:00:00", "2026-03-05T10:30:00")],
        database=[("2026-03-05T10:20:00", "2026-03-05T10:50:00")],
        frontend=[],
    )

    [incident] = incidents_of(monitors, make_settings(components=SITE_MAP))

    assert incident.started_at == at("2026-03-05T10:00:00")
    assert incident.resolved_at == at("2026-03-05T10:50:00")
    assert incident.downtime_s == 3000.0
    assert [monitor.name for monitor in incident.monitors] == ["Backend API", "Database health"]
    assert incident.cause == "503 Service Unavailable; Keyword not found"


def test_separate_outages_make_separate_incidents() -> None:
    monitors = [
        make_monitor(
            2,
            "Backend API",
            [
                ("2026-03-05T10:00:00", "2026-03-05T10:10:00"),
                ("2026-03-06T10:00:00", "2026-03-06T10:10:00"),
            ],
        )
    ]

    incidents = incidents_of(monitors)

    assert [incident.started_at for incident in incidents] == [
        at("2026-03-06T10:00:00"),
        at("2026-03-05T10:00:00"),
    ]


def test_paused_stretch_inside_outage_keeps_one_incident() -> None:
    logs = [
        MonitorLog(type=LogType.STARTED, at=MONTH_START),
        MonitorLog(type=LogType.DOWN, at=at("2026-03-05T10:00:00")),
        MonitorLog(type=LogType.PAUSED, at=at("2026-03-05T10:10:00")),
        MonitorLog(type=LogType.STARTED, at=at("2026-03-05T10:30:00")),
        MonitorLog(type=LogType.DOWN, at=at("2026-03-05T10:30:00")),
        MonitorLog(type=LogType.UP, at=at("2026-03-05T10:40:00")),
    ]
    monitors = [Monitor(id=2, name="Backend API", status=MonitorStatus.UP, logs=logs)]

    [incident] = incidents_of(monitors)

    assert incident.duration_s == 2400.0
    assert incident.downtime_s == 1200.0


def test_incident_id_is_stable_and_derived() -> None:
    monitors = [make_monitor(2, "Backend API", [("2026-03-05T10:00:00", "2026-03-05T10:30:00")])]

    first = incidents_of(monitors)[0].id
    second = incidents_of(monitors)[0].id

    assert first == second
    assert first == incident_id("Backend API", at("2026-03-05T10:00:00"))
    assert first != incident_id("Frontend", at("2026-03-05T10:00:00"))


def test_incident_private_fields_are_dropped() -> None:
    monitors = [
        make_monitor(2, "Backend API", [("2026-03-05T10:00:00", None)], reason="connection refused")
    ]

    public = incidents_of(monitors)[0].public_dump()

    assert "cause" not in public
    assert "monitors" not in public
    assert "priority" not in public
    assert "connection refused" not in str(public)
    assert public["title"] == "Backend API outage"
    assert public["status"] == "investigating"


# --- Priorities --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("down", "up", "every_down", "is_public", "expected"),
    [
        ({3}, {2, 1}, False, True, Priority.P0),
        ({2}, set(), True, True, Priority.P0),
        ({2}, set(), False, True, Priority.P1),
        ({2}, {3}, False, True, Priority.P2),
        ({9}, set(), False, False, Priority.P3),
        ({3}, set(), False, False, Priority.P0),
    ],
)
def test_rate_outage_table(
    down: set[int], up: set[int], every_down: bool, is_public: bool, expected: Priority
) -> None:
    priority = rate_outage(
        component_down_ids=frozenset(down),
        component_up_ids=frozenset(up),
        every_monitor_down=every_down,
        critical_ids=frozenset({3}),
        is_public=is_public,
    )

    assert priority is expected


def _priorities(monitors: list[Monitor], settings: Settings) -> dict[str, Priority]:
    return {incident.title: incident.priority for incident in incidents_of(monitors, settings)}


def test_database_down_is_p0() -> None:
    monitors = site(
        backend=[], database=[("2026-03-05T10:00:00", "2026-03-05T10:05:00")], frontend=[]
    )

    incidents = incidents_of(monitors, make_settings(components=SITE_MAP))

    assert [(i.title, i.priority, i.impact) for i in incidents] == [
        ("API partial outage", Priority.P0, Indicator.CRITICAL)
    ]


def test_auth_monitor_down_is_p0() -> None:
    monitors = site(
        backend=[("2026-03-05T10:00:00", "2026-03-05T10:05:00")], database=[], frontend=[]
    )
    settings = make_settings(components=SITE_MAP, auth_monitors="Backend API")

    assert _priorities(monitors, settings) == {"API partial outage": Priority.P0}


def test_every_monitor_down_is_p0() -> None:
    outage = [("2026-03-05T10:00:00", "2026-03-05T10:05:00")]
    monitors = site(backend=outage, database=outage, frontend=outage)
    settings = make_settings(components=SITE_MAP, database_monitors="")

    assert _priorities(monitors, settings) == {
        "API outage": Priority.P0,
        "Website outage": Priority.P0,
    }


def test_whole_component_down_is_p1() -> None:
    monitors = site(
        backend=[], database=[], frontend=[("2026-03-05T10:00:00", "2026-03-05T10:05:00")]
    )

    assert _priorities(monitors, make_settings(components=SITE_MAP)) == {
        "Website outage": Priority.P1
    }


def test_part_of_component_down_is_p2() -> None:
    monitors = site(
        backend=[("2026-03-05T10:00:00", "2026-03-05T10:05:00")], database=[], frontend=[]
    )

    incidents = incidents_of(monitors, make_settings(components=SITE_MAP))

    assert [(i.title, i.priority, i.severity) for i in incidents] == [
        ("API partial outage", Priority.P2, "medium")
    ]


def test_monitor_of_no_public_component_is_p3() -> None:
    monitors = [
        *site(backend=[], database=[], frontend=[]),
        make_monitor(5, "Staging", [("2026-03-05T10:00:00", "2026-03-05T10:05:00")]),
    ]

    [incident] = incidents_of(monitors, make_settings(components=SITE_MAP))

    assert incident.priority is Priority.P3
    assert incident.components == []


# --- MTTR --------------------------------------------------------------------------------------


def _incident(start: str, end: str | None, priority: Priority) -> Incident:
    started_at = at(start)
    resolved_at = None if end is None else at(end)
    finish = resolved_at or NOW
    return Incident(
        id=incident_id("API", started_at),
        title="API outage",
        status=IncidentStatus.INVESTIGATING if end is None else IncidentStatus.RESOLVED,
        impact=Indicator.MAJOR,
        severity="high",
        priority=priority,
        started_at=started_at,
        resolved_at=resolved_at,
        duration_s=(finish - started_at).total_seconds(),
        downtime_s=(finish - started_at).total_seconds(),
        components=["API"],
        monitors=[],
    )


def test_mttr_counts_only_part_inside_window() -> None:
    incidents = [
        _incident("2026-02-28T23:00:00", "2026-03-01T00:30:00", Priority.P1),
        _incident("2026-03-03T10:00:00", "2026-03-03T11:30:00", Priority.P2),
        _incident("2026-03-10T11:00:00", None, Priority.P0),
        _incident("2026-02-20T10:00:00", "2026-02-20T11:00:00", Priority.P0),
    ]

    report = compute_mttr(incidents, MONTH_START, NOW)

    assert report.resolved_count == 2
    assert report.mttr_s == (1800.0 + 5400.0) / 2
    assert report.critical_resolved_count == 1
    assert report.critical_mttr_s == 1800.0
    assert report.open_count == 1


def test_mttr_without_resolved_incidents_is_none() -> None:
    report = compute_mttr([_incident("2026-03-10T11:00:00", None, Priority.P0)], MONTH_START, NOW)

    assert report.mttr_s is None
    assert report.critical_mttr_s is None
    assert report.open_count == 1


def test_mttr_clips_incident_before_month() -> None:
    start = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    logs = [
        MonitorLog(type=LogType.STARTED, at=start - timedelta(days=1)),
        MonitorLog(type=LogType.DOWN, at=start),
        MonitorLog(type=LogType.UP, at=start + timedelta(minutes=90)),
    ]
    monitors = [Monitor(id=2, name="Backend API", status=MonitorStatus.UP, logs=logs)]
    snapshot = SystemSnapshot(taken_at=NOW, monitors=MonitorsSnapshot(monitors=monitors))

    status = evaluate(snapshot, make_settings(), NOW)

    assert status.incidents[0].started_at == start
    assert status.incidents[0].duration_s == 5400.0
    assert status.mttr.critical_mttr_s == 1800.0
