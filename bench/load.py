"""Load generators: wrk when it is installed, a bounded httpx loop otherwise, and a fixed rate.

Every run is bounded twice, by a duration and by a number of requests, whichever comes first.
Each result names the tool that produced it, because a Python client saturates long before
wrk does and its figures are not comparable with wrk's.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.harness import BenchError

WRK_THREADS = 1
# A fixed-rate run skips a request that falls due while this many are still waiting.
MAX_IN_FLIGHT = 256
WRK_TIMEOUT_MARGIN_S = 30.0

# Stops wrk's thread after WRK_MAX_REQUESTS requests; the request itself is formatted once.
_WRK_BOUND_SCRIPT = """
local limit = tonumber(os.getenv("WRK_MAX_REQUESTS"))
local sent = 0
local prepared = nil
function request()
  if prepared == nil then
    prepared = wrk.format()
  end
  sent = sent + 1
  if sent > limit then
    wrk.thread:stop()
  end
  return prepared
end
"""

_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass
class LoadResult:
    """Figures of one load run."""

    tool: str
    requests: int
    duration_s: float
    errors: int
    latencies_s: dict[str, float] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def async_client(
    *, limits: httpx.Limits | None = None, headers: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    """Build an async HTTP client for 127.0.0.1 that ignores proxy settings."""
    return httpx.AsyncClient(
        limits=limits or httpx.Limits(max_connections=256, max_keepalive_connections=256),
        timeout=30.0,
        headers=headers,
        trust_env=False,
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``samples`` (``fraction`` 0.99 for p99)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def closed_loop(
    url: str,
    *,
    connections: int,
    duration_s: float,
    max_requests: int,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """Send requests back to back on ``connections`` connections: wrk, or httpx without it."""
    if wrk_available():
        return _wrk(url, connections, duration_s, max_requests, headers or {})
    return asyncio.run(_httpx_closed_loop(url, connections, duration_s, max_requests, headers))


def _wrk(
    url: str,
    connections: int,
    duration_s: float,
    max_requests: int,
    headers: Mapping[str, str],
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_BOUND_SCRIPT)
    try:
        argv = [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--latency",
            "-s",
            script.name,
        ]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(url)
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=duration_s + WRK_TIMEOUT_MARGIN_S,
            check=False,
            env={"WRK_MAX_REQUESTS": str(max_requests), "PATH": "/usr/bin:/bin"},
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    if completed.returncode != 0:
        raise BenchError(f"wrk failed with code {completed.returncode}: {completed.stderr.strip()}")
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> LoadResult:
    """Read requests, duration, errors and latency percentiles from wrk's ``--latency`` output."""
    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if totals is None:
        raise BenchError(f"wrk printed no request total:\n{output}")
    requests = int(totals.group(1))
    duration_s = float(totals.group(2)) * _UNIT_S[totals.group(3)]

    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx is not None:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors is not None:
        errors += sum(int(group) for group in socket_errors.groups())

    latencies: dict[str, float] = {}
    for label, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M):
        latencies[f"p{label}"] = float(value) * _UNIT_S[unit]
    return LoadResult(
        tool="wrk", requests=requests, duration_s=duration_s, errors=errors, latencies_s=latencies
    )


async def _httpx_closed_loop(
    url: str,
    connections: int,
    duration_s: float,
    max_requests: int,
    headers: Mapping[str, str] | None,
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    budget = max_requests
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async with async_client(limits=limits, headers=headers) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def worker() -> None:
            nonlocal errors, budget
            while budget > 0 and time.perf_counter() < deadline:
                budget -= 1
                sent = time.perf_counter()
                try:
                    response = await client.get(url)
                    if response.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return LoadResult(
        tool="httpx",
        requests=len(latencies),
        duration_s=elapsed,
        errors=errors,
        latencies_s=_summarise(latencies),
    )


def _summarise(latencies: Sequence[float]) -> dict[str, float]:
    return {f"p{int(f * 100)}": percentile(latencies, f) for f in (0.5, 0.9, 0.99)}


@dataclass
class RateResult:
    """A fixed-rate run: the latencies, measured from each request's scheduled start."""

    tool: str
    sent: int
    errors: int
    dropped: int
    duration_s: float
    latencies: list[float]

    def quantile(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)


async def fixed_rate(
    client: httpx.AsyncClient,
    url: str,
    *,
    rate_per_s: float,
    duration_s: float,
    max_in_flight: int = MAX_IN_FLIGHT,
    headers: Mapping[str, str] | None = None,
) -> RateResult:
    """Send GET ``url`` at ``rate_per_s`` for ``duration_s`` (at most rate × duration requests).

    A latency counts from the moment its request was due, not when it was sent, so a stalled
    server shows up in the figures. A request due while ``max_in_flight`` are pending is
    dropped and counted.
    """
    total = int(rate_per_s * duration_s)
    interval_s = 1.0 / rate_per_s
    latencies: list[float] = []
    errors = 0
    dropped = 0
    in_flight: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        nonlocal errors
        try:
            response = await client.get(url, headers=headers)
            if response.status_code >= 400:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append(time.perf_counter() - due)

    started = time.perf_counter()
    for index in range(total):
        due = started + index * interval_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= max_in_flight:
            dropped += 1
            continue
        task = asyncio.create_task(one(due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(set(in_flight), timeout=30.0)
    return RateResult(
        tool="httpx fixed rate",
        sent=total - dropped,
        errors=errors,
        dropped=dropped,
        duration_s=time.perf_counter() - started,
        latencies=latencies,
    )
