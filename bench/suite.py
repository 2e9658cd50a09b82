"""The benchmarks by name, and running one of them in its own workspace."""

from __future__ import annotations

import time
from types import ModuleType

from bench import (
    call_rate,
    dashboard,
    harness,
    memory,
    replicas,
    single_flight,
    slow_upstream,
    streams,
    throughput,
)
from bench.results import Row, failed_row

MEASURES: dict[str, ModuleType] = {
    "throughput": throughput,
    "single_flight": single_flight,
    "dashboard": dashboard,
    "slow_upstream": slow_upstream,
    "memory": memory,
    "streams": streams,
    "call_rate": call_rate,
    "replicas": replicas,
}


def run_measure(name: str) -> tuple[list[Row], bool]:
    """Run one benchmark in its own workspace; return its rows and whether it crashed."""
    module = MEASURES[name]
    started = time.perf_counter()
    print(f"running {name} ...", flush=True)
    try:
        with harness.workspace() as workdir:
            rows: list[Row] = module.run(workdir)
        crashed = False
    except Exception as exc:
        rows = [failed_row(module.MEASURE, module.TARGET, exc)]
        crashed = True
    elapsed_s = time.perf_counter() - started
    for row in rows:
        print(f"  {name}: {row.verdict} {row.measured} ({elapsed_s:.0f} s)", flush=True)
    return rows, crashed
