"""Normalized upstream models: validation and serialisation of the compact ones."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from app.models.upstream import (
    LogType,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    ResponseTimePoint,
)

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_response_time_point_coerces_value_to_float() -> None:
    point = ResponseTimePoint(at=AT, value_ms=120)

    assert point.value_ms == 120.0
    assert isinstance(point.value_ms, float)


def test_response_time_point_rejects_naive_time() -> None:
    with pytest.raises(ValidationError):
        ResponseTimePoint(at=AT.replace(tzinfo=None), value_ms=1.0)


def test_response_time_point_is_frozen() -> None:
    point = ResponseTimePoint(at=AT, value_ms=1.0)

    with pytest.raises(dataclasses.FrozenInstanceError):
        point.value_ms = 2.0  # type: ignore[misc]


def test_response_time_point_has_no_instance_dict() -> None:
    assert not hasattr(ResponseTimePoint(at=AT, value_ms=1.0), "__dict__")


def test_monitor_with_points_survives_json_round_trip() -> None:
    monitor = Monitor(id=1, name="API", response_times=[ResponseTimePoint(at=AT, value_ms=99.5)])
    snapshot = MonitorsSnapshot(monitors=[monitor], total=1, pages=1)
    adapter = TypeAdapter(MonitorsSnapshot)

    restored = adapter.validate_json(adapter.dump_json(snapshot))

    assert restored == snapshot
    assert '"value_ms":99.5' in snapshot.model_dump_json()


def _log(**changes: object) -> MonitorLog:
    values: dict[str, object] = {"id": 7, "type": "down", "at": AT, "reason_code": "522"}
    values.update(changes)
    return MonitorLog(**values)  # type: ignore[arg-type]


def test_monitor_log_validates_type_and_time() -> None:
    log = _log()

    assert log.type is LogType.DOWN
    with pytest.raises(ValidationError):
        _log(at=AT.replace(tzinfo=None))


def test_monitor_log_is_frozen() -> None:
    log = _log()

    with pytest.raises(dataclasses.FrozenInstanceError):
        log.duration_s = 5  # type: ignore[misc]


def test_monitor_log_has_no_instance_dict() -> None:
    assert not hasattr(_log(), "__dict__")


def test_monitor_with_logs_survives_json_round_trip() -> None:
    monitor = Monitor(id=1, name="API", logs=[_log(duration_s=60)])
    snapshot = MonitorsSnapshot(monitors=[monitor], total=1, pages=1)
    adapter = TypeAdapter(MonitorsSnapshot)

    restored = adapter.validate_json(adapter.dump_json(snapshot))

    assert restored == snapshot
    assert '"reason_code":"522"' in snapshot.model_dump_json()
