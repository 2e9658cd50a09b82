"""The status stream over a real socket: headers, events, heartbeats, reconnects and webhooks.

httpx's ``ASGITransport`` (0.28) returns a response only when the app has finished it, so an
endless stream cannot be read through it. These tests run the app with uvicorn on a free
127.0.0.1 port in a background thread, one server for the module, always stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.demo.app import create_simulator
from app.live import LiveUpdates
from app.main import create_app
from tests.api.conftest import FROZEN_NOW

WEBHOOK_TOKEN = "stream-test-token-4f1c9a7e2b"
BACKEND_MONITOR_ID = 790000002
STREAM_PATH = "/api/v1/status/stream"
START_TIMEOUT_S = 10.0


@dataclass
class Served:
    """The app served by uvicorn, the simulator behind it and the server's base URL."""

    app: FastAPI
    simulator: FastAPI
    base_url: str

    @property
    def live(self) -> LiveUpdates:
        live: LiveUpdates = self.app.state.live
        return live

    @property
    def calls(self) -> Any:
        return self.simulator.state.simulator.calls

    @property
    def faults(self) -> Any:
        return self.simulator.state.simulator.faults


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        poller_enabled=False,
        uptimerobot_webhook_token=WEBHOOK_TOKEN,
    )
    simulator = create_simulator(clock=lambda: FROZEN_NOW)
    app = create_app(
        settings, transport=httpx.ASGITransport(app=simulator), clock=lambda: FROZEN_NOW
    )

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws="none", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)

    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within the timeout")
            time.sleep(0.01)
        yield Served(app=app, simulator=simulator, base_url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        listener.close()
    assert not thread.is_alive()


@pytest.fixture
def heartbeat_s(served: Served) -> Iterator[float]:
    """Make the served broadcaster send a ping every 0.2 s for one test."""
    broadcaster = served.live.broadcaster
    before = broadcaster.heartbeat_s
    broadcaster.heartbeat_s = 0.2
    yield broadcaster.heartbeat_s
    broadcaster.heartbeat_s = before


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=5.0) as http:
        yield http


class Frames:
    """Reads an event stream one frame (the text up to a blank line) at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_text()
        self._buffer = ""

    async def next(self, timeout_s: float = 2.0) -> str:
        async with asyncio.timeout(timeout_s):
            while "\n\n" not in self._buffer:
                self._buffer += await anext(self._chunks)
        frame, self._buffer = self._buffer.split("\n\n", 1)
        return frame

    async def next_event(self, timeout_s: float = 2.0) -> dict[str, str]:
        """Skip comments and hints up to the next event, and return its fields."""
        while True:
            frame = await self.next(timeout_s)
            fields = _fields(frame)
            if "data" in fields:
                return fields


def _fields(frame: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in frame.split("\n"):
        if line.startswith(":") or ":" not in line:
            continue
        name, value = line.split(":", 1)
        fields[name] = value.removeprefix(" ")
    return fields


def _component_status(event: dict[str, str], name: str) -> str:
    body = json.loads(event["data"])
    statuses = {component["name"]: component["status"] for component in body["components"]}
    return str(statuses[name])


async def _wait_until(condition: Any, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        await asyncio.sleep(0.02)


async def test_stream_headers(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", STREAM_PATH) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers


async def test_stream_starts_with_retry_and_status(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", STREAM_PATH) as response:
        frames = Frames(response)
        first = await frames.next()
        event = await frames.next_event()

    status = await client.get("/api/v1/status")
    assert first == "retry: 5000"
    assert event["event"] == "status"
    assert event["id"]
    assert event["data"] == status.text


async def test_stream_sends_heartbeat_comment(
    client: httpx.AsyncClient, heartbeat_s: float
) -> None:
    async with client.stream("GET", STREAM_PATH) as response:
        frames = Frames(response)
        await frames.next_event()
        frame = await frames.next(timeout_s=heartbeat_s * 5)

    assert frame == ": ping"


async def test_stream_reconnect_skips_known_event(
    client: httpx.AsyncClient, heartbeat_s: float
) -> None:
    async with client.stream("GET", STREAM_PATH) as response:
        event = await Frames(response).next_event()

    headers = {"Last-Event-ID": event["id"]}
    async with client.stream("GET", STREAM_PATH, headers=headers) as response:
        frames = Frames(response)
        hint = await frames.next()
        after_hint = await frames.next(timeout_s=heartbeat_s * 5)

    assert hint == "retry: 5000"
    assert after_hint == ": ping"


async def test_stream_reconnect_with_old_id_gets_status(client: httpx.AsyncClient) -> None:
    headers = {"Last-Event-ID": "00000000-1"}
    async with client.stream("GET", STREAM_PATH, headers=headers) as response:
        event = await Frames(response).next_event()

    assert event["event"] == "status"
    assert event["id"] != "00000000-1"


async def test_stream_disconnect_unsubscribes(served: Served, client: httpx.AsyncClient) -> None:
    broadcaster = served.live.broadcaster
    async with client.stream("GET", STREAM_PATH) as response:
        await Frames(response).next_event()
        assert broadcaster.subscriber_count == 1

    await _wait_until(lambda: broadcaster.subscriber_count == 0)


async def test_webhook_down_alert_pushed_within_one_second(
    served: Served, client: httpx.AsyncClient
) -> None:
    async with client.stream("GET", STREAM_PATH) as response:
        frames = Frames(response)
        initial = await frames.next_event()
        assert _component_status(initial, "API") == "operational"
        calls_before = served.calls["uptimerobot:getMonitors"]
        # The simulator still reports the monitor up. A slow response keeps the refresh from
        # replacing the webhook's news before the stream has pushed it.
        served.faults["uptimerobot"].latency_ms = 300
        try:
            sent_at = time.monotonic()
            alert = {
                "monitorID": str(BACKEND_MONITOR_ID),
                "alertType": "1",
                "alertDateTime": str(int(FROZEN_NOW.timestamp())),
            }
            webhook = await client.post(f"/api/v1/webhooks/uptimerobot/{WEBHOOK_TOKEN}", data=alert)
            down = await frames.next_event(timeout_s=1.0)
            down_after_s = time.monotonic() - sent_at
            confirmed = await frames.next_event(timeout_s=3.0)
        finally:
            served.faults["uptimerobot"].latency_ms = 0
        await asyncio.sleep(0.3)

    assert webhook.status_code == 202
    assert _component_status(down, "API") == "major_outage"
    assert down_after_s < 1.0
    assert _component_status(confirmed, "API") == "operational"
    assert int(confirmed["id"].rsplit("-", 1)[1]) > int(down["id"].rsplit("-", 1)[1])
    assert served.calls["uptimerobot:getMonitors"] == calls_before + 1
