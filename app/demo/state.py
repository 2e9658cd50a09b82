"""The simulator's mutable state: the demo world, its clock, fault plans and call counts.

Both fake upstreams (UptimeRobot and Sentry) read one ``SimulatorState`` from
``app.state.simulator``, so a test or benchmark can inject faults per upstream and assert how many
upstream calls Lookout made.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.demo.world import DemoWorld

UPSTREAMS = ("uptimerobot", "sentry")


def utc_now() -> datetime:
    """The real current time, aware UTC: the simulator's default clock."""
    return datetime.now(UTC)


@dataclass
class FaultPlan:
    """Faults the simulator applies to every request of one upstream.

    Checked in this order: ``latency_ms`` (delay, then respond normally), ``timeout_s`` (sleep
    that long before responding, to trip client timeouts), ``error_status`` (e.g. 500 or 503),
    ``rate_limit_retry_after`` (HTTP 429 with that ``Retry-After`` value and a text/html body),
    ``malformed`` (HTTP 200 with a body that is not JSON), ``stat_fail`` (UptimeRobot only: HTTP
    200 with ``stat: fail`` internal_error) and ``bad_key`` (UptimeRobot: ``stat: fail``
    invalid_parameter api_key; Sentry: HTTP 401 ``Invalid token``).
    """

    latency_ms: int = 0
    error_status: int | None = None
    rate_limit_retry_after: str | None = None
    malformed: bool = False
    stat_fail: bool = False
    bad_key: bool = False
    timeout_s: float = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_status": self.error_status,
            "rate_limit_retry_after": self.rate_limit_retry_after,
            "malformed": self.malformed,
            "stat_fail": self.stat_fail,
            "bad_key": self.bad_key,
            "timeout_s": self.timeout_s,
        }


def _no_faults() -> dict[str, FaultPlan]:
    return {upstream: FaultPlan() for upstream in UPSTREAMS}


@dataclass
class SimulatorState:
    """Everything the simulator's routes share. ``reset()`` clears faults and call counts.

    ``calls`` counts upstream requests by a stable key such as ``uptimerobot:getMonitors`` or
    ``sentry:issues:backend``. ``world`` is fixed at creation, and ``clock`` only moves "now".
    """

    world: DemoWorld
    clock: Callable[[], datetime] = utc_now
    faults: dict[str, FaultPlan] = field(default_factory=_no_faults)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)

    def fault(self, upstream: str) -> FaultPlan:
        """Return the fault plan of ``upstream``, adding a plan without faults when none is set."""
        return self.faults.setdefault(upstream, FaultPlan())

    def count(self, key: str) -> None:
        """Record one call under ``key``."""
        self.calls[key] += 1

    def reset(self) -> None:
        """Drop every fault plan and call count. The world and clock stay."""
        self.faults.clear()
        self.faults.update(_no_faults())
        self.calls.clear()
