"""Warm ``GET /api/v1/status`` requests per second against a bare ASGI endpoint.

Lookout (``lookout serve``, warm cache, default settings but the per-client rate limit) and
``bench/bare.py`` (the same response bytes and headers, no framework) run side by side under the
same uvicorn settings, and the same load tool measures them in alternating rounds. The ratio of
each round is taken, so a slow moment of the shared machine hits both servers alike, and the
median of the rounds is reported. Two more servers give context: Lookout with
``LOG_LEVEL=WARNING`` shows what the one log line per request costs, and ``bench/floor.py``
(Lookout without the path's per-request duties) what no change to those duties can remove.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
from pathlib import Path

from bench import harness
from bench.load import LoadResult, closed_loop, wrk_available
from bench.results import CONTEXT, Row

MEASURE = "Warm public status, requests/s vs bare ASGI"
TARGET = ">= 0.9x"
QUIET_MEASURE = "Same, without request log lines (LOG_LEVEL=WARNING)"
FLOOR_MEASURE = "Same path without rate limit, request id, metrics and log line (floor)"
FLOOR_SCRIPT = Path(__file__).with_name("floor.py")
ROUNDS = 5
ROUND_S = 3.0
WARM_UP_S = 1.0
CONNECTIONS = 32
# A bound far above what one uvicorn worker serves here; it only stops a runaway loop.
MAX_REQUESTS_PER_S = 100_000
STATUS_PATH = "/api/v1/status"
BARE_SCRIPT = Path(__file__).with_name("bare.py")
CAPTURED_HEADERS = ("content-type", "etag", "cache-control", "x-request-id")


def capture_status(url: str, path: Path) -> int:
    """Save the status response's body and headers for ``bench/bare.py``; return its size."""
    with harness.client() as http:
        response = http.get(url + STATUS_PATH)
    response.raise_for_status()
    headers = [
        [name, response.headers[name]] for name in CAPTURED_HEADERS if name in response.headers
    ]
    path.write_text(json.dumps({"headers": headers, "body": response.text}))
    return len(response.content)


def _load(url: str, duration_s: float) -> LoadResult:
    return closed_loop(
        url + STATUS_PATH,
        connections=CONNECTIONS,
        duration_s=duration_s,
        max_requests=int(MAX_REQUESTS_PER_S * duration_s),
    )


def measure_rounds(urls: dict[str, str]) -> tuple[dict[str, list[float]], int, str]:
    """Load each server in turn for ``ROUNDS`` rounds, rotating the order every round.

    Returns the rates per server, the failed responses and the load tool.
    """
    for url in urls.values():
        _load(url, WARM_UP_S)
    rates: dict[str, list[float]] = {name: [] for name in urls}
    errors = 0
    tool = "wrk" if wrk_available() else "httpx"
    names = list(urls)
    for index in range(ROUNDS):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            result = _load(urls[name], ROUND_S)
            rates[name].append(result.requests_per_s)
            errors += result.errors
            tool = result.tool
    return rates, errors, tool


def _ratio_row(
    measure: str, rates: list[float], bare_rates: list[float], errors: int, notes: str
) -> tuple[Row, float]:
    ratios = [rate / bare for rate, bare in zip(rates, bare_rates, strict=True) if bare > 0]
    ratio = statistics.median(ratios)
    notes = (
        f"{notes}; median {statistics.median(rates):,.0f} req/s against bare "
        f"{statistics.median(bare_rates):,.0f} req/s; round ratios "
        f"{min(ratios):.2f}-{max(ratios):.2f}"
    )
    if errors:
        notes += f"; {errors} failed responses"
    return Row(measure, TARGET, f"{ratio:.2f}x", ratio >= 0.9 and not errors, notes), ratio


def run(workdir: Path) -> list[Row]:
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(harness.simulator(workdir))
        app = stack.enter_context(harness.lookout(workdir, harness.AppConfig(sim.url)))
        quiet_config = harness.AppConfig(sim.url, extra={"LOG_LEVEL": "WARNING"})
        quiet = stack.enter_context(harness.lookout(workdir, quiet_config, name="lookout-quiet"))
        floor_config = harness.AppConfig(sim.url)
        floor = stack.enter_context(
            harness.lookout(workdir, floor_config, name="lookout-floor", script=FLOOR_SCRIPT)
        )
        for server in (app, quiet, floor):
            harness.wait_until_available(server.url)
        response_file = workdir / "status-response.json"
        body_bytes = capture_status(app.url, response_file)
        port = harness.free_port()
        argv = [sys.executable, str(BARE_SCRIPT), "--port", str(port)]
        argv += ["--response", str(response_file)]
        bare = stack.enter_context(
            harness.serve("bare", argv, port=port, ready_path=STATUS_PATH, workdir=workdir)
        )
        rates, errors, tool = measure_rounds(
            {"lookout": app.url, "quiet": quiet.url, "floor": floor.url, "bare": bare.url}
        )

    setup = (
        f"{tool}, {CONNECTIONS} connections, {ROUNDS} rotating rounds of {ROUND_S:.0f} s, "
        f"body {body_bytes:,} bytes"
    )
    if tool != "wrk":
        setup += "; wrk is not installed, so the Python client limits every rate"
    main_row, _ = _ratio_row(MEASURE, rates["lookout"], rates["bare"], errors, setup)
    context_rows = [
        _ratio_row(measure, rates[name], rates["bare"], errors, tool)[0]
        for measure, name in ((QUIET_MEASURE, "quiet"), (FLOOR_MEASURE, "floor"))
    ]
    for row in context_rows:
        row.target = CONTEXT
        row.passed = None
    return [main_row, *context_rows]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["throughput"]))
