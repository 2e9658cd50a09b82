"""Cold ``GET /api/v1/admin/dashboard`` latency against the slowest single upstream call.

Every simulator call takes 300 ms. A fresh Lookout (poller off, nothing cached) serves one
dashboard request with an admin token minted by ``lookout token``. The slowest single upstream
call is read from Lookout's own log line for each call (``upstream call ... duration_ms=``), so
it is the same calls, timed by the same process, in the same run. The median of a few fresh
starts is reported, because a cold start is a single request and the machine is shared.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

from bench import harness
from bench.results import CONTEXT, Row

MEASURE = "Cold admin dashboard vs slowest single upstream call"
TARGET = "<= 1.15x"
UPSTREAM_LATENCY_MS = 300
STARTS = 3
WIDE_MEASURE = "Same, SENTRY_MAX_CONCURRENCY=10 (no queueing for Sentry's 8 cold calls)"
WIDE_SENTRY = {"SENTRY_MAX_CONCURRENCY": "10"}
DASHBOARD_PATH = "/api/v1/admin/dashboard"
_CALL_LINE = re.compile(r"upstream call .*?duration_ms=([\d.]+)")


def upstream_call_durations_ms(log_text: str) -> list[float]:
    """Read every upstream call's duration from a Lookout log."""
    return [float(value) for value in _CALL_LINE.findall(log_text)]


def cold_dashboard(
    workdir: Path, sim: harness.Server, name: str, extra: dict[str, str]
) -> tuple[float, list[float], int]:
    """Start a fresh Lookout, time one dashboard request; return it, the call durations and
    the HTTP status."""
    config = harness.AppConfig(
        sim.url, extra={"POLLER_ENABLED": "false", "LOG_LEVEL": "INFO", **extra}
    )
    token = harness.mint_admin_token(workdir, config)
    with harness.lookout(workdir, config, name=name) as app:
        with harness.client(60.0) as http:
            started = time.perf_counter()
            response = http.get(
                app.url + DASHBOARD_PATH, headers={"Authorization": f"Bearer {token}"}
            )
            elapsed_ms = (time.perf_counter() - started) * 1000
        log_text = app.log_path.read_text(errors="replace")
    return elapsed_ms, upstream_call_durations_ms(log_text), response.status_code


def _row(measure: str, target: str, starts: list[tuple[float, list[float], int]]) -> Row:
    timed = [(latency, max(durations)) for latency, durations, _ in starts if durations]
    if not timed:
        return Row(
            measure,
            target,
            "-",
            None,
            "Lookout logged no 'upstream call ... duration_ms=' line, so the slowest call is "
            "unknown",
        )
    ratios = [latency / slowest for latency, slowest in timed]
    median = statistics.median(ratios)
    calls = statistics.median(len(durations) for _, durations, _ in starts)
    notes = (
        f"{len(starts)} fresh starts: dashboard "
        f"{', '.join(f'{latency:.0f}' for latency, _, _ in starts)} ms; slowest call "
        f"{statistics.median(slowest for _, slowest in timed):.0f} ms; {calls:.0f} upstream "
        f"calls per cold start; ratios {', '.join(f'{r:.2f}' for r in ratios)}"
    )
    statuses = [status for _, _, status in starts]
    ok = all(status == 200 for status in statuses)
    if not ok:
        notes += f"; statuses {statuses}"
    return Row(measure, target, f"{median:.2f}x", median <= 1.15 and ok, notes)


def run(workdir: Path) -> list[Row]:
    default: list[tuple[float, list[float], int]] = []
    wide: list[tuple[float, list[float], int]] = []
    with harness.simulator(workdir) as sim:
        harness.SimulatorControl(sim).set_latency(UPSTREAM_LATENCY_MS)
        for index in range(STARTS):
            default.append(cold_dashboard(workdir, sim, f"lookout-cold-{index}", {}))
            wide.append(cold_dashboard(workdir, sim, f"lookout-wide-{index}", WIDE_SENTRY))

    main_row = _row(MEASURE, TARGET, default)
    main_row.notes += f"; every simulator call took {UPSTREAM_LATENCY_MS} ms"
    return [main_row, _row(WIDE_MEASURE, CONTEXT, wide)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["dashboard"]))
