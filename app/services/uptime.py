"""Uptime maths: monitor timelines from logs, windows, daily bars and UptimeRobot ratios.

A timeline is a sorted, gap-free list of segments, each in one state (up, down, paused,
maintenance, no data). Uptime over a window is up time over measured time, where measured time
leaves out maintenance, paused and no-data stretches. Days are UTC days, so every daily bucket
is 24 h whatever the host's or the reader's time zone.
"""

from __future__ import annotations

import bisect
import calendar
import functools
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction

from app.models.status import DailyUptime, UptimeFigure, UptimeSource
from app.models.upstream import LogType, MaintenanceWindow, Monitor, MonitorLog, MonitorStatus

RATIO_WINDOWS: dict[int, str] = {1: "24h", 7: "7d", 30: "30d", 90: "90d"}
STATUS_PAGE_DAYS = 90

_ZERO = timedelta(0)


class SegmentState(StrEnum):
    UP = "up"
    DOWN = "down"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"
    NO_DATA = "no_data"


MEASURED_STATES = frozenset({SegmentState.UP, SegmentState.DOWN})
# Iterating an enum class is slow, and tallies run once per day per component.
_SEGMENT_STATES = tuple(SegmentState)

# Figures and daily bars are frozen and mostly alike (a day fully up looks the same for every
# component), so equal ones are built once and shared. This bounds how many are kept.
_SHARED_FIGURES = 4096


@dataclass(frozen=True)
class Segment:
    """A stretch ``[start, end)`` in one state.

    ``down_ids`` and ``up_ids`` are the monitors down and up during the stretch. On a monitor's
    own timeline that is the monitor itself, and on a combined timeline every monitor of the
    group. ``causes`` contains the reason text of the down logs behind a down stretch.
    """

    start: datetime
    end: datetime
    state: SegmentState
    down_ids: frozenset[int] = frozenset()
    up_ids: frozenset[int] = frozenset()
    causes: tuple[str, ...] = ()

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


Timeline = list[Segment]


@dataclass(frozen=True)
class Tally:
    """Time in each state inside a window; time outside the timeline counts as no data."""

    window: timedelta
    up: timedelta = _ZERO
    down: timedelta = _ZERO
    paused: timedelta = _ZERO
    maintenance: timedelta = _ZERO
    no_data: timedelta = _ZERO

    @property
    def measured(self) -> timedelta:
        return self.up + self.down


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime
    state: SegmentState
    cause: str | None = None


@dataclass
class _Builder:
    segments: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        if segment.end <= segment.start:
            return
        last = self.segments[-1] if self.segments else None
        if (
            last is not None
            and last.end == segment.start
            and last.state == segment.state
            and last.down_ids == segment.down_ids
            and last.up_ids == segment.up_ids
        ):
            causes = last.causes + tuple(c for c in segment.causes if c not in last.causes)
            self.segments[-1] = replace(last, end=segment.end, causes=causes)
        else:
            self.segments.append(segment)


# --- Rounding ----------------------------------------------------------------------------------


def round_percent(value: Fraction) -> float:
    """Round an uptime percentage to 0.001, clamped to 0..100.

    Half-up rounding, except that a value below 100 never shows as 100.0 (it caps at 99.999)
    and a value above 0 never shows as 0.0 (it floors at 0.001), so any downtime stays visible.
    """
    if value >= 100:
        return 100.0
    if value <= 0:
        return 0.0
    thousandths = math.floor(value * 1000 + Fraction(1, 2))
    thousandths = min(max(thousandths, 1), 99_999)
    return thousandths / 1000


def uptime_percent(measured: timedelta, down: timedelta) -> float | None:
    """Return up time over measured time in percent, or ``None`` when nothing was measured."""
    measured_us = _microseconds(measured)
    if measured_us <= 0:
        return None
    down_us = min(max(_microseconds(down), 0), measured_us)
    if down_us == 0:
        return 100.0
    return round_percent(Fraction((measured_us - down_us) * 100, measured_us))


def normalize_ratio(value: float | None) -> float | None:
    """Round an UptimeRobot ratio like the log-based figures; ``None`` and NaN stay ``None``."""
    if value is None or not math.isfinite(value):
        return None
    return round_percent(Fraction(str(value)))


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# --- Monitor timelines -------------------------------------------------------------------------


