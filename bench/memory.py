"""Peak resident memory of Lookout over a large account: 1,000 monitors and 5,000 Sentry issues.

The simulator runs as ``lookout simulate --monitors 1000 --issues 5000``. Lookout (default
settings) warms up until its status is fresh, refreshes every source once more through
``POST /api/v1/admin/refresh`` (so new snapshots replace old ones, as they do every minute in
production), then serves a few hundred public and admin requests. The peak is ``VmHWM`` from
``/proc/<pid>/status``: the most resident memory the process ever had, so a short spike during
an evaluation or a large response counts too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench import harness
from bench.results import Row

MEASURE = "Peak RSS, 1,000 monitors + 5,000 issues"
TARGET = "<= 150 MB"
LIMIT_MB = 150.0
MONITORS = 1000
ISSUES = 5000
WARM_UP_TIMEOUT_S = 120.0
REFRESH_PATH = "/api/v1/admin/refresh"
PUBLIC_REQUESTS = {"/api/v1/status": 200, "/api/v2/summary.json": 40, "/api/v2/status.json": 40}
ADMIN_REQUESTS = {
    "/api/v1/admin/dashboard": 10,
    "/api/v1/admin/monitors": 10,
    "/api/v1/admin/errors": 10,
    "/api/v1/admin/errors/stats": 10,
    "/api/v1/admin/performance": 10,
    "/api/v1/admin/sla": 10,
    "/api/v1/admin/incidents": 10,
    "/api/v1/admin/alerts": 10,
    "/api/v1/admin/sources": 10,
}


def _megabytes(kib: int) -> float:
    return kib * 1024 / 1e6


def _send_requests(url: str, token: str) -> tuple[int, int, float]:
    """Send the public and admin requests; return how many, how many failed, and the slowest."""
    sent = failed = 0
    slowest_s = 0.0
    admin = {"Authorization": f"Bearer {token}"}
    plan = [(path, count, {}) for path, count in PUBLIC_REQUESTS.items()]
    plan += [(path, count, admin) for path, count in ADMIN_REQUESTS.items()]
    with harness.client(60.0) as http:
        for path, count, headers in plan:
            for _ in range(count):
                started = time.perf_counter()
                response = http.get(url + path, headers=headers)
                slowest_s = max(slowest_s, time.perf_counter() - started)
                sent += 1
                failed += response.status_code != 200
    return sent, failed, slowest_s


def run(workdir: Path) -> list[Row]:
    with harness.simulator(workdir, monitors=MONITORS, issues=ISSUES) as sim:
        config = harness.AppConfig(sim.url)
        token = harness.mint_admin_token(workdir, config)
        with harness.lookout(workdir, config) as app:
            started = time.perf_counter()
            harness.wait_until_available(app.url, timeout_s=WARM_UP_TIMEOUT_S)
            warm_up_s = time.perf_counter() - started
            warm_rss = _megabytes(app.rss_kib())
            with harness.client(120.0) as http:
                refresh = http.post(
                    app.url + REFRESH_PATH, headers={"Authorization": f"Bearer {token}"}
                )
            sent, failed, slowest_s = _send_requests(app.url, token)
            peak = _megabytes(app.peak_rss_kib())
            final_rss = _megabytes(app.rss_kib())

    notes = (
        f"VmHWM after warm-up ({warm_up_s:.1f} s to a fresh status), one refresh of every "
        f"source and {sent} requests; "
        f"RSS {warm_rss:.0f} MB when warm, {final_rss:.0f} MB at the end; slowest request "
        f"{slowest_s * 1000:.0f} ms"
    )
    if refresh.status_code != 200:
        notes += f"; the refresh answered {refresh.status_code}"
    if failed:
        notes += f"; {failed} requests failed"
    ok = peak <= LIMIT_MB and not failed and refresh.status_code == 200
    return [Row(MEASURE, TARGET, f"{peak:.0f} MB", ok, notes)]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["memory"]))
