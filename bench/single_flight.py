"""Cold cache, 200 concurrent readers: how many times each upstream resource is fetched.

Two fresh Lookout processes with the poller off read the simulator, whose every call takes
500 ms, so the readers pile up on the first fetch. The first gets one reader, which shows the
calls one fetch of each resource makes (statistics take two calls per project, for example).
The second gets 200 readers at once. Equal counts per simulator key mean one fetch per
resource, whatever the number of readers.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx

from bench import harness
from bench.load import async_client
from bench.results import Row

MEASURE = "Cold cache, 200 concurrent readers: fetches per resource"
TARGET = "exactly 1"
READERS = 200
UPSTREAM_LATENCY_MS = 500
STATUS_PATH = "/api/v1/status"
READ_TIMEOUT_S = 60.0


async def _read_together(url: str, readers: int) -> tuple[list[int], int]:
    """Send ``readers`` requests at once; return their statuses and how many were sent before
    the first response arrived."""
    limits = httpx.Limits(max_connections=readers, max_keepalive_connections=readers)
    first_answer_at: float | None = None
    sent_at: list[float] = []

    async def one(http: httpx.AsyncClient) -> int:
        nonlocal first_answer_at
        sent_at.append(time.perf_counter())
        response = await http.get(url + STATUS_PATH)
        if first_answer_at is None:
            first_answer_at = time.perf_counter()
        return response.status_code

    async with async_client(limits=limits) as http:
        async with asyncio.timeout(READ_TIMEOUT_S):
            statuses = await asyncio.gather(*(one(http) for _ in range(readers)))
    waiting = sum(1 for moment in sent_at if first_answer_at is None or moment < first_answer_at)
    return list(statuses), waiting


def _cold_calls(
    workdir: Path, sim: harness.Server, readers: int
) -> tuple[dict[str, int], list[int], int]:
    control = harness.SimulatorControl(sim)
    config = harness.AppConfig(sim.url, extra={"POLLER_ENABLED": "false"})
    with harness.lookout(workdir, config, name=f"lookout-{readers}-readers") as app:
        before = harness.resource_calls(control.calls())
        statuses, waiting = asyncio.run(_read_together(app.url, readers))
        after = harness.resource_calls(control.calls())
    return harness.subtract(after, before), statuses, waiting


def run(workdir: Path) -> list[Row]:
    with harness.simulator(workdir) as sim:
        harness.SimulatorControl(sim).set_latency(UPSTREAM_LATENCY_MS)
        single, _, _ = _cold_calls(workdir, sim, 1)
        crowd, statuses, waiting = _cold_calls(workdir, sim, READERS)

    keys = sorted(set(single) | set(crowd))
    fetches = {
        key: crowd.get(key, 0) / single[key] if single.get(key) else float("inf") for key in keys
    }
    exact = all(value == 1 for value in fetches.values()) and bool(keys)
    ok = sum(1 for status in statuses if status == 200)
    per_key = ", ".join(f"{key} {crowd.get(key, 0)}/{single.get(key, 0)}" for key in keys)
    worst = max(fetches.values(), default=0.0)
    measured = "1 for every resource" if exact else f"up to {worst:.2f}"
    notes = (
        f"calls at the simulator with {READERS} readers / with 1 reader: {per_key}; "
        f"{waiting} of {READERS} readers were sent before the first response; {ok} got 200; "
        f"every upstream call took {UPSTREAM_LATENCY_MS} ms"
    )
    return [Row(MEASURE, TARGET, measured, exact and ok == READERS, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["single_flight"]))