_LOG_STATES: dict[LogType, SegmentState] = {
    LogType.UP: SegmentState.UP,
    LogType.STARTED: SegmentState.UP,
    LogType.DOWN: SegmentState.DOWN,
    LogType.PAUSED: SegmentState.PAUSED,
    LogType.UNKNOWN: SegmentState.NO_DATA,
}


def describe_cause(log: MonitorLog) -> str | None:
    """Join a down log's reason code and detail, for example ``503 Service Unavailable``."""
    parts = [part.strip() for part in (log.reason_code, log.reason_detail) if part]
    parts = [part for part in parts if part]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        return parts[1]
    return " ".join(parts) or None


def _still_in_state(log_type: LogType, status: MonitorStatus) -> bool:
    """Return whether the monitor's current status continues the state its newest log opened."""
    if status in (MonitorStatus.UNKNOWN, MonitorStatus.NOT_CHECKED):
        return True
    if log_type is LogType.DOWN:
        return status in (MonitorStatus.DOWN, MonitorStatus.SEEMS_DOWN)
    if log_type in (LogType.UP, LogType.STARTED):
        return status in (MonitorStatus.UP, MonitorStatus.SEEMS_DOWN)
    if log_type is LogType.PAUSED:
        return status is MonitorStatus.PAUSED
    return True


def _state_after_newest_log(status: MonitorStatus) -> SegmentState:
    if status is MonitorStatus.UP:
        return SegmentState.UP
    if status is MonitorStatus.PAUSED:
        return SegmentState.PAUSED
    return SegmentState.NO_DATA


def _log_spans(monitor: Monitor, now: datetime) -> list[_Span]:
    """Turn logs into state spans: each lasts ``duration_s`` but never past the next log.

    The newest log lasts until ``now`` while the monitor's status still matches it, because
    UptimeRobot measures its duration only up to the fetch. Otherwise it lasts ``duration_s``
    and the current status fills the rest.
    """
    logs = sorted((log for log in monitor.logs if log.at < now), key=lambda log: log.at)
    spans: list[_Span] = []
    for index, log in enumerate(logs):
        state = _LOG_STATES[log.type]
        cause = describe_cause(log) if log.type is LogType.DOWN else None
        by_duration = None if log.duration_s is None else log.at + timedelta(seconds=log.duration_s)
        if index + 1 < len(logs):
            end = logs[index + 1].at
            if by_duration is not None:
                end = min(end, by_duration)
            spans.append(_Span(log.at, end, state, cause))
            continue
        if by_duration is None or _still_in_state(log.type, monitor.status):
            spans.append(_Span(log.at, now, state, cause))
            continue
        end = min(by_duration, now)
        spans.append(_Span(log.at, end, state, cause))
        spans.append(_Span(end, now, _state_after_newest_log(monitor.status)))
    return spans


def build_monitor_timeline(monitor: Monitor, start: datetime, now: datetime) -> Timeline:
    """Build one monitor's timeline over ``[start, now)`` from its logs and maintenance windows.

    Time that no log covers is no data. Enabled maintenance windows override every other state.
    Paused windows are ignored for the whole history, because the data does not record when a
    window was paused.
    """
    builder = _Builder()
    cursor = start
    for span in _log_spans(monitor, now):
        span_start = max(span.start, start)
        if span.end <= span_start:
            continue
        builder.add(Segment(cursor, span_start, SegmentState.NO_DATA))
        down_ids = frozenset({monitor.id}) if span.state is SegmentState.DOWN else frozenset()
        up_ids = frozenset({monitor.id}) if span.state is SegmentState.UP else frozenset()
        causes = (span.cause,) if span.cause else ()
        builder.add(Segment(span_start, span.end, span.state, down_ids, up_ids, causes))
        cursor = span.end
    builder.add(Segment(cursor, now, SegmentState.NO_DATA))

    windows = [
        interval
        for window in monitor.maintenance_windows
        if window.active
        for interval in expand_maintenance_window(window, start, now)
    ]
    return _overlay_maintenance(builder.segments, windows)


