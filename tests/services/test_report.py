"""The weekly report service: weeks, window seeding, targets, month budgets and sections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.models.report import IssueListings, ReportAlertRule, ReportData, ReportWeek
from app.models.snapshot import Freshness
from app.models.status import Priority
from app.models.upstream import (
    CountPoint,
    IssuesSnapshot,
    LogType,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    PerformanceStats,
    ResponseTimePoint,
    SentryIssue,
    SslInfo,
)
from app.services.report import (
    build_weekly_report,
    last_complete_week,
    months_touched,
    parse_week,
    week_containing,
)
from app.services.report_sections import daily_response_times, expiring_certificates
from app.services.report_window import seed_log

W49 = parse_week("2026-W49")
AFTER_W49 = datetime(2026, 12, 10, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": False,
        "poller_enabled": False,
        "uptimerobot_api_key": "test-key",
        "sentry_auth_token": "test-token",
        "sentry_org": "example",
        "jwt_secret": "a-test-signing-secret-of-forty-characters",
        "sentry_projects": ["backend", "frontend"],
    }
    values.update(overrides)
    return Settings(**values)


def log(kind: LogType, when: str, **fields: Any) -> MonitorLog:
    return MonitorLog(type=kind, at=at(when), **fields)


def monitor(
    logs: list[MonitorLog] | None = None,
    *,
    monitor_id: int = 1,
    name: str = "Backend API",
    ratio: float | None = 100.0,
    average_ms: float | None = 200.0,
    **fields: Any,
) -> Monitor:
    return Monitor(
        id=monitor_id,
        name=name,
        logs=logs or [],
        uptime_ratios={0: ratio},
        average_response_time_ms=average_ms,
        **fields,
    )


def snapshot(*monitors: Monitor) -> MonitorsSnapshot:
    return MonitorsSnapshot(monitors=list(monitors), total=len(monitors))


def report_data(**fields: Any) -> ReportData:
    values: dict[str, Any] = {"week": W49, "now": AFTER_W49}
    values.update(fields)
    return ReportData(**values)


def issue(issue_id: str, **fields: Any) -> SentryIssue:
    values: dict[str, Any] = {"id": issue_id, "title": f"Issue {issue_id}", "project_slug": "api"}
    values.update(fields)
    return SentryIssue(**values)


def listings(project: str, issues: list[SentryIssue]) -> IssueListings:
    listing = IssuesSnapshot(project=project, issues=issues)
    return IssueListings(project=project, by_events=listing, by_users=listing, newest=listing)


# --- Weeks -------------------------------------------------------------------------------------


def test_parse_week_spans_monday_to_monday_utc() -> None:
    week = parse_week("2026-W49")

    assert week.label == "2026-W49"
    assert week.start == at("2026-11-30T00:00")
    assert week.end == at("2026-12-07T00:00")


@pytest.mark.parametrize("text", ["2026-49", "abc", "", "2026-W4", "W49-2026", "2026-W049"])
def test_parse_week_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-Www"):
        parse_week(text)


@pytest.mark.parametrize("text", ["2026-W60", "2026-W00", "2025-W53", "9999-W52", "0000-W01"])
def test_parse_week_rejects_week_the_year_lacks(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-Www"):
        parse_week(text)


def test_parse_week_accepts_week_53_of_long_year() -> None:
    week = parse_week("2026-W53")

    assert week.start == at("2026-12-28T00:00")
    assert week.end == at("2027-01-04T00:00")


def test_previous_week_crosses_year() -> None:
    assert parse_week("2027-W01").previous() == parse_week("2026-W53")


def test_last_complete_week_is_the_one_before_now() -> None:
    assert last_complete_week(at("2026-12-04T16:00")).label == "2026-W48"
    assert last_complete_week(at("2026-12-07T00:00")).label == "2026-W49"


def test_week_containing_sunday_night() -> None:
    assert week_containing(at("2026-12-06T23:59:59")).label == "2026-W49"


def test_months_touched_by_week_across_month_end() -> None:
    assert months_touched(W49.start, W49.end) == [at("2026-11-01T00:00"), at("2026-12-01T00:00")]


# --- Seeding a window's first state ------------------------------------------------------------


def test_seed_takes_newest_known_log_before_start() -> None:
    known = [
        log(LogType.STARTED, "2026-10-01T00:00"),
        log(LogType.DOWN, "2026-11-29T22:00", reason_detail="Timeout"),
    ]

    seed = seed_log(monitor(), known, W49.start, W49.end)

    assert seed is not None
    assert seed.type is LogType.DOWN
    assert seed.at == W49.start
    assert seed.reason_detail == "Timeout"


def test_seed_before_first_down_log_is_up() -> None:
    window = monitor([log(LogType.DOWN, "2026-12-02T11:12")])

    seed = seed_log(window, [], W49.start, W49.end)

    assert seed is not None
    assert seed.type is LogType.UP


def test_seed_before_first_up_log_is_down() -> None:
    window = monitor([log(LogType.UP, "2026-11-30T00:30")])

    seed = seed_log(window, [], W49.start, W49.end)

    assert seed is not None
    assert seed.type is LogType.DOWN


def test_seed_before_started_log_is_no_data() -> None:
    window = monitor([log(LogType.STARTED, "2026-12-01T00:00")])

    assert seed_log(window, [], W49.start, W49.end) is None


@pytest.mark.parametrize(
    ("ratio", "expected"), [(100.0, LogType.UP), (99.5, LogType.UP), (0.0, LogType.DOWN)]
)
def test_seed_without_logs_follows_window_ratio(ratio: float, expected: LogType) -> None:
    seed = seed_log(monitor(ratio=ratio), [], W49.start, W49.end)

    assert seed is not None
    assert seed.type is expected


def test_seed_without_logs_or_ratio_is_no_data() -> None:
    assert seed_log(monitor(ratio=None), [], W49.start, W49.end) is None


# --- Targets -----------------------------------------------------------------------------------


def test_quiet_week_meets_uptime_with_no_incidents() -> None:
    data = report_data(monitors=snapshot(monitor()), previous_monitors=snapshot(monitor()))

    report = build_weekly_report(data, make_settings())

    uptime = report.targets[0]
    assert uptime.value == 100.0
    assert uptime.met is True
    assert uptime.change == 0.0
    assert report.incidents == []
    assert report.targets[3].value is None
    assert report.targets[3].reason == "no critical incident resolved in the week"


def test_outage_misses_uptime_and_counts_mttr() -> None:
    logs = [log(LogType.DOWN, "2026-12-02T11:12"), log(LogType.UP, "2026-12-02T11:50")]
    data = report_data(monitors=snapshot(monitor(logs)), previous_monitors=snapshot(monitor()))

    report = build_weekly_report(data, make_settings())

    uptime, _, _, mttr = report.targets
    # 38 minutes down of the week's 10,080 minutes.
    assert uptime.value == 99.623
    assert uptime.met is False
    assert uptime.change == -0.377
    assert mttr.value == 38.0
    assert mttr.met is True
    assert [incident.priority for incident in report.incidents] == [Priority.P0]
    assert report.incidents[0].started_at == at("2026-12-02T11:12")


def test_outage_open_at_week_start_starts_with_week() -> None:
    logs = [log(LogType.UP, "2026-11-30T00:30")]

    report = build_weekly_report(report_data(monitors=snapshot(monitor(logs))), make_settings())

    assert report.incidents[0].started_at == W49.start
    assert report.incidents[0].downtime_s == 30 * 60


def test_error_rate_takes_worst_project_over_week() -> None:
    performance = {
        "backend": PerformanceStats(project="backend", transaction_count=1000, failure_rate=0.02),
        "frontend": PerformanceStats(project="frontend", transaction_count=900, failure_rate=0.001),
    }
    previous = {
        "backend": PerformanceStats(project="backend", transaction_count=1000, failure_rate=0.004)
    }
    data = report_data(performance=performance, previous_performance=previous)

    target = build_weekly_report(data, make_settings()).targets[1]

    assert target.value == 2.0
    assert target.met is False
    assert target.previous_value == 0.4
    assert target.change == 1.6
    assert "backend" in target.method


def test_response_time_target_uses_slowest_public_monitor() -> None:
    fast = monitor(monitor_id=1, name="Frontend", average_ms=180.0)
    slow = monitor(monitor_id=2, name="Database health", average_ms=620.0)
    data = report_data(monitors=snapshot(fast, slow))

    target = build_weekly_report(data, make_settings()).targets[2]

    assert target.value == 620.0
    assert target.met is False
    assert "Database health" in target.method


# --- Month budgets -----------------------------------------------------------------------------


def test_budget_splits_downtime_at_month_end() -> None:
    # Down from 23:50 on 30 November to 00:20 on 1 December: 10 minutes fall in November
    # and 20 in December.
    down, up = log(LogType.DOWN, "2026-11-30T23:50"), log(LogType.UP, "2026-12-01T00:20")
    current = snapshot(monitor([log(LogType.STARTED, "2026-10-01T00:00"), down, up]))
    data = report_data(
        monitors=snapshot(monitor([down, up])),
        month_monitors={
            "2026-11": snapshot(monitor([down])),
            "2026-12": snapshot(monitor([up])),
        },
        current_monitors=current,
    )

    report = build_weekly_report(data, make_settings())

    november, december = report.budgets
    assert report.budget_month == "2026-12"
    assert (november.month, november.is_report_month) == ("2026-11", False)
    assert november.month_complete is True
    assert november.budget_total_min == 43.2
    assert november.budget_used_min == 10.0
    assert (december.month, december.is_report_month) == ("2026-12", True)
    assert december.budget_total_min == 44.64
    assert december.budget_used_min == 20.0
    assert december.window_end == W49.end
    assert report.incidents[0].downtime_s == 30 * 60


def test_budget_without_month_data_has_no_usage() -> None:
    data = report_data(week=parse_week("2026-W48"), monitors=snapshot(monitor()))

    budget = build_weekly_report(data, make_settings()).budgets[0]

    assert budget.month == "2026-11"
    assert budget.budget_total_min == 43.2
    assert budget.budget_used_min is None
    assert budget.reason == "no UptimeRobot data for this month"


def test_budget_month_of_week_ending_february_first() -> None:
    # 2027-W04 runs from 25 January to Monday 1 February 00:00, so it touches January only.
    week = parse_week("2027-W04")

    report = build_weekly_report(
        report_data(week=week, now=at("2027-02-02T00:00")), make_settings()
    )

    assert report.budget_month == "2027-01"
    assert [budget.month for budget in report.budgets] == ["2027-01"]


# --- Partial weeks and notes -------------------------------------------------------------------


def test_current_week_is_partial_up_to_now() -> None:
    now = at("2026-12-04T16:00")

    report = build_weekly_report(report_data(now=now), make_settings())

    assert report.partial is True
    assert report.as_of == now
    assert report.notes[0].startswith("Partial week: the data runs to 2026-12-04 16:00 UTC")


def test_unavailable_key_is_named_in_notes() -> None:
    missing = Freshness(
        key="report:uptimerobot:2026-W49", available=False, stale=True, last_error="timeout"
    )

    report = build_weekly_report(report_data(freshness=[missing]), make_settings())

    assert report.stale is True
    assert report.targets[0].reason == "no UptimeRobot data for the week"
    assert "No data for report:uptimerobot:2026-W49 (timeout)" in report.notes[0]


# --- Sections ----------------------------------------------------------------------------------


def test_error_spike_alert_marks_only_the_spike_day() -> None:
    counts = [
        CountPoint(at=W49.start + timedelta(days=day), count=500 if day == 2 else 100)
        for day in range(7)
    ]

    report = build_weekly_report(report_data(error_counts={"backend": counts}), make_settings())

    spikes = [alert for alert in report.alerts if alert.rule is ReportAlertRule.ERROR_SPIKE]
    assert [alert.at for alert in spikes] == [at("2026-12-02T00:00")]
    assert report.errors[0].total == 1100


def test_issue_sections_pick_new_and_regressed() -> None:
    issues = [
        issue("1", count=900, user_count=5, first_seen=at("2026-10-01T00:00")),
        issue("2", count=50, user_count=40, first_seen=at("2026-12-01T09:00")),
        issue("3", count=300, substatus="regressed", first_seen=at("2026-09-01T00:00")),
    ]

    report = build_weekly_report(
        report_data(issues={"api": listings("api", issues)}), make_settings()
    )

    assert [i.id for i in report.top_issues_by_events] == ["1", "3", "2"]
    assert [i.id for i in report.top_issues_by_users][:2] == ["2", "1"]
    assert [i.id for i in report.new_issues] == ["2"]
    assert report.new_issue_count == 1
    assert [i.id for i in report.regressed_issues] == ["3"]


def test_certificates_listed_within_alert_days_only() -> None:
    as_of = W49.end
    soon = monitor(monitor_id=1, ssl=SslInfo(expires_at=as_of + timedelta(days=10)))
    later = monitor(monitor_id=2, ssl=SslInfo(expires_at=as_of + timedelta(days=40)))

    rows = expiring_certificates([soon, later], as_of, 30)

    assert [row.monitor_id for row in rows] == [1]
    assert rows[0].days_left == 10.0


def test_daily_response_times_average_per_utc_day() -> None:
    points = [
        ResponseTimePoint(at=at("2026-11-30T01:00"), value_ms=100),
        ResponseTimePoint(at=at("2026-11-30T23:00"), value_ms=300),
        ResponseTimePoint(at=at("2026-12-01T12:00"), value_ms=250),
    ]
    days = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]

    daily = daily_response_times(monitor(response_times=points), days, W49.end)

    assert [day.average_ms for day in daily] == [200.0, 250.0, None]


def test_report_week_previous_keeps_seven_days() -> None:
    previous = W49.previous()

    assert previous == ReportWeek(
        label="2026-W48", start=at("2026-11-23T00:00"), end=at("2026-11-30T00:00")
    )
