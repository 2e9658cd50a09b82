"""Uptime maths: rounding, ratios, timelines from logs, windows and UTC daily bars."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models.status import UptimeSource
from app.models.upstream import LogType, MaintenanceWindow, Monitor, MonitorLog, MonitorStatus
from app.services.uptime import (
    SegmentState,
    build_monitor_timeline,
    combine_timelines,
    daily_uptime,
    expand_maintenance_window,
    in_maintenance,
    month_start,
    month_to_date_uptime,
    next_month_start,
    normalize_ratio,
    ratio_uptime,
    round_percent,
    tally,
    uptime_percent,
    window_uptime,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def log(kind: LogType, moment: datetime, duration_s: int | None = None) -> MonitorLog:
    return MonitorLog(type=kind, at=moment, duration_s=duration_s)


def monitor(
    logs: list[MonitorLog],
    status: MonitorStatus = MonitorStatus.UP,
    monitor_id: int = 1,
    windows: list[MaintenanceWindow] | None = None,
) -> Monitor:
    return Monitor(
        id=monitor_id,
        name=f"monitor {monitor_id}",
        status=status,
        logs=logs,
        maintenance_windows=windows or [],
    )


def outage_logs(start: datetime, outages: list[tuple[datetime, datetime]]) -> list[MonitorLog]:
    """Logs of a monitor started at ``start`` and down during each (sorted, disjoint) outage."""
    logs = [log(LogType.STARTED, start)]
    for down_at, up_at in outages:
        logs.append(log(LogType.DOWN, down_at, int((up_at - down_at).total_seconds())))
        logs.append(log(LogType.UP, up_at))
    return logs


# --- Rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(100), 100.0),
        (Fraction("99.9999"), 99.999),
        (Fraction("99.9995"), 99.999),
        (Fraction("99.9994"), 99.999),
        (Fraction(2350, 24), 97.917),
        (Fraction("50.0005"), 50.001),
        (Fraction("50.0004"), 50.0),
        (Fraction("0.0004"), 0.001),
        (Fraction(0), 0.0),
        (Fraction(101), 100.0),
        (Fraction(-1), 0.0),
    ],
)
def test_round_percent_table(value: Fraction, expected: float) -> None:
    assert round_percent(value) == expected


def test_uptime_percent_never_100_with_downtime() -> None:
    thirty_days = 30 * DAY

    assert uptime_percent(thirty_days, timedelta(seconds=1)) == 99.999


def test_uptime_percent_none_without_measured_time() -> None:
    assert uptime_percent(timedelta(0), timedelta(0)) is None


def test_uptime_percent_clamps_downtime_to_window() -> None:
    assert uptime_percent(HOUR, 2 * HOUR) == 0.0


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (100.0, 100.0),
        (0.0, 0.0),
        (None, None),
        (float("nan"), None),
        (99.998, 99.998),
        (99.9999, 99.999),
        (100.5, 100.0),
        (-2.0, 0.0),
    ],
)
def test_normalize_ratio_table(ratio: float | None, expected: float | None) -> None:
    assert normalize_ratio(ratio) == expected


def test_ratio_uptime_takes_minimum_per_window() -> None:
    as_of = at("2026-03-10T12:00:00")
    ratios: list[dict[int, float | None]] = [
        {1: 100.0, 7: 99.5, 30: 0.0, 90: None},
        {1: 99.9, 7: None, 30: 100.0, 90: None},
    ]

    figures = {figure.window: figure for figure in ratio_uptime(ratios, as_of)}

    assert figures["24h"].percent == 99.9
    assert figures["7d"].percent == 99.5
    assert figures["30d"].percent == 0.0
    assert figures["90d"].percent is None
    assert figures["7d"].source is UptimeSource.UPTIMEROBOT_RATIO
    assert figures["7d"].window_start == as_of - 7 * DAY
    assert figures["7d"].window_end == as_of


def test_ratio_uptime_lists_standard_windows_without_ratios() -> None:
    figures = ratio_uptime([{}], at("2026-03-10T12:00:00"))

    assert [figure.window for figure in figures] == ["24h", "7d", "30d", "90d"]
    assert all(figure.percent is None for figure in figures)


def test_ratio_uptime_keeps_time_zone_of_equal_instant() -> None:
    as_of = at("2026-03-10T12:00:00")
    berlin = as_of.astimezone(timezone(timedelta(hours=1)))

    in_utc = ratio_uptime([{1: 100.0}], as_of)
    in_berlin = ratio_uptime([{1: 100.0}], berlin)

    assert in_utc[0].window_end.utcoffset() == timedelta(0)
    assert in_berlin[0].window_end.utcoffset() == timedelta(hours=1)
    assert in_berlin[0].model_dump_json() != in_utc[0].model_dump_json()


def test_ratio_uptime_labels_custom_window() -> None:
    figures = ratio_uptime([{14: 99.0}], at("2026-03-10T12:00:00"))

    assert [figure.window for figure in figures] == ["24h", "7d", "14d", "30d", "90d"]


# --- Timelines and windows ---------------------------------------------------------------------


def test_down_log_with_duration_counts_as_downtime() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-02T00:00:00")
    logs = outage_logs(start, [(at("2026-03-01T10:00:00"), at("2026-03-01T10:30:00"))])

    timeline = build_monitor_timeline(monitor(logs), start, now)
    counts = tally(timeline, start, now)

    assert counts.down == 30 * MINUTE
    assert counts.up == DAY - 30 * MINUTE
    assert counts.no_data == timedelta(0)


def test_outage_spanning_window_edge_counts_inside_part() -> None:
    start = at("2026-02-27T00:00:00")
    now = at("2026-03-02T00:00:00")
    logs = outage_logs(start, [(at("2026-02-28T23:00:00"), at("2026-03-01T01:00:00"))])
    timeline = build_monitor_timeline(monitor(logs), start, now)

    figure = month_to_date_uptime(timeline, now)

    assert figure.window == "mtd"
    assert figure.source is UptimeSource.LOGS
    assert figure.window_start == at("2026-03-01T00:00:00")
    assert figure.downtime_s == 3600.0
    assert figure.measured_s == 86400.0
    assert figure.percent == 95.833


def test_paused_stretch_inside_outage_is_excluded() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T12:00:00")
    logs = [
        log(LogType.STARTED, start),
        log(LogType.DOWN, at("2026-03-01T10:00:00"), 600),
        log(LogType.PAUSED, at("2026-03-01T10:10:00"), 1200),
        log(LogType.STARTED, at("2026-03-01T10:30:00")),
        log(LogType.DOWN, at("2026-03-01T10:30:00"), 600),
        log(LogType.UP, at("2026-03-01T10:40:00")),
    ]
    timeline = build_monitor_timeline(monitor(logs), start, now)

    counts = tally(timeline, start, now)
    figure = window_uptime(timeline, start, now, "12h")

    assert counts.down == 20 * MINUTE
    assert counts.paused == 20 * MINUTE
    assert counts.measured == 12 * HOUR - 20 * MINUTE
    assert figure.percent == 97.143


def test_open_outage_runs_until_now() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T12:00:00")
    logs = [log(LogType.STARTED, start), log(LogType.DOWN, at("2026-03-01T11:00:00"), 300)]

    timeline = build_monitor_timeline(monitor(logs, MonitorStatus.DOWN), start, now)

    assert tally(timeline, start, now).down == HOUR


def test_closed_newest_down_log_uses_duration() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T12:00:00")
    logs = [log(LogType.STARTED, start), log(LogType.DOWN, at("2026-03-01T11:00:00"), 300)]

    timeline = build_monitor_timeline(monitor(logs, MonitorStatus.UP), start, now)
    counts = tally(timeline, start, now)

    assert counts.down == 5 * MINUTE
    assert counts.up == 12 * HOUR - 5 * MINUTE


def test_time_before_first_log_is_no_data() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-02T00:00:00")
    logs = [log(LogType.STARTED, at("2026-03-01T06:00:00"))]

    counts = tally(build_monitor_timeline(monitor(logs), start, now), start, now)

    assert counts.no_data == 6 * HOUR
    assert counts.up == 18 * HOUR


def test_monitor_without_logs_has_no_uptime() -> None:
    now = at("2026-03-10T00:00:00")
    timeline = build_monitor_timeline(monitor([]), month_start(now), now)

    assert month_to_date_uptime(timeline, now).percent is None


def test_two_monitors_down_at_once_count_once() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T12:00:00")
    first = monitor(
        outage_logs(start, [(at("2026-03-01T10:00:00"), at("2026-03-01T10:30:00"))]), monitor_id=1
    )
    second = monitor(
        outage_logs(start, [(at("2026-03-01T10:15:00"), at("2026-03-01T10:45:00"))]), monitor_id=2
    )
    timelines = [build_monitor_timeline(m, start, now) for m in (first, second)]

    combined = combine_timelines(timelines, start, now)
    counts = tally(combined, start, now)

    assert counts.down == 45 * MINUTE
    assert counts.up == 12 * HOUR - 45 * MINUTE


def test_downtime_of_group_never_exceeds_window() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T02:00:00")
    logs = [log(LogType.DOWN, start)]
    timelines = [
        build_monitor_timeline(monitor(logs, MonitorStatus.DOWN, monitor_id=i), start, now)
        for i in (1, 2, 3)
    ]

    counts = tally(combine_timelines(timelines, start, now), start, now)

    assert counts.down == 2 * HOUR
    assert uptime_percent(counts.measured, counts.down) == 0.0


def test_group_is_up_while_one_member_is_paused() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T02:00:00")
    paused = monitor([log(LogType.PAUSED, start)], MonitorStatus.PAUSED, monitor_id=1)
    running = monitor([log(LogType.STARTED, start)], monitor_id=2)
    timelines = [build_monitor_timeline(m, start, now) for m in (paused, running)]

    counts = tally(combine_timelines(timelines, start, now), start, now)

    assert counts.up == 2 * HOUR
    assert counts.paused == timedelta(0)


def test_group_of_paused_monitors_is_paused() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T02:00:00")
    paused = monitor([log(LogType.PAUSED, start)], MonitorStatus.PAUSED)

    combined = combine_timelines([build_monitor_timeline(paused, start, now)], start, now)

    assert [segment.state for segment in combined] == [SegmentState.PAUSED]


# --- Maintenance windows -----------------------------------------------------------------------


def test_once_window_is_excluded_from_measured_time() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-01T12:00:00")
    epoch = int(at("2026-03-01T10:00:00").timestamp())
    window = MaintenanceWindow(kind="once", start_time=str(epoch), duration_minutes=60, active=True)
    logs = outage_logs(start, [(at("2026-03-01T10:00:00"), at("2026-03-01T10:30:00"))])

    timeline = build_monitor_timeline(monitor(logs, windows=[window]), start, now)
    counts = tally(timeline, start, now)

    assert counts.maintenance == HOUR
    assert counts.down == timedelta(0)
    assert counts.measured == 11 * HOUR


@pytest.mark.parametrize(
    ("window", "expected_starts"),
    [
        (
            MaintenanceWindow(kind="daily", start_time="02:00", duration_minutes=30),
            [
                "2026-02-27T02:00:00",
                "2026-02-28T02:00:00",
                "2026-03-01T02:00:00",
                "2026-03-02T02:00:00",
                "2026-03-03T02:00:00",
            ],
        ),
        (
            # 2026-02-27 is a Friday (5) and 2026-03-02 a Monday (1).
            MaintenanceWindow(kind="weekly", start_time="02:00", value="1-5", duration_minutes=30),
            ["2026-02-27T02:00:00", "2026-03-02T02:00:00"],
        ),
        (
            MaintenanceWindow(kind="monthly", start_time="23:00", value="-1", duration_minutes=120),
            ["2026-02-28T23:00:00"],
        ),
        (
            MaintenanceWindow(
                kind="monthly", start_time="02:00", value="3-15", duration_minutes=30
            ),
            ["2026-03-03T02:00:00"],
        ),
        (
            MaintenanceWindow(kind="once", start_time="2026-03-01T05:00:00Z", duration_minutes=30),
            ["2026-03-01T05:00:00"],
        ),
        (MaintenanceWindow(kind="daily", start_time="soon", duration_minutes=30), []),
        (MaintenanceWindow(kind="daily", start_time="02:00", duration_minutes=None), []),
        (MaintenanceWindow(kind="yearly", start_time="02:00", duration_minutes=30), []),
    ],
)
def test_expand_maintenance_window_table(
    window: MaintenanceWindow, expected_starts: list[str]
) -> None:
    start = at("2026-02-27T00:00:00")
    end = at("2026-03-04T00:00:00")

    occurrences = expand_maintenance_window(window, start, end)

    assert [begin for begin, _ in occurrences] == [at(text) for text in expected_starts]


def test_in_maintenance_from_schedule() -> None:
    window = MaintenanceWindow(kind="daily", start_time="02:00", duration_minutes=30, active=True)
    subject = monitor([], windows=[window])

    assert in_maintenance(subject, at("2026-03-02T02:10:00"))
    assert not in_maintenance(subject, at("2026-03-02T02:30:00"))


def test_enabled_window_is_not_maintenance_outside_schedule() -> None:
    window = MaintenanceWindow(kind="weekly", start_time="bad", duration_minutes=30, active=True)

    assert not in_maintenance(monitor([], windows=[window]), at("2026-03-02T00:00:00"))


def test_paused_window_is_ignored() -> None:
    start = at("2026-03-02T00:00:00")
    now = at("2026-03-02T06:00:00")
    window = MaintenanceWindow(kind="daily", start_time="02:00", duration_minutes=30, active=False)
    subject = monitor([log(LogType.STARTED, start)], windows=[window])

    counts = tally(build_monitor_timeline(subject, start, now), start, now)

    assert not in_maintenance(subject, at("2026-03-02T02:10:00"))
    assert counts.maintenance == timedelta(0)
    assert counts.up == 6 * HOUR


# --- Months and days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "start", "following"),
    [
        ("2026-02-14T10:00:00", "2026-02-01T00:00:00", "2026-03-01T00:00:00"),
        ("2026-12-31T23:59:59", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("2028-02-29T12:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_month_boundaries_table(moment: str, start: str, following: str) -> None:
    assert month_start(at(moment)) == at(start)
    assert next_month_start(at(moment)) == at(following)


def test_month_start_converts_other_offsets_to_utc() -> None:
    moment = datetime.fromisoformat("2026-03-01T00:30:00+02:00")

    assert month_start(moment) == at("2026-02-01T00:00:00")


def _dst_case_buckets() -> list[tuple[date, float | None]]:
    start = at("2026-03-28T00:00:00")
    now = at("2026-03-30T23:59:59")
    logs = outage_logs(start, [(at("2026-03-29T01:30:00"), at("2026-03-29T02:00:00"))])
    timeline = build_monitor_timeline(monitor(logs), start, now)
    return [(bucket.day, bucket.percent) for bucket in daily_uptime(timeline, now, days=3)]


def test_daily_buckets_are_utc_days_across_dst() -> None:
    buckets = _dst_case_buckets()

    assert [day for day, _ in buckets] == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert buckets[0][1] == 100.0
    assert buckets[1][1] == 97.917
    assert buckets[2][1] == 100.0


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_daily_buckets_ignore_process_time_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    expected = _dst_case_buckets()

    with monkeypatch.context() as patch:
        patch.setenv("TZ", zone)
        time.tzset()
        in_zone = _dst_case_buckets()
    time.tzset()

    assert in_zone == expected


def test_outage_across_midnight_splits_between_days() -> None:
    start = at("2026-03-01T00:00:00")
    now = at("2026-03-03T00:00:00")
    logs = outage_logs(start, [(at("2026-03-01T23:00:00"), at("2026-03-02T02:00:00"))])
    timeline = build_monitor_timeline(monitor(logs), start, now)

    buckets = daily_uptime(timeline, now - timedelta(microseconds=1), days=2)

    assert [bucket.downtime_s for bucket in buckets] == [3600.0, 7200.0]
    assert [bucket.percent for bucket in buckets] == [95.833, 91.667]


def test_days_without_data_are_none() -> None:
    now = at("2026-03-10T12:00:00")
    logs = [log(LogType.STARTED, at("2026-03-09T00:00:00"))]
    timeline = build_monitor_timeline(monitor(logs), at("2026-03-01T00:00:00"), now)

    buckets = daily_uptime(timeline, now, days=4)

    assert [bucket.percent for bucket in buckets] == [None, None, 100.0, 100.0]
    assert buckets[-1].measured_s == 12 * 3600.0


def test_equal_daily_bars_are_shared() -> None:
    now = at("2026-03-10T12:00:00")
    logs = [log(LogType.STARTED, now - 100 * DAY)]
    first = daily_uptime(
        build_monitor_timeline(monitor(logs, monitor_id=1), now - 100 * DAY, now), now
    )
    second = daily_uptime(
        build_monitor_timeline(monitor(logs, monitor_id=2), now - 100 * DAY, now), now
    )

    assert first == second
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert {bar.percent for bar in first} == {100.0}


def test_status_page_has_one_bucket_per_day() -> None:
    now = at("2026-03-10T12:00:00")
    timeline = build_monitor_timeline(monitor([]), now - 100 * DAY, now)

    buckets = daily_uptime(timeline, now)

    assert len(buckets) == 90
    assert len({bucket.day for bucket in buckets}) == 90
    assert buckets[-1].day == date(2026, 3, 10)


# --- Properties --------------------------------------------------------------------------------

WINDOW_START = at("2026-03-01T00:00:00")
WINDOW_END = at("2026-03-02T00:00:00")
WINDOW_MINUTES = 24 * 60

minute_intervals = st.tuples(
    st.integers(min_value=0, max_value=WINDOW_MINUTES - 1),
    st.integers(min_value=1, max_value=WINDOW_MINUTES),
).map(lambda pair: (pair[0], min(pair[0] + pair[1], WINDOW_MINUTES)))


def _uptime_with_outages(outages: list[tuple[int, int]]) -> float | None:
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(outages):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    spans = [(WINDOW_START + b * MINUTE, WINDOW_START + e * MINUTE) for b, e in merged]
    logs = [log(LogType.STARTED, WINDOW_START)]
    for down_at, up_at in spans:
        logs.append(log(LogType.DOWN, down_at, int((up_at - down_at).total_seconds())))
        if up_at < WINDOW_END:
            logs.append(log(LogType.UP, up_at))
    status = MonitorStatus.DOWN if spans and spans[-1][1] == WINDOW_END else MonitorStatus.UP
    timeline = build_monitor_timeline(monitor(logs, status), WINDOW_START, WINDOW_END)
    return window_uptime(timeline, WINDOW_START, WINDOW_END, "24h").percent


@given(st.lists(minute_intervals, max_size=6))
def test_uptime_stays_within_bounds(outages: list[tuple[int, int]]) -> None:
    percent = _uptime_with_outages(outages)

    assert percent is not None
    assert 0.0 <= percent <= 100.0
    assert (percent == 100.0) == (not outages)


@given(st.lists(minute_intervals, max_size=5), minute_intervals)
def test_uptime_never_rises_with_more_downtime(
    outages: list[tuple[int, int]], extra: tuple[int, int]
) -> None:
    before = _uptime_with_outages(outages)
    after = _uptime_with_outages([*outages, extra])

    assert before is not None
    assert after is not None
    assert after <= before


@given(
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=10**12),
)
def test_uptime_percent_stays_within_bounds(measured_us: int, down_us: int) -> None:
    percent = uptime_percent(timedelta(microseconds=measured_us), timedelta(microseconds=down_us))

    assert percent is not None
    assert 0.0 <= percent <= 100.0
    assert (percent == 100.0) == (down_us == 0)
