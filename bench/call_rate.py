"""Upstream calls during constant public traffic, at different request rates.

Ten minutes of traffic are scaled down by ``SCALE``: the TTLs (60 s for monitors, issues and
statistics, 300 s for performance) and the window shrink by the same factor, so the run spans as
many TTL periods as ten real minutes would. Three Lookout processes, each with its own
simulator, run side by side through the same window, at 0, 20 and 200 requests a second. The
calls each simulator counts in the window should not depend on the rate, because reads are
served from the snapshot store and only its refreshes call upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from bench import harness
from bench.load import MAX_IN_FLIGHT, RateResult, async_client, fixed_rate
from bench.results import Row

MEASURE = "Upstream calls in 10 min of public traffic"
TARGET = "independent of the request rate"
SCALE = 5
REAL_WINDOW_S = 600
REAL_TTLS_S = {
    "CACHE_TTL_MONITORS": 60,
    "CACHE_TTL_SENTRY_ISSUES": 60,
    "CACHE_TTL_SENTRY_STATS": 60,
    "CACHE_TTL_SENTRY_PERFORMANCE": 300,
}
RATES_PER_S = (0, 20, 200)
STATUS_PATH = "/api/v1/status"
# Each Lookout process loads the Sentry project list once in its life, whenever its first Sentry
# fetch happens, so that call does not follow the TTLs and is left out of the comparison.
ONE_OFF_KEYS = frozenset({"sentry:projects"})
FAILED_FETCH = "snapshot fetch failed"


def scaled_ttls(scale: int = SCALE) -> dict[str, str]:
    """Build the TTL settings of a run ``scale`` times shorter than real time."""
    return {name: str(max(1, round(ttl / scale))) for name, ttl in REAL_TTLS_S.items()}


async def _traffic(urls: dict[int, str], window_s: float) -> dict[int, RateResult | None]:
    async def one(rate: int, url: str) -> RateResult | None:
        if rate == 0:
            await asyncio.sleep(window_s)
            return None
        async with async_client() as http:
            return await fixed_rate(http, url + STATUS_PATH, rate_per_s=rate, duration_s=window_s)

    rates = list(urls)
    results = await asyncio.gather(*(one(rate, urls[rate]) for rate in rates))
    return dict(zip(rates, results, strict=True))


def count_calls_at_rates(
    workdir: Path, window_s: float, extra: dict[str, str]
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]], dict[int, RateResult], int]:
    """Run one simulator and one Lookout per rate through one window.

    Returns the calls per simulator key in the window, the calls of each cold start (one fetch
    of every resource), the load results and the failed fetches the apps logged.
    """
    with contextlib.ExitStack() as stack:
        controls: dict[int, harness.SimulatorControl] = {}
        urls: dict[int, str] = {}
        apps: list[harness.Server] = []
        for rate in RATES_PER_S:
            sim = stack.enter_context(harness.simulator(workdir, name=f"sim-{rate}"))
            config = harness.AppConfig(sim.url, extra=extra)
            app = stack.enter_context(harness.lookout(workdir, config, name=f"lookout-{rate}"))
            controls[rate] = harness.SimulatorControl(sim)
            urls[rate] = app.url
            apps.append(app)
        cold: dict[int, dict[str, int]] = {}
        for rate, url in urls.items():
            harness.wait_until_available(url)
            cold[rate] = harness.resource_calls(controls[rate].calls())
        before = {rate: harness.resource_calls(c.calls()) for rate, c in controls.items()}
        loads = asyncio.run(_traffic(urls, window_s))
        after = {rate: harness.resource_calls(c.calls()) for rate, c in controls.items()}
        failed_fetches = sum(app.count_log_lines(FAILED_FETCH) for app in apps)
    calls = {rate: harness.subtract(after[rate], before[rate]) for rate in RATES_PER_S}
    return calls, cold, {r: load for r, load in loads.items() if load}, failed_fetches


def within_one_refresh(
    counts: list[dict[str, int]], one_refresh: dict[str, int]
) -> tuple[bool, int]:
    """Whether every key's counts differ by at most one refresh of it; return the widest gap.

    Keys in ``ONE_OFF_KEYS`` are not compared.
    """
    keys = set(one_refresh).union(*counts) - ONE_OFF_KEYS
    ok = True
    widest = 0
    for key in keys:
        values = [calls.get(key, 0) for calls in counts]
        gap = max(values) - min(values)
        widest = max(widest, gap)
        ok = ok and gap <= max(one_refresh.get(key, 0), 1)
    return ok, widest


def describe_loads(loads: list[RateResult]) -> tuple[str, int]:
    """Summarise fixed-rate runs; return the text and the number of failed requests."""
    sent = sum(load.sent for load in loads)
    errors = sum(load.errors for load in loads)
    dropped = sum(load.dropped for load in loads)
    text = f"{sent - errors} requests answered, {errors} failed"
    if dropped:
        text += f", {dropped} not sent because {MAX_IN_FLIGHT} were already waiting"
    return text, errors


def run(workdir: Path) -> list[Row]:
    window_s = REAL_WINDOW_S / SCALE
    ttls = scaled_ttls()
    calls, cold, loads, failed_fetches = count_calls_at_rates(workdir, window_s, ttls)

    one_refresh = cold[RATES_PER_S[0]]
    ok, widest = within_one_refresh([calls[rate] for rate in RATES_PER_S], one_refresh)
    totals = {rate: sum(calls[rate].values()) for rate in RATES_PER_S}
    load_text, errors = describe_loads(list(loads.values()))
    achieved = ", ".join(
        f"{(load.sent - load.errors) / window_s:.0f}/s at {rate}" for rate, load in loads.items()
    )
    measured = ", ".join(f"{totals[rate]} at {rate} req/s" for rate in RATES_PER_S)
    per_key = "; ".join(
        f"{rate} req/s: " + ", ".join(f"{k} {v}" for k, v in sorted(calls[rate].items()))
        for rate in RATES_PER_S
    )
    notes = (
        f"{window_s:.0f} s window with TTLs {', '.join(f'{v} s' for v in ttls.values())} "
        f"(10 min and real TTLs divided by {SCALE}); {load_text} (answered {achieved}); "
        f"widest gap per key {widest} "
        f"calls (one refresh of every resource is {sum(one_refresh.values())} calls); "
        f"{failed_fetches} failed fetches logged; {per_key}"
    )
    return [Row(MEASURE, TARGET, measured, ok and not errors, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["call_rate"]))
