"""Run every benchmark (or those named) and print one results table.

``python -m bench`` runs them all; ``python -m bench throughput memory`` runs two. The two
call-counting benchmarks (``call_rate`` and ``replicas``) mostly wait out a scaled window, so
they run at the same time, each in its own process so that their load clients do not share one
interpreter lock. A missed target is a row marked FAIL and does not change the exit
code. The code is 1 only when a benchmark crashed, and its row then reads "not measured".
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bench.results import Row, failed_row, format_table, machine_facts, save
from bench.suite import MEASURES, run_measure

CONCURRENT = ("call_rate", "replicas")


def _run_together(names: list[str]) -> dict[str, tuple[list[Row], bool]]:
    """Run ``names`` at the same time, each in a process of its own."""
    results: dict[str, tuple[list[Row], bool]] = {}
    if not names:
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(names), mp_context=context) as pool:
        futures = {name: pool.submit(run_measure, name) for name in names}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BrokenProcessPool as exc:
                module = MEASURES[name]
                results[name] = ([failed_row(module.MEASURE, module.TARGET, exc)], True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "measures",
        nargs="*",
        metavar="MEASURE",
        help=f"benchmarks to run (default: all): {', '.join(MEASURES)}",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.measures if name not in MEASURES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(MEASURES)}")
    names = [name for name in MEASURES if not args.measures or name in args.measures]

    started = time.time()
    facts = machine_facts()
    print("Machine: " + "; ".join(f"{key} {value}" for key, value in facts.items()), flush=True)
    results: dict[str, tuple[list[Row], bool]] = {}
    for name in names:
        if name not in CONCURRENT:
            results[name] = run_measure(name)
    results.update(_run_together([name for name in names if name in CONCURRENT]))

    rows = [row for name in names for row in results[name][0]]
    crashed = any(results[name][1] for name in names)
    print()
    print(format_table(rows))
    path = save(rows, facts, started)
    print(f"\n{len(rows)} rows in {time.time() - started:.0f} s; results saved to {path}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
