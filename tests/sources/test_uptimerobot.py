"""UptimeRobotSource: the request it sends, pagination and the parsing of v2's loose types."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from app.config import Settings
from app.models.upstream import LogType, MonitorStatus, MonitorType
from app.sources.base import CallRecorder
from app.sources.errors import SourceBadResponse
from app.sources.uptimerobot import UptimeRobotSource

BASE_URL = "https://api.uptimerobot.com/v2"
API_KEY = "ur-test-read-only-key"


def monitor_json(monitor_id: int = 1, **overrides: Any) -> dict[str, Any]:
    """A getMonitors monitor typed as v2 sends it (strings for numbers, "" for absent ints)."""
    monitor: dict[str, Any] = {
        "id": monitor_id,
        "friendly_name": f"Monitor {monitor_id}",
        "url": f"https://m{monitor_id}.example.test",
        "type": 1,
        "sub_type": "",
        "keyword_type": "",
        "keyword_case_type": "",
        "keyword_value": "",
        "port": "",
        "interval": 300,
        "status": 2,
        "create_datetime": 1_700_000_000,
        "custom_uptime_ratio": "100.000-99.950-99.981-99.990",
        "average_response_time": "187.250",
        "logs": [],
        "response_times": [],
    }
    monitor.update(overrides)
    return monitor


def page_json(monitors: list[dict[str, Any]], *, total: int | None = None, offset: int = 0) -> Any:
    total = len(monitors) if total is None else total
    return {
        "stat": "ok",
        "pagination": {"offset": offset, "limit": 50, "total": total},
        "monitors": monitors,
    }


def form_of(request: httpx.Request) -> dict[str, str]:
    parsed = parse_qs(request.content.decode(), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture
def source(client: httpx.AsyncClient, settings: Settings) -> UptimeRobotSource:
    return UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY)


# --- The request ------------------------------------------------------------------------------


@respx.mock(base_url=BASE_URL)
async def test_request_is_form_post(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await source.fetch_monitors()

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/v2/getMonitors"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


@respx.mock(base_url=BASE_URL)
async def test_request_key_in_body_not_query(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await source.fetch_monitors()

    request = route.calls.last.request
    assert form_of(request)["api_key"] == API_KEY
    assert request.url.query == b""
    assert API_KEY not in str(request.url)


@respx.mock(base_url=BASE_URL)
async def test_request_parameters(respx_mock: respx.MockRouter, source: UptimeRobotSource) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await source.fetch_monitors()

    form = form_of(route.calls.last.request)
    assert form["format"] == "json"
    assert form["custom_uptime_ratios"] == "1-7-30-90"
    assert form["logs"] == "1"
    assert int(form["logs_limit"]) > 0
    assert form["response_times"] == "1"
    assert form["response_times_average"] == "30"
    assert int(form["response_times_limit"]) > 0
    assert form["ssl"] == "1"
    assert form["mwindows"] == "1"
    assert form["offset"] == "0"
    assert form["limit"] == "50"


@respx.mock(base_url=BASE_URL)
async def test_request_omits_unneeded_parameters(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await source.fetch_monitors()

    form = form_of(route.calls.last.request)
    assert "all_time_uptime_ratio" not in form
    assert "all_time_uptime_durations" not in form
    assert "monitors" not in form


@respx.mock(base_url=BASE_URL)
async def test_request_monitor_ids_dash_joined(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_monitor_ids="15830,32696,7"
    )
    source = UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY)
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await source.fetch_monitors()

    assert form_of(route.calls.last.request)["monitors"] == "15830-32696-7"


@respx.mock(base_url=BASE_URL)
async def test_api_key_argument_overrides_settings(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_api_key="ur-from-settings"
    )
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))

    await UptimeRobotSource(client, settings, CallRecorder()).fetch_monitors()
    await UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-demo").fetch_monitors()

    assert form_of(route.calls[0].request)["api_key"] == "ur-from-settings"
    assert form_of(route.calls[1].request)["api_key"] == "ur-demo"


@respx.mock(base_url=BASE_URL)
async def test_request_honours_custom_base_url(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_base_url="https://proxy.example.test/ur/v2/"
    )
    route = respx_mock.post("https://proxy.example.test/ur/v2/getMonitors").respond(
        json=page_json([monitor_json()])
    )

    await UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY).fetch_monitors()

    assert route.call_count == 1


# --- Pagination -------------------------------------------------------------------------------


@respx.mock(base_url=BASE_URL)
async def test_pagination_120_monitors_three_calls(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    all_monitors = [monitor_json(monitor_id) for monitor_id in range(1, 121)]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(form_of(request)["offset"])
        chunk = all_monitors[offset : offset + 50]
        return httpx.Response(200, json=page_json(chunk, total=120, offset=offset))

    route = respx_mock.post("/getMonitors").mock(side_effect=answer)

    snapshot = await source.fetch_monitors()

    assert route.call_count == 3
    assert [form_of(call.request)["offset"] for call in route.calls] == ["0", "50", "100"]
    assert [monitor.id for monitor in snapshot.monitors] == list(range(1, 121))
    assert snapshot.total == 120
    assert snapshot.pages == 3


@respx.mock(base_url=BASE_URL)
async def test_pagination_follows_own_offset(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    # Some responses echo a wrong offset (51 for the second page); the client keeps its own.
    pages = [
        page_json([monitor_json(i) for i in range(1, 51)], total=100, offset=0),
        page_json([monitor_json(i) for i in range(51, 101)], total=100, offset=51),
    ]
    route = respx_mock.post("/getMonitors").mock(
        side_effect=[httpx.Response(200, json=body) for body in pages]
    )

    snapshot = await source.fetch_monitors()

    assert route.call_count == 2
    assert form_of(route.calls[1].request)["offset"] == "50"
    assert len(snapshot.monitors) == 100


@respx.mock(base_url=BASE_URL)
async def test_pagination_stops_on_empty_page(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([], total=500))

    snapshot = await source.fetch_monitors()

    assert route.call_count == 1
    assert snapshot.monitors == []


@respx.mock(base_url=BASE_URL)
async def test_pagination_missing_means_one_page(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(
        json={"stat": "ok", "monitors": [monitor_json(1), monitor_json(2)]}
    )

    snapshot = await source.fetch_monitors()

    assert route.call_count == 1
    assert snapshot.total == 2


@respx.mock(base_url=BASE_URL)
async def test_each_page_is_recorded(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    recorder = CallRecorder()
    source = UptimeRobotSource(client, Settings(_env_file=None, demo_mode=True), recorder, API_KEY)  # type: ignore[call-arg]
    respx_mock.post("/getMonitors").mock(
        side_effect=[
            httpx.Response(200, json=page_json([monitor_json(i) for i in range(50)], total=60)),
            httpx.Response(200, json=page_json([monitor_json(i) for i in range(50, 60)], total=60)),
        ]
    )

    await source.fetch_monitors()

    assert recorder.health("uptimerobot").calls == 2
    assert recorder.health("uptimerobot").failures == 0


@respx.mock(base_url=BASE_URL)
async def test_headroom_read_from_rate_limit_headers(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    recorder = CallRecorder()
    source = UptimeRobotSource(client, Settings(_env_file=None, demo_mode=True), recorder, API_KEY)  # type: ignore[call-arg]
    headers = {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "7",
        "X-RateLimit-Reset": "1700000060",
    }
    respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]), headers=headers)

    await source.fetch_monitors()

    headroom = recorder.health("uptimerobot").headroom
    assert headroom.limit == 10
    assert headroom.remaining == 7
    assert headroom.reset_at == datetime.fromtimestamp(1_700_000_060, tz=UTC)


# --- Parsing ------------------------------------------------------------------------------------


async def fetch_one(respx_mock: respx.MockRouter, source: UptimeRobotSource, **fields: Any) -> Any:
    respx_mock.post("/getMonitors").respond(json=page_json([monitor_json(1, **fields)]))
    snapshot = await source.fetch_monitors()
    assert len(snapshot.monitors) == 1
    return snapshot.monitors[0]


@pytest.mark.parametrize(
    ("wire", "expected"),
    [("312.456", 312.456), ("0", 0.0), ("", None), (None, None), (187, 187.0), ("n/a", None)],
)
@respx.mock(base_url=BASE_URL)
async def test_average_response_time_string(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, wire: Any, expected: float | None
) -> None:
    monitor = await fetch_one(respx_mock, source, average_response_time=wire)

    assert monitor.average_response_time_ms == expected


@respx.mock(base_url=BASE_URL)
async def test_average_response_time_missing(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    raw = monitor_json(1)
    del raw["average_response_time"]
    respx_mock.post("/getMonitors").respond(json=page_json([raw]))

    snapshot = await source.fetch_monitors()

    assert snapshot.monitors[0].average_response_time_ms is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, MonitorStatus.PAUSED),
        (1, MonitorStatus.NOT_CHECKED),
        (2, MonitorStatus.UP),
        (8, MonitorStatus.SEEMS_DOWN),
        (9, MonitorStatus.DOWN),
        ("9", MonitorStatus.DOWN),
        (7, MonitorStatus.UNKNOWN),
        (None, MonitorStatus.UNKNOWN),
    ],
)
@respx.mock(base_url=BASE_URL)
async def test_status_codes(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, code: Any, expected: MonitorStatus
) -> None:
    monitor = await fetch_one(respx_mock, source, status=code)

    assert monitor.status is expected


@respx.mock(base_url=BASE_URL)
async def test_unknown_status_logs_warning(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.sources.uptimerobot")

    await fetch_one(respx_mock, source, status=7)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("status" in message and "7" in message for message in warnings)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1, MonitorType.HTTP),
        (2, MonitorType.KEYWORD),
        (3, MonitorType.PING),
        (4, MonitorType.PORT),
        (5, MonitorType.HEARTBEAT),
        (6, MonitorType.UNKNOWN),
        ("", MonitorType.UNKNOWN),
    ],
)
@respx.mock(base_url=BASE_URL)
async def test_type_codes(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, code: Any, expected: MonitorType
) -> None:
    monitor = await fetch_one(respx_mock, source, type=code)

    assert monitor.type is expected


@respx.mock(base_url=BASE_URL)
async def test_uptime_ratio_split_on_dash(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    monitor = await fetch_one(respx_mock, source, custom_uptime_ratio="100.000-99.950-99.981-0")

    assert monitor.uptime_ratios == {1: 100.0, 7: 99.95, 30: 99.981, 90: 0.0}


@pytest.mark.parametrize("wire", ["99.9", "", None, 99.9])
@respx.mock(base_url=BASE_URL)
async def test_uptime_ratio_short_or_missing(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, wire: Any
) -> None:
    monitor = await fetch_one(respx_mock, source, custom_uptime_ratio=wire)

    assert set(monitor.uptime_ratios) == {1, 7, 30, 90}
    assert monitor.uptime_ratios[7] is None
    assert monitor.uptime_ratios[90] is None


@respx.mock(base_url=BASE_URL)
async def test_empty_string_ints_do_not_break(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    monitor = await fetch_one(
        respx_mock, source, sub_type="", keyword_type="", port="", keyword_value="", interval="60"
    )

    assert monitor.interval_s == 60
    assert monitor.keyword_value is None


@respx.mock(base_url=BASE_URL)
async def test_created_at_zero_is_unknown(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    monitor = await fetch_one(respx_mock, source, create_datetime=0)

    assert monitor.created_at is None


@respx.mock(base_url=BASE_URL)
async def test_created_at_aware_utc(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    monitor = await fetch_one(respx_mock, source, create_datetime="1700000000")

    assert monitor.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert monitor.created_at.utcoffset() == timedelta(0)


@respx.mock(base_url=BASE_URL)
async def test_logs_parsed(respx_mock: respx.MockRouter, source: UptimeRobotSource) -> None:
    logs = [
        {
            "id": 9001,
            "type": 1,
            "datetime": 1_700_000_000,
            "duration": "302",
            "reason": {"code": "522", "detail": "Connection Timeout"},
        },
        {"type": 2, "datetime": 1_700_000_302, "duration": 60},
        {"id": 9000, "type": 98, "datetime": 1_690_000_000, "reason": {"code": "", "detail": ""}},
        {"id": 8999, "type": 99, "datetime": 1_689_000_000, "reason": "garbage"},
    ]

    monitor = await fetch_one(respx_mock, source, logs=logs)

    assert [log.type for log in monitor.logs] == [
        LogType.DOWN,
        LogType.UP,
        LogType.STARTED,
        LogType.PAUSED,
    ]
    first = monitor.logs[0]
    assert first.id == 9001
    assert first.at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert first.duration_s == 302
    assert first.reason_code == "522"
    assert first.reason_detail == "Connection Timeout"
    assert monitor.logs[1].id is None
    assert monitor.logs[2].reason_code is None
    assert monitor.logs[3].reason_detail is None


@respx.mock(base_url=BASE_URL)
async def test_unknown_log_type_and_bad_log(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    logs = [
        {"type": 3, "datetime": 1_700_000_000},
        {"type": 1, "datetime": ""},
        "not a log",
    ]

    monitor = await fetch_one(respx_mock, source, logs=logs)

    assert [log.type for log in monitor.logs] == [LogType.UNKNOWN]


@respx.mock(base_url=BASE_URL)
async def test_response_times_parsed(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    points = [
        {"datetime": 1_700_003_600, "value": 181},
        {"datetime": "1700003300", "value": "195.5"},
        {"datetime": 1_700_003_000, "value": ""},
    ]

    monitor = await fetch_one(respx_mock, source, response_times=points)

    assert [(point.at.timestamp(), point.value_ms) for point in monitor.response_times] == [
        (1_700_003_600, 181.0),
        (1_700_003_300, 195.5),
    ]


@respx.mock(base_url=BASE_URL)
async def test_ssl_parsed(respx_mock: respx.MockRouter, source: UptimeRobotSource) -> None:
    ssl = {"brand": "Let's Encrypt", "product": None, "expires": 1_710_000_000}

    monitor = await fetch_one(respx_mock, source, ssl=ssl)

    assert monitor.ssl is not None
    assert monitor.ssl.brand == "Let's Encrypt"
    assert monitor.ssl.product is None
    assert monitor.ssl.expires_at == datetime.fromtimestamp(1_710_000_000, tz=UTC)


@pytest.mark.parametrize("wire", [{}, "", None, 0, []])
@respx.mock(base_url=BASE_URL)
async def test_ssl_absent_or_odd(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, wire: Any
) -> None:
    monitor = await fetch_one(respx_mock, source, ssl=wire)

    assert monitor.ssl is None


@respx.mock(base_url=BASE_URL)
async def test_ssl_partial(respx_mock: respx.MockRouter, source: UptimeRobotSource) -> None:
    monitor = await fetch_one(respx_mock, source, ssl={"expires": "garbage"})

    assert monitor.ssl is not None
    assert monitor.ssl.expires_at is None
    assert monitor.ssl.brand is None


@respx.mock(base_url=BASE_URL)
async def test_maintenance_windows_parsed(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    windows = [
        {
            "id": 7301,
            "type": 3,
            "friendly_name": "Weekly deploy",
            "start_time": "03:00",
            "duration": 30,
            "value": "2",
            "status": 1,
        },
        {"id": "7302", "type": 9, "status": 0},
        "garbage",
    ]

    monitor = await fetch_one(respx_mock, source, mwindows=windows)

    assert len(monitor.maintenance_windows) == 2
    weekly, odd = monitor.maintenance_windows
    assert weekly.kind == "weekly"
    assert weekly.name == "Weekly deploy"
    assert weekly.duration_minutes == 30
    assert weekly.active is True
    assert odd.id == 7302
    assert odd.kind == "unknown"
    assert odd.active is False


@pytest.mark.parametrize("wire", ["1-2", 0, None, {}])
@respx.mock(base_url=BASE_URL)
async def test_maintenance_windows_odd_shape(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, wire: Any
) -> None:
    monitor = await fetch_one(respx_mock, source, mwindows=wire)

    assert monitor.maintenance_windows == []


@respx.mock(base_url=BASE_URL)
async def test_malformed_monitor_skipped(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.sources.uptimerobot")
    monitors = [monitor_json(1), {"id": "abc", "friendly_name": "broken"}, "junk", monitor_json(3)]
    respx_mock.post("/getMonitors").respond(json=page_json(monitors))

    snapshot = await source.fetch_monitors()

    assert [monitor.id for monitor in snapshot.monitors] == [1, 3]
    assert sum("monitor skipped" in record.getMessage() for record in caplog.records) == 2


@respx.mock(base_url=BASE_URL)
async def test_all_monitors_malformed_is_bad_response(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(json=page_json([{"id": None}, {"name": "x"}]))

    with pytest.raises(SourceBadResponse):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_missing_name_falls_back_to_id(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    monitor = await fetch_one(respx_mock, source, friendly_name="")

    assert monitor.name == "Monitor 1"


# --- The report window --------------------------------------------------------------------------


@respx.mock(base_url=BASE_URL)
async def test_window_request_parameters(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(
        json=page_json([monitor_json(1, custom_uptime_ranges="99.871")])
    )
    start = datetime(2025, 3, 3, tzinfo=UTC)
    end = start + timedelta(days=7)

    await source.fetch_monitors_window(start, end)

    form = form_of(route.calls.last.request)
    assert form["custom_uptime_ranges"] == f"{int(start.timestamp())}_{int(end.timestamp())}"
    assert form["logs_start_date"] == str(int(start.timestamp()))
    assert form["logs_end_date"] == str(int(end.timestamp()))
    assert form["response_times_start_date"] == str(int(start.timestamp()))
    assert form["response_times_end_date"] == str(int(end.timestamp()))
    assert form["response_times_average"] == "1440"
    assert form["format"] == "json"
    assert "custom_uptime_ratios" not in form
    assert "all_time_uptime_ratio" not in form


@respx.mock(base_url=BASE_URL)
async def test_window_response_times_clipped_to_7_days(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    route = respx_mock.post("/getMonitors").respond(json=page_json([monitor_json()]))
    start = datetime(2025, 3, 1, tzinfo=UTC)
    end = datetime(2025, 3, 31, tzinfo=UTC)

    await source.fetch_monitors_window(start, end)

    form = form_of(route.calls.last.request)
    span = int(form["response_times_end_date"]) - int(form["response_times_start_date"])
    assert span == 7 * 86_400
    assert form["response_times_end_date"] == str(int(end.timestamp()))
    assert form["logs_start_date"] == str(int(start.timestamp()))


@respx.mock(base_url=BASE_URL)
async def test_window_ratio_under_key_zero(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        json=page_json([monitor_json(1, custom_uptime_ranges="99.871")])
    )
    start = datetime(2025, 3, 3, tzinfo=UTC)

    snapshot = await source.fetch_monitors_window(start, start + timedelta(days=7))

    assert snapshot.monitors[0].uptime_ratios == {0: 99.871}


async def test_window_rejects_naive_datetimes(source: UptimeRobotSource) -> None:
    naive = datetime(2025, 3, 3)  # noqa: DTZ001

    with pytest.raises(ValueError, match="timezone-aware"):
        await source.fetch_monitors_window(naive, datetime(2025, 3, 10, tzinfo=UTC))


async def test_window_rejects_reversed_range(source: UptimeRobotSource) -> None:
    start = datetime(2025, 3, 3, tzinfo=UTC)

    with pytest.raises(ValueError, match="must be after"):
        await source.fetch_monitors_window(start, start)
