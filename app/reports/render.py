"""Render a ``WeeklyReport`` as Markdown, as a short chat summary, or as one HTML page.

The templates live in ``app/templates``. HTML is autoescaped, and the Markdown filter escapes
the characters that would break a table or start formatting, so an issue title from Sentry
renders as text in both. The HTML page is self-contained: inline CSS and inline SVG charts
whose geometry is computed here, so it can be mailed, archived or printed as is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import jinja2

from app.models.report import MonthBudget, ReportTarget, WeeklyReport

CHART_WIDTH = 720
CHART_HEIGHT = 240
CHART_LEFT = 56
CHART_RIGHT = 40
CHART_TOP = 16
CHART_BOTTOM = 32
# Colors with enough contrast on white and in grey print.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
_UNIT_SUFFIX = {"percent": " %", "ms": " ms", "min": " min"}
_CHANGE_SUFFIX = {"percent": " pp", "ms": " ms", "min": " min"}
_TARGET_LABELS = {
    "uptime": "Uptime",
    "error_rate": "Error rate",
    "response_time": "Response time",
    "mttr": "MTTR",
}


# --- Formatting filters ------------------------------------------------------------------------


def format_number(value: float | None, digits: int = 3) -> str:
    """Format with at most ``digits`` decimals and no trailing zeros; ``None`` is a dash."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    digits = 4 if unit == "percent" else 1
    return format_number(value, digits) + _UNIT_SUFFIX.get(unit, f" {unit}")


