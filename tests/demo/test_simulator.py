"""The simulator app: fault plans, per-request fault headers, control endpoints and the server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import app.demo.server as server_module
from app.config import Settings
from app.demo.app import create_simulator
from app.demo.state import FaultPlan, SimulatorState
from app.demo.world import DemoWorld
from app.sources.base import DEFAULT_RETRY_AFTER_S, CallRecorder
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
)
from app.sources.uptimerobot import UptimeRobotSource

NOW = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)
API_KEY = "ur-simulator-test-key-0042"
UPTIMEROBOT_FORM = {"api_key": API_KEY, "format": "json"}
SENTRY_PATH = "/api/0/organizations/demo/issues/"
SENTRY_HEADERS = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def simulator() -> FastAPI:
    return create_simulator(world=DemoWorld.at(NOW), clock=lambda: NOW)


@pytest.fixture
def state(simulator: FastAPI) -> SimulatorState:
    simulator_state: SimulatorState = simulator.state.simulator
    return simulator_state


@pytest.fixture
async def client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=simulator)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulator.test") as http:
        yield http


@pytest.fixture
def source(client: httpx.AsyncClient) -> UptimeRobotSource:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, uptimerobot_base_url="http://simulator.test/v2"
    )
    return UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY)


async def put_faults(client: httpx.AsyncClient, upstream: str, **plan: Any) -> httpx.Response:
    return await client.put(f"/_simulator/faults/{upstream}", json=plan)


# --- The app and its state --------------------------------------------------------------------


def test_state_attached(simulator: FastAPI, state: SimulatorState) -> None:
    assert isinstance(state, SimulatorState)
    assert state.world.anchor == datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert state.clock() == NOW
    assert state.faults == {"uptimerobot": FaultPlan(), "sentry": FaultPlan()}


def test_default_world_anchored_at_clock() -> None:
    simulator = create_simulator(clock=lambda: NOW)

    assert simulator.state.simulator.world.anchor == datetime(2025, 3, 10, 12, tzinfo=UTC)


def test_state_reset_clears_faults_and_calls(state: SimulatorState) -> None:
    world = state.world
    state.faults["uptimerobot"] = FaultPlan(error_status=503)
    state.count("uptimerobot:getMonitors")

    state.reset()

    assert state.faults["uptimerobot"] == FaultPlan()
    assert not state.calls
    assert state.world is world


# --- Fault plans seen through the real client -------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
async def test_error_status_fault(
    client: httpx.AsyncClient, source: UptimeRobotSource, status: int
) -> None:
    await put_faults(client, "uptimerobot", error_status=status)

    with pytest.raises(SourceUnavailable, match=str(status)):
        await source.fetch_monitors()


async def test_rate_limit_fault(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", rate_limit_retry_after="6")

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_monitors()

    assert caught.value.retry_after_s == 6


async def test_rate_limit_fault_html_body(client: httpx.AsyncClient) -> None:
    await put_faults(client, "uptimerobot", rate_limit_retry_after="6")

    response = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "6"
    assert response.headers["Content-Type"].startswith("text/html")


async def test_rate_limit_fault_garbage_retry_after(
    client: httpx.AsyncClient, source: UptimeRobotSource
) -> None:
    await put_faults(client, "uptimerobot", rate_limit_retry_after="in a while")

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_monitors()

    assert caught.value.retry_after_s == DEFAULT_RETRY_AFTER_S


async def test_malformed_fault(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", malformed=True)

    with pytest.raises(SourceBadResponse, match="not JSON"):
        await source.fetch_monitors()


async def test_stat_fail_fault(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", stat_fail=True)

    response = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)
    with pytest.raises(SourceUnavailable, match="internal_error"):
        await source.fetch_monitors()

    assert response.status_code == 200
    assert response.json()["stat"] == "fail"


async def test_bad_key_fault(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", bad_key=True)

    response = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)
    with pytest.raises(SourceAuthError) as caught:
        await source.fetch_monitors()

    assert response.json()["error"]["passed_value"] == API_KEY
    assert API_KEY not in str(caught.value)


async def test_bad_key_fault_rejects_sentry_token(client: httpx.AsyncClient) -> None:
    await put_faults(client, "sentry", bad_key=True)

    response = await client.get(
        "/api/0/organizations/demo/projects/", headers={"Authorization": "Bearer demo-token"}
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


async def test_stat_fail_fault_refused_for_sentry(client: httpx.AsyncClient) -> None:
    response = await put_faults(client, "sentry", stat_fail=True)

    assert response.status_code == 422
    assert "UptimeRobot only" in response.json()["detail"]


async def test_rate_limit_fault_accepts_number(client: httpx.AsyncClient) -> None:
    await put_faults(client, "uptimerobot", rate_limit_retry_after=6)

    response = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "6"


async def test_latency_fault(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", latency_ms=80)

    started = time.perf_counter()
    snapshot = await source.fetch_monitors()

    assert time.perf_counter() - started >= 0.08
    assert len(snapshot.monitors) == 5


async def test_timeout_fault_holds_response(client: httpx.AsyncClient) -> None:
    await put_faults(client, "uptimerobot", timeout_s=30)

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)


async def test_fault_cleared_by_reset(client: httpx.AsyncClient, source: UptimeRobotSource) -> None:
    await put_faults(client, "uptimerobot", error_status=503)
    await client.post("/_simulator/reset")

    snapshot = await source.fetch_monitors()

    assert len(snapshot.monitors) == 5


async def test_uptimerobot_fault_spares_sentry(client: httpx.AsyncClient) -> None:
    await put_faults(client, "uptimerobot", error_status=503)

    response = await client.get(SENTRY_PATH, headers=SENTRY_HEADERS)

    assert response.status_code != 503


async def test_sentry_fault_spares_uptimerobot(client: httpx.AsyncClient) -> None:
    await put_faults(client, "sentry", error_status=503)

    sentry = await client.get(SENTRY_PATH, headers=SENTRY_HEADERS)
    uptimerobot = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)

    assert sentry.status_code == 503
    assert uptimerobot.json()["stat"] == "ok"


async def test_sentry_ignores_stat_fail(client: httpx.AsyncClient) -> None:
    await put_faults(client, "sentry", stat_fail=True)

    response = await client.get(SENTRY_PATH, headers=SENTRY_HEADERS)

    assert response.status_code == 200
    assert isinstance(response.json(), list)


async def test_control_paths_never_faulted(client: httpx.AsyncClient) -> None:
    await put_faults(client, "uptimerobot", error_status=500)
    await put_faults(client, "sentry", error_status=500)

    response = await client.get("/_simulator/stats")

    assert response.status_code == 200


# --- Per-request fault headers ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_header_error_status(client: httpx.AsyncClient, fault: str) -> None:
    response = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": fault}
    )

    assert response.status_code == int(fault)


async def test_header_rate_limit(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "429"}
    )

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "6"
    assert response.headers["Content-Type"].startswith("text/html")


async def test_header_malformed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "malformed"}
    )

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_header_stat_fail(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "stat_fail"}
    )

    assert response.status_code == 200
    assert response.json()["error"]["type"] == "internal_error"


async def test_header_timeout(client: httpx.AsyncClient) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.post(
                "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "timeout"}
            )


async def test_header_latency(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    response = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Latency-Ms": "60"}
    )

    assert time.perf_counter() - started >= 0.06
    assert response.json()["stat"] == "ok"


async def test_header_applies_to_one_request(client: httpx.AsyncClient) -> None:
    faulty = await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "503"}
    )
    plain = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)

    assert faulty.status_code == 503
    assert plain.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Simulator-Fault": "explode"},
        {"X-Simulator-Latency-Ms": "soon"},
        {"X-Simulator-Latency-Ms": "-5"},
        {"X-Simulator-Latency-Ms": "999999999"},
    ],
)
async def test_header_invalid_rejected(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM, headers=headers)

    assert response.status_code == 400
    assert "X-Simulator" in response.json()["detail"]


async def test_header_fault_on_sentry_path(client: httpx.AsyncClient) -> None:
    response = await client.get(SENTRY_PATH, headers={**SENTRY_HEADERS, "X-Simulator-Fault": "503"})

    assert response.status_code == 503


# --- Control endpoints and call counts ----------------------------------------------------------


async def test_put_faults_stores_plan(client: httpx.AsyncClient, state: SimulatorState) -> None:
    response = await put_faults(client, "uptimerobot", latency_ms=5, error_status=503)

    assert response.status_code == 200
    assert response.json()["error_status"] == 503
    assert state.faults["uptimerobot"] == FaultPlan(latency_ms=5, error_status=503)


async def test_put_faults_replaces_plan(client: httpx.AsyncClient, state: SimulatorState) -> None:
    await put_faults(client, "uptimerobot", error_status=503)
    await put_faults(client, "uptimerobot", malformed=True)

    assert state.faults["uptimerobot"] == FaultPlan(malformed=True)


async def test_put_faults_unknown_upstream(client: httpx.AsyncClient) -> None:
    response = await put_faults(client, "pingdom", error_status=503)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "plan",
    [{"error_status": 200}, {"latency_ms": -1}, {"explode": True}, {"timeout_s": "long"}],
)
async def test_put_faults_invalid_plan(client: httpx.AsyncClient, plan: dict[str, Any]) -> None:
    response = await client.put("/_simulator/faults/uptimerobot", json=plan)

    assert response.status_code == 422


async def test_stats_count_calls(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)
    await client.post("/v2/getAccountDetails", data=UPTIMEROBOT_FORM)

    calls = (await client.get("/_simulator/stats")).json()["calls"]

    assert calls["uptimerobot:getMonitors"] == 3
    assert calls["uptimerobot:getAccountDetails"] == 1
    assert calls["uptimerobot"] == 4


async def test_faulted_calls_counted(client: httpx.AsyncClient, state: SimulatorState) -> None:
    await put_faults(client, "uptimerobot", error_status=503)

    await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)
    await client.post(
        "/v2/getMonitors", data=UPTIMEROBOT_FORM, headers={"X-Simulator-Fault": "explode"}
    )

    assert state.calls["uptimerobot:getMonitors"] == 2


async def test_control_calls_not_counted(client: httpx.AsyncClient, state: SimulatorState) -> None:
    await client.get("/_simulator/stats")
    await put_faults(client, "uptimerobot")

    assert not state.calls


async def test_stats_show_faults_and_times(client: httpx.AsyncClient) -> None:
    await put_faults(client, "sentry", latency_ms=10)

    stats = (await client.get("/_simulator/stats")).json()

    assert stats["faults"]["sentry"]["latency_ms"] == 10
    assert stats["faults"]["uptimerobot"]["latency_ms"] == 0
    assert stats["now"] == NOW.isoformat()
    assert stats["anchor"] == "2025-03-10T12:00:00+00:00"


async def test_reset_endpoint(client: httpx.AsyncClient, state: SimulatorState) -> None:
    await client.post("/v2/getMonitors", data=UPTIMEROBOT_FORM)
    await put_faults(client, "uptimerobot", error_status=500)

    response = await client.post("/_simulator/reset")

    assert response.status_code == 200
    assert not state.calls
    assert state.faults["uptimerobot"] == FaultPlan()


# --- The standalone server ----------------------------------------------------------------------


def test_run_simulator_passes_options(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def fake_run(app: FastAPI, **options: Any) -> None:
        served["app"] = app
        served.update(options)

    monkeypatch.setattr(server_module.uvicorn, "run", fake_run)

    server_module.run_simulator(port=8123, monitors=1000, issues=300)

    world = served["app"].state.simulator.world
    assert served["host"] == "127.0.0.1"
    assert served["port"] == 8123
    assert world.extra_monitors == 1000
    assert world.extra_issues == 300


def test_build_world_defaults() -> None:
    world = server_module.build_world()

    assert world.extra_monitors == 0
    assert world.extra_issues == 0


@pytest.mark.parametrize(("monitors", "issues"), [(-1, None), (None, -3)])
def test_build_world_rejects_negative(monitors: int | None, issues: int | None) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        server_module.build_world(monitors, issues)


@asynccontextmanager
async def serve_on_loopback(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on an ephemeral 127.0.0.1 port for the duration of the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError("uvicorn did not start within 5 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        listener.close()


async def test_timeouts_do_not_poison_pool_over_tcp() -> None:
    simulator = create_simulator(world=DemoWorld.at(NOW), clock=lambda: NOW)
    state: SimulatorState = simulator.state.simulator
    state.faults["uptimerobot"] = FaultPlan(timeout_s=0.6)
    async with serve_on_loopback(simulator) as base_url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, demo_mode=True, uptimerobot_base_url=f"{base_url}/v2"
        )
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(timeout=httpx.Timeout(0.2), limits=limits) as client:
            source = UptimeRobotSource(client, settings, CallRecorder(), api_key=API_KEY)
            for _ in range(3):
                with pytest.raises(SourceTimeout):
                    await source.fetch_monitors()
            state.reset()

            snapshot = await source.fetch_monitors()

            assert client.is_closed is False
    assert len(snapshot.monitors) == 5


async def test_client_gone_during_fault_delay_ends_quietly(
    simulator: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.state.simulator.faults["uptimerobot"] = FaultPlan(latency_ms=10)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v2/getMonitors",
        "raw_path": b"/v2/getMonitors",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8001),
    }
    sent: list[Any] = []

    async def client_gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def collect(message: Any) -> None:
        sent.append(message)

    with caplog.at_level("INFO", logger="app.demo.app"):
        await simulator(scope, client_gone, collect)

    assert sent == []
    assert "simulator client left before its response" in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        '{"timeout_s": NaN}',
        '{"timeout_s": Infinity}',
        '{"latency_ms": true}',
        '{"rate_limit_retry_after": "5\\r\\nX-Other: 1"}',
        '{"rate_limit_retry_after": "\\u20ac"}',
    ],
)
async def test_fault_plan_refuses_values_it_cannot_use(
    client: httpx.AsyncClient, body: str
) -> None:
    response = await client.put(
        "/_simulator/faults/sentry", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"]


async def test_fault_plan_takes_whole_seconds_for_timeout(client: httpx.AsyncClient) -> None:
    response = await put_faults(client, "uptimerobot", timeout_s=2)

    assert response.status_code == 200
    assert response.json()["timeout_s"] == 2


async def test_stat_fail_header_refused_for_sentry(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/0/organizations/demo/projects/",
        headers={"Authorization": "Bearer demo-token", "X-Simulator-Fault": "stat_fail"},
    )

    assert response.status_code == 400
    assert "UptimeRobot only" in response.json()["detail"]
