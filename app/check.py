"""``lookout check``: fetch every source once and print a one-screen summary.

It uses the same runtime as the server (sources, store, rules), so a green check means the
configured keys, URLs and projects work; in demo mode it reads the simulator.
"""

from __future__ import annotations

import sys
from typing import TextIO

from app.config import Settings
from app.main import build_runtime
from app.models.status import SystemStatus


def _line(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")


def print_summary(status: SystemStatus, keys: dict[str, str | None], out: TextIO) -> None:
    """Write the summary: sources, overall state, components, monitors, incidents, alerts."""
    _line(out, "Sources")
    for key, error in keys.items():
        _line(out, f"  {key:<34} {'ok' if error is None else 'FAILED: ' + error}")
    _line(out)
    _line(out, f"Overall: {status.overall.description} (light {status.light.color.value})")
    for reason in status.light.reasons:
        _line(out, f"  light: {reason}")
    for component in status.components:
        uptime = {figure.window: figure.percent for figure in component.uptime}
        _line(out, f"  {component.name:<24} {component.state.value:<22} 30d {uptime.get('30d')}")
    _line(out)
    _line(out, "Monitors")
    for monitor in status.monitors:
        response = monitor.average_response_time_ms
        response_text = f"{response:.0f} ms" if response is not None else "-"
        _line(out, f"  {monitor.name:<24} {monitor.status.value:<12} {response_text}")
    _line(out)
    _line(out, f"Incidents: {len(status.incidents)} ({len(status.open_incidents)} open)")
    for incident in status.incidents[:5]:
        _line(
            out,
            f"  {incident.started_at:%Y-%m-%d %H:%M}Z {incident.priority.value} "
            f"{incident.title} ({int(incident.duration_s // 60)} min)",
        )
    firing = status.firing_alerts
    _line(out, f"Alerts firing: {len(firing)}")
    for alert in firing:
        _line(out, f"  {alert.priority.value} {alert.description}")


async def run_check(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Fetch every key once; return 0 when every source returned data, 1 otherwise."""
    runtime = build_runtime(settings.model_copy(update={"poller_enabled": False}))
    try:
        view = await runtime.views.current()
        keys = {
            key: (None if item.available else (item.last_error or "no data"))
            for key, item in view.snapshot.freshness.items()
        }
        print_summary(view.status, keys, out)
    finally:
        await runtime.store.close()
        await runtime.http_client.aclose()
    return 0 if all(error is None for error in keys.values()) else 1
