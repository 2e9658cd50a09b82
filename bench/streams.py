"""Idle status streams: runs ``bench/sse_idle.py`` as documented and reports its first round.

That script measures the app's resident memory per open ``/api/v1/status/stream`` connection
(see its own section in docs/benchmarks.md). Running it here makes ``python -m bench`` cover
every benchmark. Its figures are read from its printed table, and output that this module cannot
read is reported as not measured rather than guessed at.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.results import CONTEXT, Row

MEASURE = "Idle SSE streams, memory per stream"
TARGET = CONTEXT
SCRIPT = Path(__file__).with_name("sse_idle.py")
TIMEOUT_S = 90.0
# Columns of the script's table: round, streams opened, open time, RSS before, RSS open,
# per stream (KiB), RSS closed.
PER_STREAM_COLUMN = 5
OPENED_COLUMN = 1


def parse_rounds(output: str) -> list[list[str]]:
    """Return the cells of each numbered round in the script's Markdown table."""
    rounds = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > PER_STREAM_COLUMN and cells[0].isdigit():
            rounds.append(cells)
    return rounds


def run(workdir: Path) -> list[Row]:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=workdir,
    )
    rounds = parse_rounds(completed.stdout)
    if completed.returncode != 0 or not rounds:
        reason = " ".join((completed.stderr or completed.stdout).split())[-300:]
        return [
            Row(MEASURE, TARGET, "-", None, f"sse_idle.py exited {completed.returncode}: {reason}")
        ]
    per_stream = [cells[PER_STREAM_COLUMN] for cells in rounds]
    opened = rounds[0][OPENED_COLUMN]
    notes = (
        f"bench/sse_idle.py with its defaults; streams opened {opened}; KiB per stream by "
        f"round: {', '.join(per_stream)} (a second round reuses the first round's memory)"
    )
    return [Row(MEASURE, TARGET, f"{per_stream[0]} KiB", None, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["streams"]))
