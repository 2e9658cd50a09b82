"""UptimeRobotSource against published v2 responses from other clients' test fixtures.

The fixtures are third-party files kept outside this repository, in a folder next to the
checkout (``EXAMPLES``). They are read in place, and the tests skip when that folder is absent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.models.upstream import LogType, MonitorStatus, MonitorType
from app.sources.base import CallRecorder
from app.sources.errors import SourceAuthError, SourceBadResponse
from app.sources.uptimerobot import UptimeRobotSource

EXAMPLES = Path(__file__).parents[2] / ".." / "shared" / "upstream-schemas" / "uptimerobot-examples"
BASE_URL = "https://api.uptimerobot.com/v2"
SINGLE_PAGE_EXAMPLES = ["bitfield-uptimerobot__getMonitors.json", "pyuptimerobot__getMonitors.json"]

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"published UptimeRobot examples not found at {EXAMPLES}"
)


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
async def source() -> AsyncIterator[UptimeRobotSource]:
    settings = Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]
    async with httpx.AsyncClient() as client:
        yield UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-example-key")


@pytest.mark.parametrize("name", SINGLE_PAGE_EXAMPLES)
@respx.mock(base_url=BASE_URL)
async def test_example_parses_every_monitor(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, name: str
) -> None:
    body = load(name)
    respx_mock.post("/getMonitors").respond(json=body)

    snapshot = await source.fetch_monitors()

    assert [monitor.id for monitor in snapshot.monitors] == [raw["id"] for raw in body["monitors"]]
    for monitor, raw in zip(snapshot.monitors, body["monitors"], strict=True):
        assert monitor.name == raw["friendly_name"]
        assert monitor.interval_s == raw["interval"]
        assert monitor.status is not MonitorStatus.UNKNOWN
        assert monitor.type is not MonitorType.UNKNOWN
        assert monitor.keyword_value is None
        assert len(monitor.logs) == len(raw.get("logs", []))


@pytest.mark.parametrize("name", SINGLE_PAGE_EXAMPLES)
@respx.mock(base_url=BASE_URL)
async def test_example_created_at(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, name: str
) -> None:
    body = load(name)
    respx_mock.post("/getMonitors").respond(json=body)

    snapshot = await source.fetch_monitors()

    for monitor, raw in zip(snapshot.monitors, body["monitors"], strict=True):
        if raw["create_datetime"] == 0:
            assert monitor.created_at is None
        else:
            assert monitor.created_at is not None
            assert monitor.created_at.timestamp() == raw["create_datetime"]
            assert monitor.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("name", SINGLE_PAGE_EXAMPLES)
@respx.mock(base_url=BASE_URL)
async def test_example_logs_typed(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, name: str
) -> None:
    respx_mock.post("/getMonitors").respond(json=load(name))

    snapshot = await source.fetch_monitors()

    logs = [log for monitor in snapshot.monitors for log in monitor.logs]
    assert logs
    for log in logs:
        assert log.type is not LogType.UNKNOWN
        assert log.at.utcoffset() == timedelta(0)
        assert isinstance(log.duration_s, int)


@respx.mock(base_url=BASE_URL)
async def test_example_pyuptimerobot_port_monitor(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(json=load("pyuptimerobot__getMonitors.json"))

    snapshot = await source.fetch_monitors()

    port_monitors = [m for m in snapshot.monitors if m.type is MonitorType.PORT]
    assert len(port_monitors) == 1
    assert port_monitors[0].status is MonitorStatus.NOT_CHECKED


@respx.mock(base_url=BASE_URL)
async def test_example_two_pages(respx_mock: respx.MockRouter, source: UptimeRobotSource) -> None:
    route = respx_mock.post("/getMonitors").mock(
        side_effect=[
            httpx.Response(200, json=load("bitfield-uptimerobot__getMonitorsPage1.json")),
            httpx.Response(200, json=load("bitfield-uptimerobot__getMonitorsPage2.json")),
        ]
    )

    snapshot = await source.fetch_monitors()

    assert route.call_count == 2
    assert len(snapshot.monitors) == 100
    assert snapshot.monitors[0].name == "monitor-1"
    assert snapshot.monitors[-1].name == "monitor-100"


@respx.mock(base_url=BASE_URL)
async def test_example_not_authorized(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        json=load("go-uptimerobot-v2__error_not_authorized.json")
    )

    with pytest.raises(SourceAuthError, match="not_authorized"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_example_invalid_status_filter(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    body = load("go-uptimerobot-v2__getMonitors_error_invalid_monitor_status.json")
    respx_mock.post("/getMonitors").respond(json=body)

    with pytest.raises(SourceBadResponse) as caught:
        await source.fetch_monitors()

    assert "statuses" in caught.value.message
    assert "passed_value" not in caught.value.message
