"""WeeklyReports: week checks, per-week store keys, their TTLs and the end of open windows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.errors import InvalidParameter
from app.models.upstream import CountPoint, IssuesSnapshot, MonitorsSnapshot, PerformanceStats
from app.reports.gather import FINISHED_TTL_S, OPEN_TTL_S, WeeklyReports
from app.services.report import parse_week
from app.store.memory import MemorySnapshotStore
from app.views import MONITORS_KEY

WEEK_KEY = "report:uptimerobot:2026-W49"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeUptimeRobot:
    """Records the windows asked for and returns no monitors."""

    def __init__(self) -> None:
        self.windows: list[tuple[datetime, datetime]] = []

    async def fetch_monitors_window(self, start: datetime, end: datetime) -> MonitorsSnapshot:
        self.windows.append((start, end))
        return MonitorsSnapshot()


class FakeSentry:
    def __init__(self) -> None:
        self.calls = 0

    async def fetch_issues_window(
        self, project: str, start: datetime, end: datetime, sort: str
    ) -> IssuesSnapshot:
        self.calls += 1
        return IssuesSnapshot(project=project)

    async def fetch_error_counts_window(
        self, project: str, start: datetime, end: datetime
    ) -> list[CountPoint]:
        self.calls += 1
        return [CountPoint(at=start, count=1)]

    async def fetch_performance_window(
        self, project: str, start: datetime, end: datetime
    ) -> PerformanceStats:
        self.calls += 1
        return PerformanceStats(project=project)


class Setup:
    def __init__(self, now: datetime) -> None:
        self.clock = Clock(now)
        self.store = MemorySnapshotStore(
            max_stale_s=7 * 86_400, fetch_timeout_s=5, wall_clock=self.clock
        )
        self.uptimerobot = FakeUptimeRobot()
        self.sentry = FakeSentry()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, demo_mode=True, poller_enabled=False, sentry_projects=["backend"]
        )
        self.store.register(MONITORS_KEY, self._monitors, ttl_s=60, upstream="uptimerobot")
        self.reports = WeeklyReports(
            self.store,
            settings,
            self.uptimerobot,  # type: ignore[arg-type]
            self.sentry,  # type: ignore[arg-type]
            clock=self.clock,
        )

    async def _monitors(self) -> MonitorsSnapshot:
        return MonitorsSnapshot()

    def week_windows(self) -> list[tuple[datetime, datetime]]:
        week = parse_week("2026-W49")
        return [window for window in self.uptimerobot.windows if window[0] == week.start]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    made = Setup(at("2026-12-04T16:00"))
    yield made
    await made.store.close()


# --- Weeks -------------------------------------------------------------------------------------


def test_resolve_week_defaults_to_last_complete(setup: Setup) -> None:
    assert setup.reports.resolve_week(None).label == "2026-W48"


def test_resolve_week_allows_current_week(setup: Setup) -> None:
    assert setup.reports.resolve_week("2026-W49").label == "2026-W49"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-W50", "has not started yet"),
        ("2026-W36", "older than the 90 days"),
        ("2026-W99", "2026 has 53 ISO weeks"),
        ("49", "expected an ISO week in the form YYYY-Www"),
    ],
)
def test_resolve_week_rejects_with_message(setup: Setup, text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        setup.reports.resolve_week(text)


def test_resolve_week_keeps_oldest_retained_week(setup: Setup) -> None:
    # 90 days before 2026-12-04 16:00 is 2026-09-05 16:00, inside 2026-W36, so 2026-W37 is
    # the oldest whole week kept.
    assert setup.reports.resolve_week("2026-W37").label == "2026-W37"


# --- Keys and TTLs -----------------------------------------------------------------------------


async def test_open_week_fetches_up_to_now(setup: Setup) -> None:
    await setup.reports.build(parse_week("2026-W49"))

    assert setup.week_windows() == [(at("2026-11-30T00:00"), at("2026-12-04T16:00"))]
    assert setup.store.registration(WEEK_KEY).ttl_s == OPEN_TTL_S


async def test_finished_week_key_lives_long(setup: Setup) -> None:
    await setup.reports.build(parse_week("2026-W48"))

    assert setup.store.registration("report:uptimerobot:2026-W48").ttl_s == FINISHED_TTL_S
    assert setup.store.registration("report:sentry:errors:backend:2026-W47").ttl_s == (
        FINISHED_TTL_S
    )


async def test_open_week_refetched_once_finished(setup: Setup) -> None:
    week = parse_week("2026-W49")
    await setup.reports.build(week)
    setup.clock.now = week.end + timedelta(hours=2)

    await setup.reports.build(week)
    await setup.reports.build(week)

    assert setup.week_windows() == [
        (week.start, at("2026-12-04T16:00")),
        (week.start, week.end),
    ]
    assert setup.store.registration(WEEK_KEY).ttl_s == FINISHED_TTL_S


async def test_week_just_ended_stays_open_until_settled(setup: Setup) -> None:
    week = parse_week("2026-W49")
    setup.clock.now = week.end + timedelta(minutes=10)

    report = await setup.reports.build(week)

    assert report.partial is False
    assert setup.store.registration(WEEK_KEY).ttl_s == OPEN_TTL_S


async def test_refresh_after_settling_switches_to_long_ttl(setup: Setup) -> None:
    week = parse_week("2026-W49")
    await setup.reports.build(week)
    setup.clock.now = week.end + timedelta(hours=2)

    # What the background poller does when the short TTL runs out.
    await setup.store.refresh(WEEK_KEY)

    assert setup.store.registration(WEEK_KEY).ttl_s == FINISHED_TTL_S


async def test_second_build_reads_the_store(setup: Setup) -> None:
    week = parse_week("2026-W48")
    await setup.reports.build(week)
    calls: dict[str, Any] = {
        "uptimerobot": len(setup.uptimerobot.windows),
        "sentry": setup.sentry.calls,
    }

    await setup.reports.build(week)

    assert len(setup.uptimerobot.windows) == calls["uptimerobot"]
    assert setup.sentry.calls == calls["sentry"]
