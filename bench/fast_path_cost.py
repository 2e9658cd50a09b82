"""What a warm ``GET /api/v1/status`` costs in Lookout's own code, without a server or a client.

The app runs in demo mode in this process, its lifespan started and its status warm, with
request lines written to ``/dev/null`` through Lookout's log handler. The benchmark then calls
the ASGI app directly, ``--requests`` times in a row, three ways: as it is, with the path's
per-request duties patched out (``bench/floor.py``), and the bare endpoint of
``bench/bare.py`` with the same bytes. It prints microseconds per request for each, the median
of ``--rounds`` rounds. A tight loop keeps the caches warm, so these figures are lower than the
same code's share of a request under uvicorn. They show where the time goes, not the throughput.

Command: ``.venv/bin/python bench/fast_path_cost.py`` (about 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.api import fast_status
from app.config import Settings
from app.demo.app import create_simulator
from app.main import create_app
from app.observability import configure_logging
from bench.bare import constant_app
from bench.floor import serve_without_duties

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/api/v1/status",
    "raw_path": b"/api/v1/status",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}
CAPTURED_HEADERS = ("content-type", "etag", "cache-control", "x-request-id")


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Any) -> None:
    return None


async def _time_per_request(app: Any, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, _discard)
    return (time.perf_counter() - started) / requests * 1e6


async def measure(requests: int, rounds: int, log_stream: TextIO) -> dict[str, float]:
    """Return the median microseconds per request of each way to serve the status."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        poller_enabled=False,
        rate_limit_public_per_minute=1_000_000_000,
    )
    app = create_app(settings, transport=httpx.ASGITransport(app=create_simulator()))
    configure_logging(settings, stream=log_stream)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lookout.bench"
        )
        async with client:
            await client.get("/api/v1/status")
            warm = await client.get("/api/v1/status")
        headers = [(name, warm.headers[name]) for name in CAPTURED_HEADERS]
        bare = constant_app(warm.content, headers)

        real_serve = fast_status.CachedStatusResponder.serve
        ways: dict[str, tuple[Any, Any]] = {
            "lookout": (app, real_serve),
            "floor": (app, serve_without_duties),
            "bare": (bare, real_serve),
        }
        timings: dict[str, list[float]] = {name: [] for name in ways}
        try:
            for _ in range(rounds):
                for name, (target, serve) in ways.items():
                    fast_status.CachedStatusResponder.serve = serve  # type: ignore[method-assign]
                    timings[name].append(await _time_per_request(target, requests))
        finally:
            fast_status.CachedStatusResponder.serve = real_serve  # type: ignore[method-assign]
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000, help="Requests per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds; the median is printed.")
    args = parser.parse_args()
    with open(os.devnull, "w") as sink:
        results = asyncio.run(measure(args.requests, args.rounds, sink))
    for name, microseconds in results.items():
        print(f"{name:8s} {microseconds:6.2f} µs per request")


if __name__ == "__main__":
    main()
