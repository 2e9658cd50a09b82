"""Upstream calls of one Lookout replica against three sharing one Redis.

Two groups run side by side through the same scaled window (see ``bench.call_rate``), each with
its own simulator: one replica on Redis database 14, and three replicas on database 15. Every
replica serves public traffic at the same rate. With snapshots and the refresh lock in Redis,
the three replicas should make the calls of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import redis

from bench import harness
from bench.call_rate import (
    FAILED_FETCH,
    REAL_WINDOW_S,
    SCALE,
    describe_loads,
    scaled_ttls,
    within_one_refresh,
)
from bench.load import RateResult, async_client, fixed_rate
from bench.results import Row

MEASURE = "Redis: upstream calls, 3 replicas vs 1"
TARGET = "3 replicas make the calls of 1"
REDIS_HOST_URL = "redis://127.0.0.1:6379"
GROUPS = {1: 14, 3: 15}
RATE_PER_S = 20
STATUS_PATH = "/api/v1/status"
KEY_PATTERN = "lookout:*"


def _clear(url: str) -> None:
    """Delete Lookout's keys from the benchmark's Redis database."""
    connection = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(connection.scan_iter(match=KEY_PATTERN, count=500))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


def redis_reachable() -> str | None:
    """Return why Redis cannot be used, or ``None`` when it replies to PING."""
    connection = redis.Redis.from_url(REDIS_HOST_URL, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_HOST_URL} is not reachable ({type(exc).__name__})"
    finally:
        connection.close()
    return None


async def _traffic(urls: list[str], window_s: float) -> list[RateResult]:
    async def one(url: str) -> RateResult:
        async with async_client() as http:
            return await fixed_rate(
                http, url + STATUS_PATH, rate_per_s=RATE_PER_S, duration_s=window_s
            )

    return list(await asyncio.gather(*(one(url) for url in urls)))


def count_group_calls(
    workdir: Path, window_s: float
) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]], list[RateResult], int]:
    """Run both groups through one window.

    Returns the calls per group in the window, the calls of each group's cold start, the load
    results and the failed fetches the apps logged.
    """
    ttls = scaled_ttls()
    with contextlib.ExitStack() as stack:
        controls: dict[int, harness.SimulatorControl] = {}
        apps: dict[int, list[harness.Server]] = {}
        for replicas, database in GROUPS.items():
            redis_url = f"{REDIS_HOST_URL}/{database}"
            _clear(redis_url)
            stack.callback(_clear, redis_url)
            sim = stack.enter_context(harness.simulator(workdir, name=f"sim-{replicas}-replicas"))
            controls[replicas] = harness.SimulatorControl(sim)
            config = harness.AppConfig(sim.url, extra={**ttls, "REDIS_URL": redis_url})
            apps[replicas] = [
                stack.enter_context(
                    harness.lookout(workdir, config, name=f"lookout-{replicas}-replicas-{index}")
                )
                for index in range(replicas)
            ]
        cold: dict[int, dict[str, int]] = {}
        for replicas, group in apps.items():
            for app in group:
                harness.wait_until_available(app.url)
            cold[replicas] = harness.resource_calls(controls[replicas].calls())
        before = {n: harness.resource_calls(control.calls()) for n, control in controls.items()}
        all_apps = [app for group in apps.values() for app in group]
        loads = asyncio.run(_traffic([app.url for app in all_apps], window_s))
        after = {n: harness.resource_calls(control.calls()) for n, control in controls.items()}
        failed_fetches = sum(app.count_log_lines(FAILED_FETCH) for app in all_apps)
    calls = {n: harness.subtract(after[n], before[n]) for n in GROUPS}
    return calls, cold, loads, failed_fetches


def run(workdir: Path) -> list[Row]:
    reason = redis_reachable()
    if reason is not None:
        return [Row(MEASURE, TARGET, "-", None, reason)]
    window_s = REAL_WINDOW_S / SCALE
    calls, cold, loads, failed_fetches = count_group_calls(workdir, window_s)

    ok, widest = within_one_refresh([calls[1], calls[3]], cold[1])
    totals = {n: sum(calls[n].values()) for n in GROUPS}
    load_text, errors = describe_loads(loads)
    per_key = "; ".join(
        f"{n} replica{'s' if n > 1 else ''}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(calls[n].items()))
        for n in GROUPS
    )
    notes = (
        f"{window_s:.0f} s window, {RATE_PER_S} req/s on every replica ({load_text}), scaled "
        f"TTLs as in the 10-minute measure; cold starts: 1 replica {sum(cold[1].values())} "
        f"calls, 3 replicas {sum(cold[3].values())}; widest gap per key {widest} calls "
        f"(project lists, loaded once per process, left out); {failed_fetches} failed fetches "
        f"logged; {per_key}"
    )
    measured = f"{totals[3]} calls with 3, {totals[1]} with 1"
    return [Row(MEASURE, TARGET, measured, ok and not errors, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["replicas"]))
