"""Result rows, the table they print as, and the facts about the machine they were measured on."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"
CONTEXT = "context"
"""The target of a row that gives context to another row and has no target of its own."""
PACKAGES = ("fastapi", "starlette", "uvicorn", "httptools", "uvloop", "pydantic", "httpx", "redis")


@dataclass
class Row:
    """One measure: its target, what was measured, and whether it passed.

    ``passed`` is ``None`` when the measure could not run, and ``notes`` then gives the reason.
    """

    measure: str
    target: str
    measured: str
    passed: bool | None
    notes: str = ""

    @property
    def verdict(self) -> str:
        if self.target == CONTEXT:
            return "-"
        if self.passed is None:
            return "not measured"
        return "pass" if self.passed else "FAIL"


def failed_row(measure: str, target: str, error: BaseException) -> Row:
    """Build the row of a measure that crashed, naming the error."""
    message = " ".join(str(error).split())
    return Row(measure, target, "-", None, f"{type(error).__name__}: {message[-600:]}")


def format_table(rows: Sequence[Row]) -> str:
    """Render ``rows`` as a Markdown table."""
    header = ("Measure", "Target", "Measured", "Result", "Notes")
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for row in rows:
        cells = (row.measure, row.target, row.measured, row.verdict, row.notes)
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def _first_line(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unreadable ({type(exc).__name__})"
    text = (completed.stdout or completed.stderr).strip()
    # The name and version lead the line; build ids and copyright notices follow.
    return " ".join(text.split()[:3]) if text else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine_facts() -> dict[str, str]:
    """Collect the facts about the machine and software that the figures depend on."""
    facts = {
        "cpus": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "load average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "wrk": _first_line(["wrk", "--version"]),
        "redis-server": _first_line(["redis-server", "--version"]),
    }
    for package in PACKAGES:
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            facts[package] = "not installed"
    return facts


def save(rows: Sequence[Row], facts: dict[str, str], started: float) -> Path:
    """Write the rows and facts as JSON under ``bench/results/`` (ignored by git)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"bench-{time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))}.json"
    body = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": facts,
        "rows": [asdict(row) for row in rows],
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


Measure = Callable[[Path], list[Row]]
