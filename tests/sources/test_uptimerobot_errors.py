"""UptimeRobotSource failures: stat fail with HTTP 200, 429, bad bodies, timeouts, key leaks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.sources.base import DEFAULT_RETRY_AFTER_S, CallRecorder
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
)
from app.sources.uptimerobot import UptimeRobotSource

BASE_URL = "https://api.uptimerobot.com/v2"
API_KEY = "ur1234567-known-secret-key-do-not-leak"

OK_BODY = {
    "stat": "ok",
    "pagination": {"offset": 0, "limit": 50, "total": 1},
    "monitors": [{"id": 1, "friendly_name": "Frontend", "type": 1, "status": 2}],
}


def fail_body(**error: Any) -> dict[str, Any]:
    return {"stat": "fail", "error": error}


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture
def recorder() -> CallRecorder:
    return CallRecorder()


@pytest.fixture
def source(
    client: httpx.AsyncClient, settings: Settings, recorder: CallRecorder
) -> UptimeRobotSource:
    return UptimeRobotSource(client, settings, recorder, api_key=API_KEY)


# --- stat: fail with HTTP 200 -----------------------------------------------------------------


@respx.mock(base_url=BASE_URL)
async def test_bad_key_with_http_200_is_auth_error(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    body = fail_body(
        type="invalid_parameter",
        parameter_name="api_key",
        passed_value=API_KEY,
        message="api_key not found.",
    )
    respx_mock.post("/getMonitors").respond(200, json=body)

    with pytest.raises(SourceAuthError) as caught:
        await source.fetch_monitors()

    assert "invalid_parameter" in caught.value.message
    assert "api_key" in caught.value.message


@respx.mock(base_url=BASE_URL)
async def test_missing_key_parameter_is_auth_error(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        json=fail_body(type="missing_parameter", parameter_name="api_key")
    )

    with pytest.raises(SourceAuthError, match="missing_parameter"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_not_authorized_is_auth_error(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(json=fail_body(type="not_authorized"))

    with pytest.raises(SourceAuthError, match="not_authorized"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_internal_error_is_unavailable(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        json=fail_body(type="internal_error", message="Internal server error.")
    )

    with pytest.raises(SourceUnavailable, match="internal_error"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_other_parameter_error_is_bad_response(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    body = fail_body(
        type="invalid_parameter",
        parameter_name="statuses",
        passed_value="7",
        message="statuses must be one of 0,1,2,8,9",
    )
    respx_mock.post("/getMonitors").respond(json=body)

    with pytest.raises(SourceBadResponse) as caught:
        await source.fetch_monitors()

    assert "invalid_parameter" in caught.value.message
    assert "statuses" in caught.value.message


@respx.mock(base_url=BASE_URL)
async def test_fail_without_error_object(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(json={"stat": "fail"})

    with pytest.raises(SourceBadResponse, match="unknown"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_fail_on_second_page_sinks_fetch(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    first = {**OK_BODY, "pagination": {"offset": 0, "limit": 50, "total": 80}}
    first["monitors"] = [
        {"id": i, "friendly_name": f"m{i}", "type": 1, "status": 2} for i in range(50)
    ]
    respx_mock.post("/getMonitors").mock(
        side_effect=[
            httpx.Response(200, json=first),
            httpx.Response(200, json=fail_body(type="internal_error")),
        ]
    )

    with pytest.raises(SourceUnavailable):
        await source.fetch_monitors()


async def test_no_key_configured_is_auth_error(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    source = UptimeRobotSource(client, settings, CallRecorder())

    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock:
        route = mock.post("/getMonitors").respond(json=OK_BODY)
        with pytest.raises(SourceAuthError, match="UPTIMEROBOT_API_KEY"):
            await source.fetch_monitors()

    assert route.call_count == 0


# --- HTTP statuses and bodies ---------------------------------------------------------------------


@respx.mock(base_url=BASE_URL)
async def test_429_html_retry_after_6(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        429,
        text="Rate limit exceeded, retry in 6 seconds",
        headers={"Content-Type": "text/html", "Retry-After": "6"},
    )

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_monitors()

    assert caught.value.retry_after_s == 6
    assert "429" in caught.value.message


@pytest.mark.parametrize(
    "headers",
    [{}, {"Retry-After": "soon"}, {"Retry-After": ""}, {"Retry-After": "Thu, 99 Foo 2024"}],
)
@respx.mock(base_url=BASE_URL)
async def test_429_unusable_retry_after_uses_default(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, headers: dict[str, str]
) -> None:
    respx_mock.post("/getMonitors").respond(
        429, text="Too Many Requests", headers={"Content-Type": "text/html", **headers}
    )

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_monitors()

    assert caught.value.retry_after_s == DEFAULT_RETRY_AFTER_S


@respx.mock(base_url=BASE_URL)
async def test_invalid_json_is_bad_response(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(
        200,
        content=b'{"stat":"ok","monitors":[{"id":',
        headers={"Content-Type": "application/json"},
    )

    with pytest.raises(SourceBadResponse, match="not JSON"):
        await source.fetch_monitors()


@respx.mock(base_url=BASE_URL)
async def test_html_200_is_bad_response(
    respx_mock: respx.MockRouter, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(200, html="<html>maintenance</html>")

    with pytest.raises(SourceBadResponse, match="text/html"):
        await source.fetch_monitors()


@pytest.mark.parametrize(
    "body",
    [
        {"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": 0}},
        {"stat": "ok", "monitors": {"id": 1}},
        {"pagination": {"total": 1}, "monitors": []},
        {"stat": "maybe", "monitors": []},
        [{"id": 1}],
        "ok",
    ],
    ids=[
        "no-monitors-key",
        "monitors-not-list",
        "no-stat",
        "unknown-stat",
        "top-level-list",
        "top-level-string",
    ],
)
@respx.mock(base_url=BASE_URL)
async def test_changed_shape_is_bad_response(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, body: Any
) -> None:
    respx_mock.post("/getMonitors").respond(200, json=body)

    with pytest.raises(SourceBadResponse):
        await source.fetch_monitors()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, SourceAuthError),
        (403, SourceAuthError),
        (400, SourceBadResponse),
        (404, SourceBadResponse),
        (405, SourceBadResponse),
        (500, SourceUnavailable),
        (502, SourceUnavailable),
        (503, SourceUnavailable),
    ],
)
@respx.mock(base_url=BASE_URL)
async def test_http_status_errors(
    respx_mock: respx.MockRouter,
    source: UptimeRobotSource,
    status: int,
    error: type[SourceError],
) -> None:
    respx_mock.post("/getMonitors").respond(status, text="nope")

    with pytest.raises(error) as caught:
        await source.fetch_monitors()

    assert type(caught.value) is error
    assert str(status) in caught.value.message


# --- Transport failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ReadTimeout, SourceTimeout),
        (httpx.ConnectTimeout, SourceTimeout),
        (httpx.PoolTimeout, SourceTimeout),
        (httpx.ConnectError, SourceUnavailable),
        (httpx.RemoteProtocolError, SourceUnavailable),
    ],
)
@respx.mock(base_url=BASE_URL)
async def test_transport_failures(
    respx_mock: respx.MockRouter,
    source: UptimeRobotSource,
    failure: type[Exception],
    error: type[SourceError],
) -> None:
    respx_mock.post("/getMonitors").mock(side_effect=failure)

    with pytest.raises(error):
        await source.fetch_monitors()


async def test_three_timeouts_then_success_on_one_connection(settings: Settings) -> None:
    attempts = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts <= 3:
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json=OK_BODY)

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), limits=limits) as client:
        source = UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY)
        for _ in range(3):
            with pytest.raises(SourceTimeout):
                await source.fetch_monitors()

        snapshot = await source.fetch_monitors()

    assert attempts == 4
    assert [monitor.id for monitor in snapshot.monitors] == [1]


@respx.mock(base_url=BASE_URL)
async def test_shared_client_open_after_three_fetches(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").respond(json=OK_BODY)

    for _ in range(3):
        await source.fetch_monitors()

    assert client.is_closed is False


@respx.mock(base_url=BASE_URL)
async def test_shared_client_open_after_failures(
    respx_mock: respx.MockRouter, client: httpx.AsyncClient, source: UptimeRobotSource
) -> None:
    respx_mock.post("/getMonitors").mock(side_effect=httpx.ReadTimeout)

    for _ in range(3):
        with pytest.raises(SourceTimeout):
            await source.fetch_monitors()

    assert client.is_closed is False


@respx.mock(base_url=BASE_URL)
async def test_failure_recorded(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, recorder: CallRecorder
) -> None:
    respx_mock.post("/getMonitors").respond(json=fail_body(type="not_authorized"))

    with pytest.raises(SourceAuthError):
        await source.fetch_monitors()

    health = recorder.health("uptimerobot")
    assert health.failures == 1
    assert health.last_error_kind == "auth_failed"


# --- The key never leaks ----------------------------------------------------------------------

LEAK_SCENARIOS: dict[str, Callable[[respx.Route], None]] = {
    "bad-key-echoed": lambda route: route.respond(
        json=fail_body(
            type="invalid_parameter",
            parameter_name="api_key",
            passed_value=API_KEY,
            message=f"api_key {API_KEY} not found.",
        )
    ),
    "other-parameter-echoing-key": lambda route: route.respond(
        json=fail_body(
            type="invalid_parameter",
            parameter_name="monitors",
            passed_value=API_KEY,
            message=f"monitors {API_KEY} is invalid.",
        )
    ),
    "rate-limited": lambda route: route.respond(
        429, text=f"slow down {API_KEY}", headers={"Retry-After": API_KEY}
    ),
    "server-error": lambda route: route.respond(503, text=API_KEY),
    "not-json": lambda route: route.respond(200, text=API_KEY),
    "unauthorized": lambda route: route.respond(401, text=API_KEY),
    "timeout": lambda route: route.mock(side_effect=httpx.ReadTimeout(API_KEY)),
    "connect-error": lambda route: route.mock(side_effect=httpx.ConnectError(API_KEY)),
}


@pytest.mark.parametrize("scenario", list(LEAK_SCENARIOS))
@respx.mock(base_url=BASE_URL)
async def test_key_absent_from_errors_and_logs(
    respx_mock: respx.MockRouter,
    source: UptimeRobotSource,
    caplog: pytest.LogCaptureFixture,
    scenario: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    LEAK_SCENARIOS[scenario](respx_mock.post("/getMonitors"))

    with pytest.raises(SourceError) as caught:
        await source.fetch_monitors()

    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value)
    assert API_KEY not in caught.value.message
    assert API_KEY not in repr(source)
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


@respx.mock(base_url=BASE_URL)
async def test_key_absent_from_skipped_monitor_log(
    respx_mock: respx.MockRouter, source: UptimeRobotSource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {
        **OK_BODY,
        "monitors": [
            {"id": API_KEY, "friendly_name": API_KEY},
            {"id": 2, "friendly_name": "ok", "type": API_KEY, "status": API_KEY},
        ],
    }
    respx_mock.post("/getMonitors").respond(json=body)

    await source.fetch_monitors()

    assert caplog.records
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


@respx.mock(assert_all_called=False)
async def test_used_up_window_skips_call_until_reset(respx_mock: respx.MockRouter) -> None:
    from datetime import UTC, datetime

    from app.sources.base import CallRecorder
    from app.sources.errors import SourceRateLimited
    from app.sources.uptimerobot import UptimeRobotSource

    reset_at = int(datetime.now(UTC).timestamp()) + 40
    route = respx_mock.post("https://api.uptimerobot.com/v2/getMonitors").respond(
        200,
        json={"stat": "ok", "pagination": {"offset": 0, "limit": 50, "total": 0}, "monitors": []},
        headers={
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset_at),
        },
    )
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]
    async with httpx.AsyncClient() as client:
        source = UptimeRobotSource(client, settings, CallRecorder(), api_key="ur-test-key")
        await source.fetch_monitors()

        with pytest.raises(SourceRateLimited) as caught:
            await source.fetch_monitors()

    assert route.call_count == 1
    assert 30 < caught.value.retry_after_s <= 40
