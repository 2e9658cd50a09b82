"""SentrySource fan-out: a semaphore per Sentry endpoint bounds that endpoint's calls in flight,
while calls to different endpoints run at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.sources.base import CallRecorder
from app.sources.errors import SourceTimeout
from app.sources.sentry import SentrySource

TOKEN = "sentry-test-token-6d1f"
LATENCY_S = 0.06
# Each fetch_error_stats makes one stats_v2 request, so this is 10 concurrent requests.
FAN_OUT = 10
PROJECTS = [{"id": "11", "slug": "backend"}, {"id": "12", "slug": "frontend"}]
EVENTS: dict[str, Any] = {"data": [], "meta": {"fields": {}, "tips": {}}}
STATS = {
    "start": "2026-12-03T11:00:00Z",
    "end": "2026-12-04T10:38:00Z",
    "intervals": ["2026-12-04T10:00:00Z"],
    "groups": [
        {
            "by": {"outcome": "accepted"},
            "totals": {"sum(quantity)": 3},
            "series": {"sum(quantity)": [3]},
        }
    ],
}


def make_settings(base_url: str, max_concurrency: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        demo_mode=True,
        poller_enabled=False,
        sentry_org="acme",
        sentry_base_url=base_url,
        sentry_max_concurrency=max_concurrency,
    )


@dataclass
class InFlight:
    """Counts requests being served at once and remembers the maximum."""

    now: int = 0
    max: int = 0
    served: int = 0

    def enter(self) -> None:
        self.now += 1
        self.max = max(self.max, self.now)

    def leave(self) -> None:
        self.now -= 1
        self.served += 1


async def test_fan_out_bounded_per_endpoint() -> None:
    base_url = "https://sentry.example.test"
    in_flight = {path: InFlight() for path in ("issues", "stats_v2", "events")}

    def slow(path: str, body: Any) -> Any:
        async def answer(request: httpx.Request) -> httpx.Response:
            in_flight[path].enter()
            await asyncio.sleep(0.01)
            in_flight[path].leave()
            return httpx.Response(200, json=body)

        return answer

    async with httpx.AsyncClient() as client:
        source = SentrySource(client, make_settings(base_url, 2), CallRecorder(), token=TOKEN)
        with respx.mock(base_url=f"{base_url}/api/0") as mock:
            mock.get("/organizations/acme/projects/").respond(json=PROJECTS)
            mock.get("/organizations/acme/issues/").mock(side_effect=slow("issues", []))
            mock.get("/organizations/acme/stats_v2/").mock(side_effect=slow("stats_v2", STATS))
            mock.get("/organizations/acme/events/").mock(side_effect=slow("events", EVENTS))

            await asyncio.gather(
                *(
                    fetch(project)
                    for _ in range(10)
                    for project in ("backend", "frontend")
                    for fetch in (
                        source.fetch_issues,
                        source.fetch_error_stats,
                        source.fetch_performance,
                    )
                )
            )

    for path, counter in in_flight.items():
        assert counter.served == 20, path
        assert counter.max == 2, path


async def test_different_endpoints_overlap() -> None:
    # With one slot per endpoint, the three calls still run at once: each answer waits until
    # all three requests are in flight, which a single shared slot would never allow.
    base_url = "https://sentry.example.test"
    in_flight = InFlight()
    all_in_flight = asyncio.Event()

    def together(body: Any) -> Any:
        async def answer(request: httpx.Request) -> httpx.Response:
            in_flight.enter()
            if in_flight.now == 3:
                all_in_flight.set()
            await asyncio.wait_for(all_in_flight.wait(), timeout=2.0)
            in_flight.leave()
            return httpx.Response(200, json=body)

        return answer

    async with httpx.AsyncClient() as client:
        source = SentrySource(client, make_settings(base_url, 1), CallRecorder(), token=TOKEN)
        with respx.mock(base_url=f"{base_url}/api/0") as mock:
            mock.get("/organizations/acme/projects/").respond(json=PROJECTS)
            mock.get("/organizations/acme/issues/").mock(side_effect=together([]))
            mock.get("/organizations/acme/stats_v2/").mock(side_effect=together(STATS))
            mock.get("/organizations/acme/events/").mock(side_effect=together(EVENTS))
            await source.fetch_project_ids()

            await asyncio.gather(
                source.fetch_issues("backend"),
                source.fetch_error_stats("backend"),
                source.fetch_performance("backend"),
            )

    assert in_flight.max == 3
    assert in_flight.served == 3


# --- Against a real local server and a real connection pool -----------------------------------


@dataclass
class LocalSentry:
    """A tiny keep-alive HTTP/1.1 server on 127.0.0.1 that serves stats_v2 slowly."""

    latency_s: float
    in_flight: InFlight = field(default_factory=InFlight)
    server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # Each connection serves requests until the client closes it; a test sends at most
            # a few dozen, so the loop is bounded by the client.
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                self.in_flight.enter()
                try:
                    await asyncio.sleep(self.latency_s)
                    body: Any = PROJECTS if "/projects/" in path else STATS
                finally:
                    self.in_flight.leave()
                payload = json.dumps(body).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def local_sentry() -> AsyncIterator[LocalSentry]:
    server = LocalSentry(latency_s=LATENCY_S)
    await server.start()
    yield server
    await server.stop()


def small_pool_client() -> httpx.AsyncClient:
    """Two connections and a pool timeout shorter than one request, so any queueing trips it."""
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
        timeout=httpx.Timeout(5.0, pool=LATENCY_S / 2),
    )


async def test_small_pool_fan_out_completes(local_sentry: LocalSentry) -> None:
    async with small_pool_client() as client:
        settings = make_settings(local_sentry.base_url, 2)
        source = SentrySource(client, settings, CallRecorder(), token=TOKEN)

        results = await asyncio.gather(
            *(source.fetch_error_stats("backend") for _ in range(FAN_OUT))
        )

    assert len(results) == FAN_OUT
    assert all(stats.total_24h == 3 for stats in results)
    assert local_sentry.in_flight.max <= 2


async def test_unbounded_fan_out_hits_pool_timeout(local_sentry: LocalSentry) -> None:
    # The control case: without a bound that fits the pool, httpx's pool timeout trips.
    async with small_pool_client() as client:
        settings = make_settings(local_sentry.base_url, 20)
        source = SentrySource(client, settings, CallRecorder(), token=TOKEN)
        await source.fetch_project_ids()

        results = await asyncio.gather(
            *(source.fetch_error_stats("backend") for _ in range(FAN_OUT)), return_exceptions=True
        )

    assert any(isinstance(result, SourceTimeout) for result in results)
