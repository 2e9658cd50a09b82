"""The fake UptimeRobot v2: wire format, parameters, the demo story and published examples."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import app.demo.uptimerobot_sim as uptimerobot_sim
from app.config import Settings
from app.demo.app import create_simulator
from app.demo.world import DemoWorld
from app.models.upstream import LogType, MonitorStatus
from app.sources.base import CallRecorder
from app.sources.uptimerobot import UptimeRobotSource

NOW = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
WORLD = DemoWorld.at(NOW)
FRONTEND, BACKEND, DATABASE, SSL_MONITOR, STAGING = (
    790_000_001,
    790_000_002,
    790_000_003,
    790_000_004,
    790_000_005,
)
EXAMPLES = Path(__file__).parents[2] / ".." / "shared" / "upstream-schemas" / "uptimerobot-examples"
FULL_QUERY = {
    "api_key": "ur-test",
    "format": "json",
    "custom_uptime_ratios": "1-7-30-90",
    "logs": "1",
    "response_times": "1",
    "response_times_average": "30",
    "ssl": "1",
    "mwindows": "1",
}


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture
def simulator() -> FastAPI:
    return create_simulator(world=WORLD, clock=lambda: NOW)


@pytest.fixture
async def client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulator.test") as http:
        yield http


async def get_monitors(client: httpx.AsyncClient, **params: str) -> Any:
    response = await client.post("/v2/getMonitors", data={**FULL_QUERY, **params})
    assert response.status_code == 200
    return response.json()


async def monitor_by_id(client: httpx.AsyncClient, monitor_id: int, **params: str) -> Any:
    body = await get_monitors(client, monitors=str(monitor_id), **params)
    assert len(body["monitors"]) == 1
    return body["monitors"][0]


def set_clock(simulator: FastAPI, moment: datetime) -> None:
    simulator.state.simulator.clock = lambda: moment


# --- Authentication and body encodings -------------------------------------------------------


async def test_missing_key_is_stat_fail(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getMonitors", data={"format": "json"})

    assert response.status_code == 200
    assert response.json()["stat"] == "fail"
    assert response.json()["error"]["type"] == "missing_parameter"
    assert response.json()["error"]["parameter_name"] == "api_key"


async def test_bad_key_is_stat_fail(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getMonitors", data={"api_key": "bad", "format": "json"})

    error = response.json()["error"]
    assert response.status_code == 200
    assert error["type"] == "invalid_parameter"
    assert error["parameter_name"] == "api_key"
    assert error["passed_value"] == "bad"


async def test_json_body_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/getMonitors", json={"api_key": "ur-test", "format": "json", "logs": 1}
    )

    body = response.json()
    assert body["stat"] == "ok"
    assert "logs" in body["monitors"][0]


async def test_query_string_key_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getMonitors?api_key=ur-test", data={"format": "json"})

    assert response.json()["stat"] == "ok"


async def test_without_format_json_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getMonitors", data={"api_key": "ur-test"})

    assert response.headers["content-type"].startswith("text/xml")
    with pytest.raises(ValueError):
        response.json()


async def test_rate_limit_headers_present(client: httpx.AsyncClient) -> None:
    first = await client.post("/v2/getMonitors", data=FULL_QUERY)
    second = await client.post("/v2/getMonitors", data=FULL_QUERY)

    assert first.headers["X-RateLimit-Limit"] == "10"
    assert int(first.headers["X-RateLimit-Remaining"]) == 9
    assert int(second.headers["X-RateLimit-Remaining"]) == 8
    assert int(first.headers["X-RateLimit-Reset"]) > epoch(NOW)


# --- Parameters -------------------------------------------------------------------------------


async def test_pagination_default_page(client: httpx.AsyncClient) -> None:
    body = await get_monitors(client)

    assert body["pagination"] == {"offset": 0, "limit": 50, "total": 5}
    assert [monitor["id"] for monitor in body["monitors"]] == [
        FRONTEND,
        BACKEND,
        DATABASE,
        SSL_MONITOR,
        STAGING,
    ]


async def test_pagination_offset_and_limit(client: httpx.AsyncClient) -> None:
    body = await get_monitors(client, offset="1", limit="2")

    assert body["pagination"] == {"offset": 1, "limit": 2, "total": 5}
    assert [monitor["id"] for monitor in body["monitors"]] == [BACKEND, DATABASE]


async def test_limit_capped_at_50() -> None:
    world = DemoWorld.at(NOW, extra_monitors=95)
    simulator = create_simulator(world=world, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator), base_url="http://simulator.test"
    ) as client:
        body = await get_monitors(client, limit="500")

    assert body["pagination"] == {"offset": 0, "limit": 50, "total": 100}
    assert len(body["monitors"]) == 50


async def test_monitors_filter(client: httpx.AsyncClient) -> None:
    body = await get_monitors(client, monitors=f"{DATABASE}-{FRONTEND}-12345")

    assert [monitor["id"] for monitor in body["monitors"]] == [FRONTEND, DATABASE]
    assert body["pagination"]["total"] == 2


async def test_types_statuses_search_filters(client: httpx.AsyncClient) -> None:
    keyword = await get_monitors(client, types="2")
    paused = await get_monitors(client, statuses="0")
    api = await get_monitors(client, search="API.EXAMPLE")

    assert [monitor["id"] for monitor in keyword["monitors"]] == [DATABASE]
    assert [monitor["id"] for monitor in paused["monitors"]] == [STAGING]
    assert [monitor["id"] for monitor in api["monitors"]] == [BACKEND, DATABASE]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("statuses", "7"),
        ("custom_uptime_ratios", "1,7,30"),
        ("custom_uptime_ratios", "[1, 7, 30]"),
        ("monitors", "1,2"),
        ("offset", "-1"),
        ("custom_uptime_ranges", "200_100"),
    ],
)
async def test_invalid_parameter_is_stat_fail(
    client: httpx.AsyncClient, parameter: str, value: str
) -> None:
    response = await client.post("/v2/getMonitors", data={**FULL_QUERY, parameter: value})

    body = response.json()
    assert response.status_code == 200
    assert body["stat"] == "fail"
    assert body["error"]["type"] == "invalid_parameter"
    assert body["error"]["parameter_name"] == parameter
    assert body["error"]["passed_value"] == value


async def test_response_times_span_limit(client: httpx.AsyncClient) -> None:
    start = epoch(NOW - timedelta(days=8))
    body = (
        await client.post(
            "/v2/getMonitors",
            data={
                **FULL_QUERY,
                "response_times_start_date": str(start),
                "response_times_end_date": str(epoch(NOW)),
            },
        )
    ).json()

    assert body["stat"] == "fail"
    assert body["error"]["parameter_name"] == "response_times_end_date"


async def test_flags_off_leave_fields_out(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getMonitors", data={"api_key": "ur-test", "format": "json"})

    monitor = response.json()["monitors"][0]
    for key in (
        "logs",
        "response_times",
        "average_response_time",
        "ssl",
        "mwindows",
        "custom_uptime_ratio",
        "custom_uptime_ranges",
        "all_time_uptime_ratio",
    ):
        assert key not in monitor


async def test_all_time_ratio_only_when_asked(client: httpx.AsyncClient) -> None:
    plain = await monitor_by_id(client, BACKEND)
    with_all_time = await monitor_by_id(client, BACKEND, all_time_uptime_ratio="1")

    assert "all_time_uptime_ratio" not in plain
    assert isinstance(with_all_time["all_time_uptime_ratio"], str)


# --- Wire types -------------------------------------------------------------------------------


async def test_numbers_sent_as_strings(client: httpx.AsyncClient) -> None:
    monitor = await monitor_by_id(client, BACKEND)

    assert isinstance(monitor["custom_uptime_ratio"], str)
    assert all(len(part.split(".")[1]) == 3 for part in monitor["custom_uptime_ratio"].split("-"))
    assert len(monitor["custom_uptime_ratio"].split("-")) == 4
    assert isinstance(monitor["average_response_time"], str)
    assert float(monitor["average_response_time"]) > 0


async def test_inapplicable_ints_are_empty_strings(client: httpx.AsyncClient) -> None:
    http = await monitor_by_id(client, FRONTEND)
    keyword = await monitor_by_id(client, DATABASE)

    assert http["sub_type"] == ""
    assert http["keyword_type"] == ""
    assert http["port"] == ""
    assert keyword["keyword_type"] == 2
    assert keyword["keyword_value"] == "success"
    assert keyword["type"] == 2


async def test_logs_newest_first_with_reason(client: httpx.AsyncClient) -> None:
    logs = (await monitor_by_id(client, BACKEND))["logs"]

    times = [log["datetime"] for log in logs]
    assert times == sorted(times, reverse=True)
    for log in logs:
        assert set(log) == {"id", "type", "datetime", "duration", "reason"}
        assert set(log["reason"]) == {"code", "detail"}


async def test_response_times_newest_first(client: httpx.AsyncClient) -> None:
    points = (await monitor_by_id(client, FRONTEND))["response_times"]

    times = [point["datetime"] for point in points]
    assert len(points) == 48  # 24 h in 30-minute buckets
    assert times == sorted(times, reverse=True)
    assert all(isinstance(point["value"], int) for point in points)


async def test_response_times_limit_applies(client: httpx.AsyncClient) -> None:
    points = (await monitor_by_id(client, FRONTEND, response_times_limit="5"))["response_times"]

    assert len(points) == 5


async def test_raw_response_times_every_interval(client: httpx.AsyncClient) -> None:
    frontend = await monitor_by_id(client, FRONTEND, response_times_average="0")
    hourly = await monitor_by_id(client, SSL_MONITOR, response_times_average="0")

    assert len(frontend["response_times"]) == 288
    assert len(hourly["response_times"]) == 24


# --- The demo story ---------------------------------------------------------------------------


async def test_outage_down_up_pair(client: httpx.AsyncClient) -> None:
    outage_start, outage_end = WORLD.outage

    for monitor_id in WORLD.outage_monitor_ids:
        logs = (await monitor_by_id(client, monitor_id))["logs"]
        up, down = logs[0], logs[1]
        assert (down["type"], down["datetime"]) == (1, epoch(outage_start))
        assert (up["type"], up["datetime"]) == (2, epoch(outage_end))
        assert down["duration"] == epoch(outage_end) - epoch(outage_start)
        assert up["duration"] == epoch(NOW) - epoch(outage_end)


async def test_uptime_ratios_match_outage(client: httpx.AsyncClient) -> None:
    outage_start, outage_end = WORLD.outage
    down_s = (outage_end - outage_start).total_seconds()
    expected = "-".join(
        f"{100 * (days * 86_400 - down_s) / (days * 86_400):.3f}" if days > 1 else "100.000"
        for days in (1, 7, 30, 90)
    )

    backend = await monitor_by_id(client, BACKEND)
    frontend = await monitor_by_id(client, FRONTEND)

    assert backend["custom_uptime_ratio"] == expected
    assert backend["custom_uptime_ratio"] == "100.000-99.623-99.912-99.971"
    assert frontend["custom_uptime_ratio"] == "100.000-100.000-100.000-100.000"


async def test_status_during_outage(simulator: FastAPI, client: httpx.AsyncClient) -> None:
    outage_start, _ = WORLD.outage

    set_clock(simulator, outage_start + timedelta(seconds=30))
    seems_down = await monitor_by_id(client, BACKEND)
    set_clock(simulator, outage_start + timedelta(minutes=10))
    down = await monitor_by_id(client, BACKEND)
    frontend = await monitor_by_id(client, FRONTEND)

    assert seems_down["status"] == 8
    assert down["status"] == 9
    assert frontend["status"] == 2


async def test_logs_after_now_hidden(simulator: FastAPI, client: httpx.AsyncClient) -> None:
    outage_start, _ = WORLD.outage
    set_clock(simulator, outage_start + timedelta(minutes=10))

    logs = (await monitor_by_id(client, BACKEND))["logs"]

    assert [log["type"] for log in logs] == [1, 98]
    assert logs[0]["duration"] == 600


async def test_no_response_times_during_outage(client: httpx.AsyncClient) -> None:
    outage_start, outage_end = WORLD.outage
    monitor = await monitor_by_id(
        client,
        BACKEND,
        response_times_average="0",
        response_times_start_date=str(epoch(outage_start) - 3600),
        response_times_end_date=str(epoch(outage_end) + 3600),
    )

    times = [point["datetime"] for point in monitor["response_times"]]
    assert times
    assert not [t for t in times if epoch(outage_start) <= t < epoch(outage_end)]


async def test_slow_period_in_response_times(client: httpx.AsyncClient) -> None:
    slow_start, slow_end = WORLD.slow
    monitor = await monitor_by_id(
        client,
        BACKEND,
        response_times_average="60",
        response_times_start_date=str(epoch(slow_start - timedelta(hours=2))),
        response_times_end_date=str(epoch(slow_end + timedelta(hours=2))),
    )

    slow = [
        p["value"]
        for p in monitor["response_times"]
        if epoch(slow_start) <= p["datetime"] < epoch(slow_end)
    ]
    normal = [
        p["value"]
        for p in monitor["response_times"]
        if not epoch(slow_start) <= p["datetime"] < epoch(slow_end)
    ]
    assert len(slow) == 2
    assert min(slow) > 500
    assert max(normal) < 500


async def test_staging_paused(client: httpx.AsyncClient) -> None:
    staging = await monitor_by_id(client, STAGING)

    assert staging["status"] == 0
    assert staging["logs"][0]["type"] == 99
    assert staging["response_times"] == []
    assert staging["average_response_time"] == ""


async def test_ssl_certificate_expires_in_20_days(client: httpx.AsyncClient) -> None:
    ssl = (await monitor_by_id(client, SSL_MONITOR))["ssl"]

    assert ssl["expires"] == epoch(WORLD.anchor + timedelta(days=20))
    assert isinstance(ssl["brand"], str)


async def test_backend_certificate_far_from_expiry(client: httpx.AsyncClient) -> None:
    ssl = (await monitor_by_id(client, BACKEND))["ssl"]

    assert ssl["expires"] > epoch(WORLD.anchor + timedelta(days=30))


async def test_custom_uptime_ranges(client: httpx.AsyncClient) -> None:
    outage_start, outage_end = WORLD.outage
    around = f"{epoch(outage_start) - 3480}_{epoch(outage_end) + 3480}"
    before = f"{epoch(outage_start) - 7200}_{epoch(outage_start)}"

    monitor = await monitor_by_id(client, BACKEND, custom_uptime_ranges=f"{around}-{before}")

    # 58 minutes up on each side of the 38-minute outage: 6960 s up out of 9240 s.
    assert monitor["custom_uptime_ranges"] == "75.325-100.000"


async def test_logs_date_range_and_limit(client: httpx.AsyncClient) -> None:
    outage_start, _ = WORLD.outage
    ranged = await monitor_by_id(
        client,
        BACKEND,
        logs_start_date=str(epoch(outage_start)),
        logs_end_date=str(epoch(outage_start) + 60),
    )
    limited = await monitor_by_id(client, BACKEND, logs_limit="1")
    downs = await monitor_by_id(client, BACKEND, log_types="1")

    assert [log["type"] for log in ranged["logs"]] == [1]
    assert [log["type"] for log in limited["logs"]] == [2]
    assert [log["type"] for log in downs["logs"]] == [1]


async def test_clock_moves_now_not_world(simulator: FastAPI, client: httpx.AsyncClient) -> None:
    set_clock(simulator, NOW + timedelta(days=3))

    backend = await monitor_by_id(client, BACKEND)

    assert backend["custom_uptime_ratio"].split("-")[0] == "100.000"
    assert backend["logs"][1]["datetime"] == epoch(WORLD.outage[0])
    assert backend["response_times"]


# --- Load -------------------------------------------------------------------------------------


async def test_extra_monitors_after_defaults() -> None:
    world = DemoWorld.at(NOW, extra_monitors=1000)
    simulator = create_simulator(world=world, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator), base_url="http://simulator.test"
    ) as client:
        last_page = await get_monitors(client, offset="1000")

    ids = [monitor["id"] for monitor in last_page["monitors"]]
    assert last_page["pagination"]["total"] == 1005
    assert len(ids) == 5
    assert ids[-1] == STAGING + 1000
    assert min(ids) > STAGING - 5


async def test_monitor_table_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[DemoWorld] = []
    real_build: Callable[[DemoWorld], Any] = uptimerobot_sim.build_monitor_table

    def counting_build(world: DemoWorld) -> Any:
        builds.append(world)
        return real_build(world)

    monkeypatch.setattr(uptimerobot_sim, "build_monitor_table", counting_build)
    simulator = create_simulator(world=DemoWorld.at(NOW, extra_monitors=200), clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator), base_url="http://simulator.test"
    ) as client:
        for offset in range(0, 205, 50):
            await get_monitors(client, offset=str(offset))

    assert len(builds) == 1


# --- getAccountDetails ------------------------------------------------------------------------


async def test_account_details_counts(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/getAccountDetails", data={"api_key": "ur-test", "format": "json"}
    )

    account = response.json()["account"]
    assert response.json()["stat"] == "ok"
    assert account["total_monitors_count"] == 5
    assert account["up_monitors"] == 4
    assert account["down_monitors"] == 0
    assert account["paused_monitors"] == 1
    assert account["monitor_limit"] >= 5


async def test_account_details_requires_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/getAccountDetails", data={"format": "json"})

    assert response.json()["error"]["type"] == "missing_parameter"


# --- The client against the simulator ---------------------------------------------------------


async def test_client_reads_demo_story(simulator: FastAPI) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_base_url="http://simulator.test/v2"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as client:
        source = UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-demo")
        snapshot = await source.fetch_monitors()

    by_id = {monitor.id: monitor for monitor in snapshot.monitors}
    backend = by_id[BACKEND]
    assert snapshot.total == 5
    assert backend.status is MonitorStatus.UP
    assert backend.uptime_ratios == {1: 100.0, 7: 99.623, 30: 99.912, 90: 99.971}
    assert [log.type for log in backend.logs] == [LogType.UP, LogType.DOWN, LogType.STARTED]
    assert backend.logs[1].at == WORLD.outage[0]
    assert backend.average_response_time_ms is not None
    assert by_id[STAGING].status is MonitorStatus.PAUSED
    assert by_id[STAGING].average_response_time_ms is None
    ssl = by_id[SSL_MONITOR].ssl
    assert ssl is not None
    assert ssl.expires_at == WORLD.anchor + timedelta(days=20)
    assert by_id[FRONTEND].maintenance_windows[0].kind == "weekly"


async def test_client_paginates_simulator() -> None:
    simulator = create_simulator(world=DemoWorld.at(NOW, extra_monitors=115), clock=lambda: NOW)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_base_url="http://simulator.test/v2"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as client:
        source = UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-demo")
        snapshot = await source.fetch_monitors()

    assert len(snapshot.monitors) == 120
    assert snapshot.pages == 3
    assert simulator.state.simulator.calls["uptimerobot:getMonitors"] == 3


async def test_client_window_longer_than_7_days(simulator: FastAPI) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_base_url="http://simulator.test/v2"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as client:
        source = UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-demo")
        snapshot = await source.fetch_monitors_window(NOW - timedelta(days=10), NOW)

    backend = next(monitor for monitor in snapshot.monitors if monitor.id == BACKEND)
    assert backend.uptime_ratios[0] == pytest.approx(99.736, abs=0.001)
    assert [log.type for log in backend.logs] == [LogType.UP, LogType.DOWN]
    assert 7 <= len(backend.response_times) <= 8


# --- Published examples -----------------------------------------------------------------------

needs_examples = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"published UptimeRobot examples not found at {EXAMPLES}"
)


TYPE_SPECIFIC_FIELDS = ("sub_type", "port", "keyword_type", "keyword_case_type", "keyword_value")


def load_example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def assert_same_types(real: dict[str, Any], simulated: dict[str, Any], where: str) -> None:
    missing = set(real) - set(simulated)
    assert not missing, f"{where}: simulator lacks {sorted(missing)}"
    for key, value in real.items():
        assert type(simulated[key]) is type(value), (
            f"{where}.{key}: real {type(value).__name__}, simulator {type(simulated[key]).__name__}"
        )


@needs_examples
@pytest.mark.parametrize(
    "name",
    [
        "bitfield-uptimerobot__getMonitors.json",
        "bitfield-uptimerobot__getMonitorsPage1.json",
        "pyuptimerobot__getMonitors.json",
    ],
)
async def test_monitors_match_published_examples(client: httpx.AsyncClient, name: str) -> None:
    real = load_example(name)
    simulated = await get_monitors(client)
    simulated_by_type = {monitor["type"]: monitor for monitor in reversed(simulated["monitors"])}
    simulated_log = simulated["monitors"][0]["logs"][0]

    assert set(real) == set(simulated)
    assert_same_types(real["pagination"], simulated["pagination"], "pagination")
    for monitor in real["monitors"]:
        fields = {key: value for key, value in monitor.items() if key != "logs"}
        counterpart = simulated_by_type.get(monitor["type"])
        if counterpart is None:
            # The simulator has no monitor of this type (port, ping...), so only the fields every
            # type shares are comparable.
            counterpart = simulated_by_type[1]
            for key in TYPE_SPECIFIC_FIELDS:
                fields.pop(key, None)
        assert_same_types(fields, counterpart, f"monitor {monitor['friendly_name']}")
        for log in monitor.get("logs", []):
            assert_same_types(log, simulated_log, "log")


@needs_examples
async def test_parameter_error_matches_published_example(client: httpx.AsyncClient) -> None:
    real = load_example("go-uptimerobot-v2__getMonitors_error_invalid_monitor_status.json")
    response = await client.post("/v2/getMonitors", data={**FULL_QUERY, "statuses": "7"})
    simulated = response.json()

    assert set(real) == set(simulated)
    assert simulated["stat"] == real["stat"]
    assert_same_types(real["error"], simulated["error"], "error")
    assert simulated["error"]["type"] == real["error"]["type"]
    assert simulated["error"]["parameter_name"] == real["error"]["parameter_name"]
    assert simulated["error"]["passed_value"] == real["error"]["passed_value"]
