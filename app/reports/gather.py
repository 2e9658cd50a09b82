"""Gather one week's report data through the sources and the snapshot store.

Each upstream resource of a week is a store key registered on demand, for example
``report:uptimerobot:2026-W49`` or ``report:sentry:issues:backend:2026-W49``. Reads go through
``SnapshotStore.read``, so concurrent reports share one fetch and a failing upstream serves the
last good value. A finished window never changes, so its key lives long. A window still open,
or closed less than ``SETTLE_DELAY`` ago while late data can still arrive, is cached briefly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.errors import DataUnavailable, InvalidParameter
from app.models.report import IssueListings, ReportData, ReportWeek, WeeklyReport
from app.models.snapshot import SnapshotRead
from app.models.upstream import CountPoint, MonitorsSnapshot, PerformanceStats
from app.services.report import (
    WEEK_FORMAT_HINT,
    build_weekly_report,
    last_complete_week,
    month_label,
    months_touched,
    parse_week,
    week_containing,
)
from app.services.uptime import next_month_start
from app.sources.sentry import SentrySource
from app.sources.uptimerobot import UptimeRobotSource
from app.store.base import SnapshotStore
from app.views import MONITORS_KEY, REPORT_KEY_PREFIX

if TYPE_CHECKING:
    from app.main import Runtime

logger = logging.getLogger(__name__)

# NOTE: the store cannot unregister a key, so the background poller refreshes each report key
# once per TTL for the life of the process, and readiness lists the keys.
FINISHED_TTL_S = 7 * 86_400
OPEN_TTL_S = 300
# UptimeRobot logs a check up to an interval late and Sentry ingests events with a delay, so a
# window counts as finished only this long after its end.
SETTLE_DELAY = timedelta(hours=1)
# NOTE: 90 days is an assumption about how long the upstream plans keep UptimeRobot logs and
# Sentry events. Older weeks are rejected, because a report from partial data would mislead.
RETENTION = timedelta(days=90)

Clock = Callable[[], datetime]
WindowFetch = Callable[[datetime, datetime], Awaitable[Any]]


@dataclass(frozen=True)
class _KeySpec:
    """One report key: the window it covers and how to fetch it up to a given end."""

    key: str
    upstream: str
    start: datetime
    end: datetime
    fetch: WindowFetch
    model: Any

    @property
    def finished_at(self) -> datetime:
        return self.end + SETTLE_DELAY


class WeeklyReports:
    """Resolves report weeks and gathers their data; one instance per request is cheap."""

    def __init__(
        self,
        store: SnapshotStore,
        settings: Settings,
        uptimerobot: UptimeRobotSource,
        sentry: SentrySource,
        *,
        clock: Clock,
    ) -> None:
        self._store = store
        self._settings = settings
        self._uptimerobot = uptimerobot
        self._sentry = sentry
        self._clock = clock

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> WeeklyReports:
        return cls(
            runtime.store,
            runtime.settings,
            runtime.uptimerobot,
            runtime.sentry,
            clock=runtime.views.now,
        )

    # --- Weeks ---------------------------------------------------------------------------------

    def resolve_week(self, text: str | None) -> ReportWeek:
        """Parse and check the requested week; ``None`` means the last complete week.

        Raises ``InvalidParameter`` for a malformed week, a week that has not started and a
        week older than ``RETENTION``. The current week is allowed and reported as partial.
        """
        now = self._clock()
        if text is None:
            return last_complete_week(now)
        try:
            week = parse_week(text)
        except ValueError as exc:
            raise InvalidParameter(str(exc)) from None

        current = week_containing(now)
        if week.start >= now:
            raise InvalidParameter(
                f"Week {week.label} has not started yet; expected {WEEK_FORMAT_HINT}, "
                f"no later than the current week {current.label}."
            )
        oldest = week_containing(now - RETENTION)
        if oldest.start < now - RETENTION:
            oldest = week_containing(oldest.end)
        if week.start < oldest.start:
            days = RETENTION.days
            raise InvalidParameter(
                f"Week {week.label} is older than the {days} days of data reports cover; "
                f"expected {WEEK_FORMAT_HINT}, from {oldest.label} on."
            )
        return week

    # --- Gathering -----------------------------------------------------------------------------

    async def build(self, week: ReportWeek) -> WeeklyReport:
        """Gather the week's data and build its report.

        Raises ``DataUnavailable`` when neither UptimeRobot nor Sentry data of the week can be
        had. With some data, the missing parts are empty and named in the report's notes.
        """
        started = time.perf_counter()
        now = self._clock()
        previous = week.previous()
        specs = self._specs(week, previous, now)
        results = await asyncio.gather(
            self._store.read(MONITORS_KEY), *(self._read(spec, now) for spec in specs)
        )
        current_read, reads = (
            results[0],
            dict(zip((s.key for s in specs), results[1:], strict=True)),
        )

        def value(key: str, expected: type[Any]) -> Any:
            read = reads[key]
            return read.value if read.available and isinstance(read.value, expected) else None

        month_monitors = {
            month_label(first): value(self._month_key(first, week), MonitorsSnapshot)
            for first in months_touched(week.start, min(week.end, now))
        }
        projects = self._settings.sentry_projects
        data = ReportData(
            week=week,
            now=now,
            monitors=value(_uptimerobot_key(week.label), MonitorsSnapshot),
            previous_monitors=value(_uptimerobot_key(previous.label), MonitorsSnapshot),
            month_monitors=month_monitors,
            current_monitors=(
                current_read.value
                if current_read.available and isinstance(current_read.value, MonitorsSnapshot)
                else None
            ),
            issues=_present({p: value(_issues_key(p, week), IssueListings) for p in projects}),
            error_counts=_present({p: value(_errors_key(p, week), list) for p in projects}),
            previous_error_counts=_present(
                {p: value(_errors_key(p, previous), list) for p in projects}
            ),
            performance=_present(
                {p: value(_performance_key(p, week), PerformanceStats) for p in projects}
            ),
            previous_performance=_present(
                {p: value(_performance_key(p, previous), PerformanceStats) for p in projects}
            ),
            freshness=[current_read.freshness, *(read.freshness for read in reads.values())],
        )
        if data.monitors is None and not (data.issues or data.error_counts or data.performance):
            raise DataUnavailable(
                f"No data for week {week.label} is available yet; the sources are being "
                "fetched or failing. Retry shortly.",
                retry_after_s=30,
            )

        report = build_weekly_report(data, self._settings)
        logger.info(
            "weekly report built week=%s keys=%d unavailable=%d duration_ms=%.1f",
            week.label,
            len(specs),
            sum(1 for read in reads.values() if not read.available),
            (time.perf_counter() - started) * 1000,
        )
        return report

    def _specs(self, week: ReportWeek, previous: ReportWeek, now: datetime) -> list[_KeySpec]:
        uptimerobot = self._uptimerobot
        sentry = self._sentry
        specs = [
            _KeySpec(
                key=_uptimerobot_key(item.label),
                upstream="uptimerobot",
                start=item.start,
                end=item.end,
                fetch=uptimerobot.fetch_monitors_window,
                model=MonitorsSnapshot,
            )
            for item in (week, previous)
        ]
        specs += [
            _KeySpec(
                key=self._month_key(first, week),
                upstream="uptimerobot",
                start=first,
                end=min(next_month_start(first), week.end),
                fetch=uptimerobot.fetch_monitors_window,
                model=MonitorsSnapshot,
            )
            for first in months_touched(week.start, min(week.end, now))
        ]
        for project in self._settings.sentry_projects:
            specs.append(
                _KeySpec(
                    key=_issues_key(project, week),
                    upstream="sentry",
                    start=week.start,
                    end=week.end,
                    fetch=self._issue_listings(project),
                    model=IssueListings,
                )
            )
            for item in (week, previous):
                specs.append(
                    _KeySpec(
                        key=_errors_key(project, item),
                        upstream="sentry",
                        start=item.start,
                        end=item.end,
                        fetch=_for_project(sentry.fetch_error_counts_window, project),
                        model=list[CountPoint],
                    )
                )
                specs.append(
                    _KeySpec(
                        key=_performance_key(project, item),
                        upstream="sentry",
                        start=item.start,
                        end=item.end,
                        fetch=_for_project(sentry.fetch_performance_window, project),
                        model=PerformanceStats,
                    )
                )
        return specs

    def _issue_listings(self, project: str) -> WindowFetch:
        async def fetch(start: datetime, end: datetime) -> IssueListings:
            by_events, by_users, newest = await asyncio.gather(
                *(
                    self._sentry.fetch_issues_window(project, start, end, sort)
                    for sort in ("freq", "user", "new")
                )
            )
            return IssueListings(
                project=project, by_events=by_events, by_users=by_users, newest=newest
            )

        return fetch

    @staticmethod
    def _month_key(first: datetime, week: ReportWeek) -> str:
        return f"{REPORT_KEY_PREFIX}uptimerobot:{month_label(first)}:to:{week.label}"

    # --- The store -----------------------------------------------------------------------------

    def _register(self, spec: _KeySpec, now: datetime) -> None:
        finished = now >= spec.finished_at
        self._store.register(
            spec.key,
            self._fetcher(spec),
            ttl_s=FINISHED_TTL_S if finished else OPEN_TTL_S,
            upstream=spec.upstream,
            model=spec.model,
            poll=False,
        )

    def _fetcher(self, spec: _KeySpec) -> Callable[[], Awaitable[Any]]:
        async def fetch() -> Any:
            now = self._clock()
            value = await spec.fetch(spec.start, min(spec.end, now))
            if now >= spec.finished_at and self._store.registration(spec.key).ttl_s < (
                FINISHED_TTL_S
            ):
                # The background poller refreshes every key at its TTL; a window that has
                # finished since it was registered no longer needs the short one.
                self._register(spec, now)
            return value

        return fetch

    async def _read(self, spec: _KeySpec, now: datetime) -> SnapshotRead:
        """Read a report key, fetching it again once when its value predates the window's end."""
        self._register(spec, now)
        read = await self._store.read(spec.key)
        fetched_at = read.freshness.fetched_at
        if now >= spec.finished_at and fetched_at is not None and fetched_at < spec.finished_at:
            read = await self._store.refresh(spec.key)
        return read


def _for_project(
    fetch: Callable[[str, datetime, datetime], Awaitable[Any]], project: str
) -> WindowFetch:
    async def fetch_project(start: datetime, end: datetime) -> Any:
        return await fetch(project, start, end)

    return fetch_project


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _uptimerobot_key(label: str) -> str:
    return f"{REPORT_KEY_PREFIX}uptimerobot:{label}"


def _issues_key(project: str, week: ReportWeek) -> str:
    return f"{REPORT_KEY_PREFIX}sentry:issues:{project}:{week.label}"


def _errors_key(project: str, week: ReportWeek) -> str:
    return f"{REPORT_KEY_PREFIX}sentry:errors:{project}:{week.label}"


def _performance_key(project: str, week: ReportWeek) -> str:
    return f"{REPORT_KEY_PREFIX}sentry:performance:{project}:{week.label}"