def _overlay_maintenance(
    segments: Sequence[Segment], intervals: Iterable[tuple[datetime, datetime]]
) -> Timeline:
    merged = merge_intervals(intervals)
    if not merged:
        return list(segments)
    builder = _Builder()
    first = 0
    for segment in segments:
        while first < len(merged) and merged[first][1] <= segment.start:
            first += 1
        cursor = segment.start
        for begin, end in merged[first:]:
            if begin >= segment.end:
                break
            if end <= cursor:
                continue
            if begin > cursor:
                builder.add(replace(segment, start=cursor, end=begin))
            cut_end = min(end, segment.end)
            builder.add(Segment(max(begin, cursor), cut_end, SegmentState.MAINTENANCE))
            cursor = cut_end
        if cursor < segment.end:
            builder.add(replace(segment, start=cursor))
    return builder.segments


def merge_intervals(
    intervals: Iterable[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    """Sort intervals and merge the overlapping or touching ones; empty ones are dropped."""
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in sorted(item for item in intervals if item[1] > item[0]):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


# --- Maintenance windows -----------------------------------------------------------------------

_TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_time_of_day(text: str | None) -> time | None:
    match = _TIME_OF_DAY.match(text or "")
    if match is None:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second, tzinfo=UTC)


def _parse_days(text: str | None) -> set[int]:
    # Days are separated by "-", so a minus sign only counts at the start or after a separator:
    # "1-15" is days 1 and 15, "1--1" is day 1 and the last day.
    return {int(day) for day in re.findall(r"(?:^|(?<=[-,\s]))(-?\d+)", (text or "").strip())}


def _matches_day(kind: str, days: set[int], day: date) -> bool:
    if kind == "daily":
        return True
    if kind == "weekly":
        return day.isoweekday() in days
    if kind == "monthly":
        last_day = calendar.monthrange(day.year, day.month)[1]
        return day.day in days or (-1 in days and day.day == last_day)
    return False


def expand_maintenance_window(
    window: MaintenanceWindow, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """List the occurrences of a maintenance window that overlap ``[start, end)``.

    A ``once`` window starts at an epoch or ISO ``start_time``. ``daily``, ``weekly`` (days 1 =
    Monday to 7 = Sunday) and ``monthly`` (days 1..31, -1 = last day) windows start at
    ``HH:MM``. A window that cannot be parsed yields nothing.
    """
    # NOTE: the day numbering above is taken from UptimeRobot's v2 API reference as recalled,
    # not checked against a live account.
    if not window.duration_minutes or window.duration_minutes <= 0:
        return []
    length = timedelta(minutes=window.duration_minutes)
    kind = window.kind.strip().lower()
    if kind == "once":
        begin = _parse_instant(window.start_time)
        if begin is None or begin + length <= start or begin >= end:
            return []
        return [(begin, begin + length)]

    # NOTE: recurring windows are read as UTC. UptimeRobot schedules them in the account's time
    # zone, which this data does not carry, so a non-UTC account's windows land shifted.
    time_of_day = _parse_time_of_day(window.start_time)
    if time_of_day is None:
        return []
    days = _parse_days(window.value)
    occurrences: list[tuple[datetime, datetime]] = []
    day = (start - length).date() - timedelta(days=1)
    while day <= end.date():
        if _matches_day(kind, days, day):
            begin = datetime.combine(day, time_of_day)
            if begin < end and begin + length > start:
                occurrences.append((begin, begin + length))
        day += timedelta(days=1)
    return occurrences


def in_maintenance(monitor: Monitor, now: datetime) -> bool:
    """Return whether an occurrence of an enabled maintenance window covers ``now``."""
    # ``active`` is UptimeRobot's enabled flag, not "in progress", so the schedule decides.
    return any(
        expand_maintenance_window(window, now, now + timedelta(microseconds=1))
        for window in monitor.maintenance_windows
        if window.active
    )


# --- Combining and measuring -------------------------------------------------------------------


def combine_timelines(timelines: Sequence[Timeline], start: datetime, end: datetime) -> Timeline:
    """Combine monitor timelines into one for a group (a component or the whole system).

    The group is down while any monitor is down, so two monitors down at once count once. With
    none down, it is up while any monitor is up. With neither, the stretch is maintenance, paused
    or no data, in that order of precedence.
    """
    if end <= start:
        return []
    # A sweep over every segment boundary: each event swaps one monitor's current segment, so
    # the cost grows with the number of boundaries, not boundaries times monitors.
    events: list[tuple[datetime, bool, int, Segment]] = []
    for index, timeline in enumerate(timelines):
        for segment in timeline:
            begin, finish = max(segment.start, start), min(segment.end, end)
            if finish > begin:
                events.append((finish, False, index, segment))
                events.append((begin, True, index, segment))
    events.sort(key=lambda event: (event[0], event[1]))

    sweep = _Sweep()
    builder = _Builder()
    cursor = start
    for moment, group in itertools.groupby(events, key=lambda event: event[0]):
        if moment > cursor:
            builder.add(sweep.segment(cursor, moment))
            cursor = moment
        for _, starts, index, segment in group:
            if starts:
                sweep.enter(index, segment)
            else:
                sweep.leave(index, segment)
    if cursor < end:
        builder.add(sweep.segment(cursor, end))
    return builder.segments


@dataclass
class _Sweep:
    """The segments covering the current moment of a sweep, one per monitor timeline."""

    active: dict[int, Segment] = field(default_factory=dict)
    down: dict[int, Segment] = field(default_factory=dict)
    up: dict[int, frozenset[int]] = field(default_factory=dict)
    state_counts: dict[SegmentState, int] = field(
        default_factory=lambda: dict.fromkeys(_SEGMENT_STATES, 0)
    )

    def enter(self, index: int, segment: Segment) -> None:
        self.active[index] = segment
        self.state_counts[segment.state] += 1
        if segment.down_ids:
            self.down[index] = segment
        if segment.up_ids:
            self.up[index] = segment.up_ids

    def leave(self, index: int, segment: Segment) -> None:
        if self.active.get(index) is not segment:
            return
        del self.active[index]
        self.state_counts[segment.state] -= 1
        self.down.pop(index, None)
        self.up.pop(index, None)

    def segment(self, start: datetime, end: datetime) -> Segment:
        down_ids: frozenset[int] = frozenset().union(*(s.down_ids for s in self.down.values()))
        up_ids: frozenset[int] = frozenset().union(*self.up.values())
        causes: list[str] = []
        for segment in self.down.values():
            causes.extend(cause for cause in segment.causes if cause not in causes)
        if down_ids:
            state = SegmentState.DOWN
        elif up_ids:
            state = SegmentState.UP
        elif self.state_counts[SegmentState.MAINTENANCE]:
            state = SegmentState.MAINTENANCE
        elif self.state_counts[SegmentState.PAUSED]:
            state = SegmentState.PAUSED
        else:
            state = SegmentState.NO_DATA
        return Segment(start, end, state, down_ids, up_ids, tuple(causes))


def tally(timeline: Timeline, start: datetime, end: datetime) -> Tally:
    """Sum the time in each state inside ``[start, end)``."""
    return _tally_sorted(timeline, [segment.end for segment in timeline], start, end)


def _tally_sorted(
    timeline: Timeline, segment_ends: Sequence[datetime], start: datetime, end: datetime
) -> Tally:
    window = max(end - start, _ZERO)
    totals = dict.fromkeys(_SEGMENT_STATES, _ZERO)
    covered = _ZERO
    position = bisect.bisect_right(segment_ends, start)
    while position < len(timeline) and timeline[position].start < end:
        segment = timeline[position]
        overlap = min(segment.end, end) - max(segment.start, start)
        if overlap > _ZERO:
            totals[segment.state] += overlap
            covered += overlap
        position += 1
    return Tally(
        window=window,
        up=totals[SegmentState.UP],
        down=totals[SegmentState.DOWN],
        paused=totals[SegmentState.PAUSED],
        maintenance=totals[SegmentState.MAINTENANCE],
        no_data=totals[SegmentState.NO_DATA] + max(window - covered, _ZERO),
    )


def month_start(moment: datetime) -> datetime:
    """Return the start of ``moment``'s UTC month."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def next_month_start(moment: datetime) -> datetime:
    """Return the start of the UTC month after ``moment``'s."""
    start = month_start(moment)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def window_uptime(timeline: Timeline, start: datetime, end: datetime, label: str) -> UptimeFigure:
    """Compute the log-based uptime figure of ``timeline`` over ``[start, end)``."""
    counts = tally(timeline, start, end)
    return _shared_figure(
        window=label,
        source=UptimeSource.LOGS,
        percent=uptime_percent(counts.measured, counts.down),
        window_start=start,
        window_end=end,
        downtime_s=counts.down.total_seconds(),
        measured_s=counts.measured.total_seconds(),
    )


def _shared_figure(
    *,
    window: str,
    source: UptimeSource,
    percent: float | None,
    window_start: datetime,
    window_end: datetime,
    downtime_s: float | None = None,
    measured_s: float | None = None,
) -> UptimeFigure:
    # Equal datetimes in different time zones serialise differently, so the zones are part of
    # the cache key.
    return _cached_figure(
        window,
        source,
        percent,
        (window_start, window_start.tzinfo),
        (window_end, window_end.tzinfo),
        downtime_s,
        measured_s,
    )


@functools.lru_cache(maxsize=_SHARED_FIGURES, typed=True)
def _cached_figure(
    window: str,
    source: UptimeSource,
    percent: float | None,
    start: tuple[datetime, tzinfo | None],
    end: tuple[datetime, tzinfo | None],
    downtime_s: float | None,
    measured_s: float | None,
) -> UptimeFigure:
    return UptimeFigure(
        window=window,
        source=source,
        percent=percent,
        window_start=start[0],
        window_end=end[0],
        downtime_s=downtime_s,
        measured_s=measured_s,
    )


@functools.lru_cache(maxsize=_SHARED_FIGURES, typed=True)
def _shared_daily(
    day: date, percent: float | None, downtime_s: float, measured_s: float
) -> DailyUptime:
    return DailyUptime(day=day, percent=percent, downtime_s=downtime_s, measured_s=measured_s)


def month_to_date_uptime(timeline: Timeline, now: datetime) -> UptimeFigure:
    """Compute uptime from the start of the UTC month to ``now``, labelled ``mtd``."""
    return window_uptime(timeline, month_start(now), now, "mtd")


def daily_uptime(
    timeline: Timeline, now: datetime, days: int = STATUS_PAGE_DAYS
) -> list[DailyUptime]:
    """Compute one bucket per UTC day for the ``days`` days ending with ``now``'s day.

    An outage spanning midnight splits across both days. A day without measured time is
    ``None``, and today's bucket covers midnight to ``now`` only.
    """
    today = now.astimezone(UTC).date()
    segment_ends = [segment.end for segment in timeline]
    buckets: list[DailyUptime] = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        begin = datetime.combine(day, time(0, tzinfo=UTC))
        finish = min(begin + timedelta(days=1), now)
        counts = _tally_sorted(timeline, segment_ends, begin, finish)
        buckets.append(
            _shared_daily(
                day,
                uptime_percent(counts.measured, counts.down),
                counts.down.total_seconds(),
                counts.measured.total_seconds(),
            )
        )
    return buckets


# --- UptimeRobot ratios ------------------------------------------------------------------------


def ratio_label(days: int) -> str:
    return RATIO_WINDOWS.get(days, f"{days}d")


def ratio_uptime(ratios: Sequence[dict[int, float | None]], as_of: datetime) -> list[UptimeFigure]:
    """Turn UptimeRobot ratios into figures, taking the minimum over several monitors.

    The minimum equals the group's uptime when the monitors' outages overlap and is an upper
    bound otherwise, because ratios carry no timing. Log-based figures count overlaps exactly.
    Every standard window (24h, 7d, 30d, 90d) is present, ``None`` when no monitor reports it.
    """
    windows = sorted(set(RATIO_WINDOWS) | {days for ratio in ratios for days in ratio})
    figures: list[UptimeFigure] = []
    for days in windows:
        values = [normalize_ratio(ratio.get(days)) for ratio in ratios]
        known = [value for value in values if value is not None]
        figures.append(
            _shared_figure(
                window=ratio_label(days),
                source=UptimeSource.UPTIMEROBOT_RATIO,
                percent=min(known) if known else None,
                window_start=as_of - timedelta(days=days),
                window_end=as_of,
            )
        )
    return figures
