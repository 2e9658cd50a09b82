"""The simulated watched system: a deterministic week of history behind both fake upstreams.

Both halves of the simulator (UptimeRobot and Sentry) read one ``DemoWorld`` so their stories
agree: the backend outage in the monitor logs is the moment of the error spike in Sentry.
Every instant is derived from ``anchor`` (the simulator's "now" floored to the hour), so the
same anchor always gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum


class V2Status(IntEnum):
    """UptimeRobot v2 wire codes for a monitor's status."""

    PAUSED = 0
    NOT_CHECKED = 1
    UP = 2
    SEEMS_DOWN = 8
    DOWN = 9


@dataclass(frozen=True)
class DemoMonitor:
    """One simulated monitor as UptimeRobot would configure it."""

    id: int
    name: str
    url: str
    type: int  # 1 HTTP(s), 2 keyword
    http_method: int  # 1 HEAD, 2 GET
    interval_s: int = 300
    keyword_value: str = ""
    keyword_type: int | None = None
    paused: bool = False
    base_response_ms: int = 180


@dataclass(frozen=True)
class DemoProject:
    """One simulated Sentry project."""

    id: str
    slug: str
    platform: str
    errors_per_hour: int
    has_web_vitals: bool


def default_monitors() -> list[DemoMonitor]:
    """The default watched system: four monitors plus one paused staging check."""
    return [
        DemoMonitor(
            id=790_000_001, name="Frontend", url="https://app.example.test", type=1, http_method=1
        ),
        DemoMonitor(
            id=790_000_002,
            name="Backend API",
            url="https://api.example.test/health",
            type=1,
            http_method=1,
            base_response_ms=240,
        ),
        DemoMonitor(
            id=790_000_003,
            name="Database health",
            url="https://api.example.test/health/db",
            type=2,
            http_method=2,
            keyword_value="success",
            keyword_type=2,
            base_response_ms=310,
        ),
        DemoMonitor(
            id=790_000_004,
            name="SSL expiry",
            url="https://app.example.test",
            type=1,
            http_method=1,
            interval_s=3600,
        ),
        DemoMonitor(
            id=790_000_005,
            name="Staging",
            url="https://staging.example.test",
            type=1,
            http_method=1,
            paused=True,
        ),
    ]


def default_projects() -> list[DemoProject]:
    return [
        DemoProject(
            id="4501001",
            slug="backend",
            platform="php-laravel",
            errors_per_hour=6,
            has_web_vitals=False,
        ),
        DemoProject(
            id="4501002",
            slug="frontend",
            platform="javascript-nextjs",
            errors_per_hour=9,
            has_web_vitals=True,
        ),
    ]


@dataclass(frozen=True)
class DemoWorld:
    """The week of history the simulator serves, anchored at ``anchor``.

    - ``outage``: the backend API (and the database check behind it) is down; logs show a
      down/up pair for each.
    - ``slow``: the backend answers slowly (response times over the 500 ms target).
    - ``spike``: the backend Sentry project receives a burst of errors during the outage.
    ``extra_monitors`` and ``extra_issues`` grow the data for load and memory tests.
    """

    anchor: datetime
    monitors: list[DemoMonitor] = field(default_factory=default_monitors)
    projects: list[DemoProject] = field(default_factory=default_projects)
    extra_monitors: int = 0
    extra_issues: int = 0
    issues_per_project: int = 24

    @classmethod
    def at(cls, now: datetime, **options: int) -> DemoWorld:
        """Build the world for ``now`` (aware), floored to the hour for stable data."""
        anchor = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return cls(anchor=anchor, **options)  # type: ignore[arg-type]

    @property
    def history_start(self) -> datetime:
        return self.anchor - timedelta(days=7)

    @property
    def outage(self) -> tuple[datetime, datetime]:
        start = self.anchor - timedelta(days=2, hours=5, minutes=-12)
        return start, start + timedelta(minutes=38)

    @property
    def slow(self) -> tuple[datetime, datetime]:
        start = self.anchor - timedelta(days=4, hours=3)
        return start, start + timedelta(hours=2)

    @property
    def spike(self) -> tuple[datetime, datetime]:
        start, end = self.outage
        return start - timedelta(minutes=2), end + timedelta(minutes=10)

    @property
    def outage_monitor_ids(self) -> list[int]:
        """Monitors down during ``outage``: the backend API and its database check."""
        return [790_000_002, 790_000_003]
