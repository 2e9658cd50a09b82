"""Rendering the weekly report: escaping upstream text, number formats and chart geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.config import Settings
from app.models.report import IssueListings, ReportData, WeeklyReport
from app.models.upstream import (
    IssuesSnapshot,
    Monitor,
    MonitorsSnapshot,
    ResponseTimePoint,
    SentryIssue,
)
from app.reports.render import (
    escape_markdown,
    format_change,
    format_duration,
    format_number,
    render_html,
    render_markdown,
    render_summary,
    response_time_chart,
)
from app.services.report import build_weekly_report, parse_week

WEEK = parse_week("2026-W48")
HOSTILE_TITLE = "Boom | <script>alert(1)</script> & *more*"


def build(**fields: Any) -> WeeklyReport:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, poller_enabled=False, sentry_projects=["backend"]
    )
    values: dict[str, Any] = {"week": WEEK, "now": datetime(2026, 12, 4, 16, tzinfo=UTC)}
    values.update(fields)
    return build_weekly_report(ReportData(**values), settings)


def hostile_report() -> WeeklyReport:
    issue = SentryIssue(id="7", title=HOSTILE_TITLE, project_slug="backend", count=3)
    listing = IssuesSnapshot(project="backend", issues=[issue])
    issues = IssueListings(project="backend", by_events=listing, by_users=listing, newest=listing)
    return build(issues={"backend": issues})


def test_markdown_escape_keeps_one_table_cell() -> None:
    assert escape_markdown("a | b\nc [d] *e*") == r"a \| b c \[d\] \*e\*"


def test_markdown_report_escapes_issue_title() -> None:
    text = render_markdown(hostile_report())

    assert r"Boom \| \<script\>alert(1)\</script\> & \*more\*" in text
    assert "<script>" not in text


def test_html_report_escapes_issue_title() -> None:
    page = render_html(hostile_report(), response_target_ms=500)

    assert "Boom | &lt;script&gt;alert(1)&lt;/script&gt; &amp; *more*" in page
    assert "<script>" not in page


def test_summary_escapes_slack_control_characters() -> None:
    report = hostile_report().model_copy(update={"title": "Report <!channel> & co"})

    assert render_summary(report).startswith("*Report &lt;!channel&gt; &amp; co*")


def test_number_formats_drop_trailing_zeros() -> None:
    assert format_number(99.9) == "99.9"
    assert format_number(43.2) == "43.2"
    assert format_number(1663) == "1,663"
    assert format_number(-0.0001, 3) == "0"
    assert format_number(None) == "–"


def test_change_shows_sign_and_points() -> None:
    assert format_change(-0.565, "percent") == "-0.565 pp"
    assert format_change(12.6, "ms") == "+12.6 ms"
    assert format_change(0.0, "min") == "0 min"
    assert format_change(None, "ms") == "–"


def test_duration_in_hours_and_minutes() -> None:
    assert format_duration(38 * 60) == "38 min"
    assert format_duration(3900) == "1 h 05 min"
    assert format_duration(42) == "42 s"


def test_chart_line_breaks_at_missing_day() -> None:
    points = [
        ResponseTimePoint(at=WEEK.start + timedelta(days=day, hours=12), value_ms=200.0)
        for day in (0, 1, 3)
    ]
    monitors = MonitorsSnapshot(
        monitors=[Monitor(id=1, name="API", response_times=points, average_response_time_ms=200)]
    )

    chart = response_time_chart(build(monitors=monitors), target_ms=500)

    assert chart is not None
    assert len(chart.lines) == 1
    assert len(chart.lines[0].segments) == 2
    assert len(chart.lines[0].dots) == 3
    assert chart.target_y is not None


def test_chart_absent_without_response_times() -> None:
    assert response_time_chart(build(), target_ms=500) is None