def format_change(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    sign = "+" if value > 0 else ""
    digits = 4 if unit == "percent" else 1
    return sign + format_number(value, digits) + _CHANGE_SUFFIX.get(unit, f" {unit}")


def format_target(target: ReportTarget) -> str:
    comparison = "≥" if target.name == "uptime" else "<"
    return f"{comparison} {format_number(target.target, 4)}{_UNIT_SUFFIX.get(target.unit, '')}"


def target_label(target: ReportTarget) -> str:
    return _TARGET_LABELS.get(target.name, target.name)


def verdict(met: bool | None) -> str:
    if met is None:
        return "no data"
    return "met" if met else "missed"


def format_moment(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M")


def format_day(value: date) -> str:
    return value.strftime("%a %m-%d")


def format_duration(seconds: float | None) -> str:
    """Format a duration as ``1 h 05 min`` or ``38 min``; under a minute as seconds."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def escape_markdown(value: object) -> str:
    """Escape Markdown syntax and pipes, and fold newlines, so a value stays one table cell."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def escape_slack(value: object) -> str:
    """Escape the three characters Slack's message format reserves."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def budget_window(budget: MonthBudget) -> str:
    end = "month end" if budget.month_complete else format_moment(budget.window_end)
    return f"{format_moment(budget.window_start)} to {end}"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("app", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        {
            "number": format_number,
            "value": format_value,
            "change": format_change,
            "target": format_target,
            "label": target_label,
            "verdict": verdict,
            "moment": format_moment,
            "day": format_day,
            "duration": format_duration,
            "md": escape_markdown,
            "slack": escape_slack,
            "budget_window": budget_window,
        }
    )
    return environment


# --- Charts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineSeries:
    name: str
    color: str
    segments: list[str]
    dots: list[tuple[float, float]]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str


@dataclass(frozen=True)
class Chart:
    """Geometry of one SVG chart: plot area, axis ticks, and lines or bars in pixels."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[LineSeries]
    bars: list[Bar]
    legend: list[tuple[str, str]]
    target_y: float | None = None
    target_label: str | None = None


def _nice_ceiling(value: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten, so axis labels stay short."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _y_axis(maximum: float, plot_top: float, plot_bottom: float) -> tuple[float, list[Tick]]:
    top_value = _nice_ceiling(maximum)
    ticks = [
        Tick(
            position=plot_bottom - (plot_bottom - plot_top) * share,
            label=format_number(top_value * share, 1),
        )
        for share in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    return top_value, ticks


def response_time_chart(report: WeeklyReport, target_ms: float) -> Chart | None:
    """Daily average response time per monitor, one line each, with the target as a rule."""
    monitors = [m for m in report.monitors if any(d.average_ms is not None for d in m.daily)]
    if not monitors:
        return None
    days = [day.day for day in monitors[0].daily]
    plot_left, plot_right = CHART_LEFT, CHART_WIDTH - CHART_RIGHT
    plot_top, plot_bottom = CHART_TOP, CHART_HEIGHT - CHART_BOTTOM
    step = (plot_right - plot_left) / max(len(days) - 1, 1)
    values = [d.average_ms for m in monitors for d in m.daily if d.average_ms is not None]
    top_value, y_ticks = _y_axis(max([*values, target_ms]), plot_top, plot_bottom)

    def y_of(value: float) -> float:
        return round(plot_bottom - (plot_bottom - plot_top) * value / top_value, 1)

    lines = []
    for index, monitor in enumerate(monitors):
        segments: list[str] = []
        current: list[str] = []
        dots = []
        for position, day in enumerate(monitor.daily):
            if day.average_ms is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            point = (round(plot_left + step * position, 1), y_of(day.average_ms))
            dots.append(point)
            current.append(f"{point[0]},{point[1]}")
        if current:
            segments.append(" ".join(current))
        lines.append(LineSeries(monitor.name, PALETTE[index % len(PALETTE)], segments, dots))

    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=plot_left,
        right=plot_right,
        top=plot_top,
        bottom=plot_bottom,
        x_ticks=[
            Tick(round(plot_left + step * i, 1), format_day(day)) for i, day in enumerate(days)
        ],
        y_ticks=y_ticks,
        lines=lines,
        bars=[],
        legend=[(line.name, line.color) for line in lines],
        target_y=y_of(target_ms),
        target_label=f"target {format_number(target_ms, 1)} ms",
    )


def error_chart(report: WeeklyReport) -> Chart | None:
    """Daily error events per Sentry project, as grouped bars."""
    projects = [row for row in report.errors if any(d.count is not None for d in row.daily)]
    if not projects:
        return None
    days = [day.day for day in projects[0].daily]
    plot_left, plot_right = CHART_LEFT, CHART_WIDTH - CHART_RIGHT
    plot_top, plot_bottom = CHART_TOP, CHART_HEIGHT - CHART_BOTTOM
    slot = (plot_right - plot_left) / len(days)
    bar_width = slot * 0.8 / len(projects)
    counts = [d.count for row in projects for d in row.daily if d.count is not None]
    top_value, y_ticks = _y_axis(float(max(counts)), plot_top, plot_bottom)

    bars = []
    for index, row in enumerate(projects):
        color = PALETTE[index % len(PALETTE)]
        for position, day in enumerate(row.daily):
            if day.count is None:
                continue
            height = (plot_bottom - plot_top) * day.count / top_value
            bars.append(
                Bar(
                    x=round(plot_left + slot * position + slot * 0.1 + bar_width * index, 1),
                    y=round(plot_bottom - height, 1),
                    width=round(bar_width, 1),
                    height=round(height, 1),
                    color=color,
                    label=f"{row.project} {format_day(day.day)}: {day.count} errors",
                )
            )

    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=plot_left,
        right=plot_right,
        top=plot_top,
        bottom=plot_bottom,
        x_ticks=[
            Tick(round(plot_left + slot * (i + 0.5), 1), format_day(day))
            for i, day in enumerate(days)
        ],
        y_ticks=y_ticks,
        lines=[],
        bars=bars,
        legend=[(row.project, PALETTE[i % len(PALETTE)]) for i, row in enumerate(projects)],
    )


# --- Rendering ---------------------------------------------------------------------------------


def _report_month(budgets: Sequence[MonthBudget]) -> MonthBudget | None:
    return next((budget for budget in budgets if budget.is_report_month), None)


def render_markdown(report: WeeklyReport) -> str:
    """Render the whole report as Markdown (GitHub-flavoured tables)."""
    template = _environment().get_template("report.md.j2")
    return template.render(report=report, budget=_report_month(report.budgets))


def render_summary(report: WeeklyReport) -> str:
    """Render a short summary for a chat webhook: targets, budget, incidents, alerts."""
    template = _environment().get_template("report_summary.md.j2")
    return template.render(report=report, budget=_report_month(report.budgets))


def render_html(report: WeeklyReport, *, response_target_ms: float) -> str:
    """Render the report as one self-contained HTML page with inline CSS and SVG charts."""
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        budget=_report_month(report.budgets),
        response_chart=response_time_chart(report, response_target_ms),
        error_chart=error_chart(report),
    )
