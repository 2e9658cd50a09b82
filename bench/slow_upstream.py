"""p99 of the public status while every upstream call takes 5 s, against fast upstreams.

Lookout runs with 2-second TTLs, so its snapshots expire and are refreshed all through the run.
A fixed-rate client reads ``/api/v1/status`` first with fast upstreams, then again once every
simulator call takes 5 s. The refreshes are then in flight for 5 s each, and readers must get the
last good data without waiting for them. Latency counts from each request's
scheduled start, so a stalled server cannot hide.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bench import harness
from bench.load import RateResult, async_client, fixed_rate
from bench.results import Row

MEASURE = "Public status p99, upstreams at 5 s vs fast"
TARGET = "<= 1.2x"
RATE_PER_S = 200
PHASE_S = 8.0
SETTLE_S = 3.0
SLOW_LATENCY_MS = 5000
TTL_S = "2"
STATUS_PATH = "/api/v1/status"
_STALE_MARK = b'"stale":true'


async def _phase(url: str) -> tuple[RateResult, int]:
    """Read the status at ``RATE_PER_S`` for ``PHASE_S``; also count responses marked stale."""
    async with async_client() as http:
        result = await fixed_rate(
            http, url + STATUS_PATH, rate_per_s=RATE_PER_S, duration_s=PHASE_S
        )
        stale = 0
        for _ in range(5):
            response = await http.get(url + STATUS_PATH)
            stale += _STALE_MARK in response.content
            await asyncio.sleep(0.2)
    return result, stale


def run(workdir: Path) -> list[Row]:
    ttls = {
        "CACHE_TTL_MONITORS": TTL_S,
        "CACHE_TTL_SENTRY_ISSUES": TTL_S,
        "CACHE_TTL_SENTRY_STATS": TTL_S,
        "CACHE_TTL_SENTRY_PERFORMANCE": TTL_S,
    }
    with harness.simulator(workdir) as sim:
        control = harness.SimulatorControl(sim)
        config = harness.AppConfig(sim.url, extra=ttls)
        with harness.lookout(workdir, config) as app:
            harness.wait_until_available(app.url)
            asyncio.run(_phase(app.url))
            fast, fast_stale = asyncio.run(_phase(app.url))
            control.set_latency(SLOW_LATENCY_MS)
            time.sleep(SETTLE_S)
            calls_before = sum(harness.resource_calls(control.calls()).values())
            slow, slow_stale = asyncio.run(_phase(app.url))
            calls_during = sum(harness.resource_calls(control.calls()).values()) - calls_before
            control.set_latency(0)

    fast_p99 = fast.quantile(0.99) * 1000
    slow_p99 = slow.quantile(0.99) * 1000
    ratio = slow_p99 / fast_p99 if fast_p99 > 0 else float("inf")
    failures = fast.errors + slow.errors + fast.dropped + slow.dropped
    notes = (
        f"{fast.tool} at {RATE_PER_S} req/s for {PHASE_S:.0f} s each; p99 fast "
        f"{fast_p99:.1f} ms, slow {slow_p99:.1f} ms (p50 {fast.quantile(0.5) * 1000:.1f} / "
        f"{slow.quantile(0.5) * 1000:.1f} ms); {calls_during} upstream calls started while "
        f"slow; responses marked stale after each phase: fast {fast_stale}/5, slow "
        f"{slow_stale}/5; TTLs {TTL_S} s"
    )
    if failures:
        notes += f"; {failures} failed or dropped requests"
    return [Row(MEASURE, TARGET, f"{ratio:.2f}x", ratio <= 1.2 and not failures, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["slow_upstream"]))
