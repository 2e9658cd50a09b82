"""Rendering of the public pages: status page view and HTML, badges, shields JSON, Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import pytest

from app.config import Settings
from app.models.api import PublicIncident
from app.models.snapshot import SystemSnapshot
from app.models.status import (
    Banner,
    ComponentState,
    ComponentStatus,
    DailyUptime,
    Incident,
    IncidentStatus,
    Indicator,
    MonitorRef,
    OverallStatus,
    Priority,
    SystemStatus,
    UptimeFigure,
    UptimeSource,
)
from app.services import pages
from app.services.public_view import public_incidents
from app.services.status import evaluate

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
TODAY = NOW.date()
PAGE_URL = "https://status.example.org/status"
SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(body: bytes) -> ET.Element:
    """Parse a badge. The input is Lookout's own output, so the stdlib parser is safe."""
    return ET.fromstring(body)  # noqa: S314


def base_status() -> SystemStatus:
    """A real evaluation of an empty snapshot, to be overridden field by field."""
    settings = Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]
    return evaluate(SystemSnapshot(taken_at=NOW), settings, NOW)


def figure(window: str, percent: float | None) -> UptimeFigure:
    return UptimeFigure(
        window=window,
        source=UptimeSource.UPTIMEROBOT_RATIO,
        percent=percent,
        window_start=NOW - timedelta(days=1),
        window_end=NOW,
    )


def full_days(percent: float = 100.0, days: int = 90) -> list[DailyUptime]:
    return [
        DailyUptime(
            day=TODAY - timedelta(days=offset),
            percent=percent,
            downtime_s=0.0,
            measured_s=86400.0,
        )
        for offset in range(days - 1, -1, -1)
    ]


def component(
    name: str = "API",
    state: ComponentState = ComponentState.OPERATIONAL,
    *,
    percent: float | None = 99.95,
    daily: list[DailyUptime] | None = None,
    message: str | None = None,
) -> ComponentStatus:
    return ComponentStatus(
        name=name,
        state=state,
        message=message,
        uptime=[figure(window, percent) for window in ("24h", "7d", "30d", "90d")],
        daily=full_days() if daily is None else daily,
    )


def incident(
    *,
    title: str = "API outage",
    started_at: datetime = NOW - timedelta(hours=2),
    resolved_at: datetime | None = None,
    cause: str = "Keyword 'success' not found at https://api.internal.test/health",
) -> Incident:
    end = resolved_at or NOW
    return Incident(
        id=f"inc_{int(started_at.timestamp())}",
        title=title,
        status=IncidentStatus.RESOLVED if resolved_at else IncidentStatus.INVESTIGATING,
        impact=Indicator.MAJOR,
        severity="high",
        priority=Priority.P1,
        started_at=started_at,
        resolved_at=resolved_at,
        duration_s=(end - started_at).total_seconds(),
        downtime_s=(end - started_at).total_seconds(),
        components=["API"],
        monitors=[MonitorRef(id=790_123_456, name="Backend health probe")],
        cause=cause,
    )


def system(
    components: list[ComponentStatus],
    *,
    incidents: list[Incident] | None = None,
    state: ComponentState = ComponentState.OPERATIONAL,
    description: str = "All Systems Operational",
    banner: str | None = None,
) -> SystemStatus:
    return base_status().model_copy(
        update={
            "components": components,
            "incidents": incidents or [],
            "overall": OverallStatus(
                indicator=Indicator.NONE, description=description, state=state
            ),
            "banner": Banner(message=banner, components=["API"]) if banner else None,
        }
    )


def render(status: SystemStatus, **options: Any) -> str:
    options.setdefault("updated_at", NOW - timedelta(seconds=30))
    options.setdefault("stale", False)
    page = pages.build_status_page(status, page_name="Example", **options)
    return pages.render_status_page(page).decode()


def rows(html: str) -> list[str]:
    return re.findall(r'data-component="([^"]+)"', html)


# --- Status page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (ComponentState.OPERATIONAL, "Operational"),
        (ComponentState.DEGRADED_PERFORMANCE, "Degraded performance"),
        (ComponentState.PARTIAL_OUTAGE, "Partial outage"),
        (ComponentState.MAJOR_OUTAGE, "Major outage"),
        (ComponentState.UNDER_MAINTENANCE, "Under maintenance"),
        (ComponentState.UNKNOWN, "No data"),
    ],
)
def test_component_state_shown_as_text(state: ComponentState, label: str) -> None:
    html = render(system([component(state=state)]))

    assert f'<span class="pill">{label}</span>' in html
    assert f'data-state="{state.value}"' in html


def test_overall_description_and_banner_shown() -> None:
    status = system(
        [component(state=ComponentState.MAJOR_OUTAGE)],
        state=ComponentState.MAJOR_OUTAGE,
        description="Major Service Outage",
        banner="The API is having trouble.",
    )

    html = render(status)

    assert "Major Service Outage</h2>" in html
    assert "<p>The API is having trouble.</p>" in html
    assert 'class="overall state-major_outage"' in html


def test_stale_notice_shown_when_stale() -> None:
    html = render(system([component()]), stale=True)

    assert 'data-role="stale-notice"' in html
    assert "This data may be out of date." in html


def test_stale_notice_absent_when_fresh() -> None:
    html = render(system([component()]), stale=False)

    assert "stale-notice" not in html


def test_update_time_shown_in_utc() -> None:
    html = render(system([component()]), updated_at=datetime(2026, 12, 4, 15, 59, tzinfo=UTC))

    assert '<time datetime="2026-12-04T15:59:00+00:00">2026-12-04 15:59 UTC</time>' in html


def test_missing_update_time_says_no_data_yet() -> None:
    html = render(system([component()]), updated_at=None)

    assert "No data has been received yet." in html


def test_no_incidents_says_so() -> None:
    html = render(system([component()]))

    assert "No active incidents." in html
    assert "No past incidents" in html
    assert "data-incident=" not in html


def test_active_incident_listed_in_public_wording() -> None:
    status = system([component()], incidents=[incident()])

    html = render(status)

    active = html.split('id="active-heading"')[1].split('id="past-heading"')[0]
    assert "API outage" in active
    assert "Investigating" in active
    assert "ongoing for 2 h." in active
    assert "Major impact on API." in active


def test_incident_cause_and_monitor_never_shown() -> None:
    status = system(
        [component()],
        incidents=[
            incident(),
            incident(
                title="Old",
                started_at=NOW - timedelta(days=3),
                resolved_at=NOW - timedelta(days=3) + timedelta(minutes=38),
            ),
        ],
    )

    html = render(status)

    assert "success" not in html
    assert "api.internal.test" not in html
    assert "790123456" not in html
    assert "Backend health probe" not in html


def test_resolved_incident_listed_as_past() -> None:
    started = NOW - timedelta(days=2)
    status = system(
        [component()],
        incidents=[incident(started_at=started, resolved_at=started + timedelta(minutes=38))],
    )

    html = render(status)

    past = html.split('id="past-heading"')[1]
    assert "Resolved" in past
    assert "after 38 min." in past
    assert "No active incidents." in html


def test_thirty_components_give_thirty_rows() -> None:
    components = [component(name=f"Service {index}") for index in range(30)]

    html = render(system(components))

    assert rows(html) == [f"service-{index}" for index in range(30)]


def test_day_without_data_is_no_data_bar() -> None:
    daily = full_days(days=90)
    daily[-3] = daily[-3].model_copy(update={"percent": None})

    page = pages.build_status_page(
        system([component(daily=daily)]), page_name="Example", updated_at=NOW, stale=False
    )

    bar = page.components[0].bars[-3]
    assert bar.level == "none"
    assert bar.label == f"{(TODAY - timedelta(days=2)).isoformat()}: no data"


def test_day_missing_from_daily_is_no_data_bar() -> None:
    bars = pages.day_bars(component(daily=full_days(days=10)), TODAY)

    assert len(bars) == 90
    assert {bar.level for bar in bars[:80]} == {"none"}
    assert {bar.level for bar in bars[80:]} == {"brightgreen"}


def test_bars_cover_ninety_days_ending_today() -> None:
    bars = pages.day_bars(component(), TODAY)

    assert len(bars) == pages.BAR_DAYS
    assert bars[0].day == TODAY - timedelta(days=89)
    assert bars[-1].day == TODAY
    assert bars[-1].label.startswith(f"{TODAY.isoformat()} (today so far): ")


def test_bar_label_names_day_and_uptime() -> None:
    daily = full_days()
    daily[-4] = daily[-4].model_copy(update={"percent": 99.912})

    html = render(system([component(daily=daily)]))

    label = f"{(TODAY - timedelta(days=3)).isoformat()}: 99.912 % uptime"
    assert f'title="{label}" aria-label="{label}"' in html


def test_bar_level_follows_uptime_thresholds() -> None:
    daily = full_days()
    daily[-2] = daily[-2].model_copy(update={"percent": 96.0})

    bars = pages.day_bars(component(daily=daily), TODAY)

    assert bars[-2].level == "orange"
    assert bars[-1].level == "brightgreen"


def test_uptime_figures_shown_per_window() -> None:
    html = render(system([component(percent=99.912)]))

    for label in ("24 hours", "7 days", "30 days", "90 days"):
        assert f"<dt>{label}</dt><dd>99.912 %</dd>" in html


def test_uptime_figure_without_data_says_no_data() -> None:
    html = render(system([component(percent=None)]))

    assert "<dt>30 days</dt><dd>no data</dd>" in html


def test_refresh_adds_meta_refresh() -> None:
    html = render(system([component()]), refresh_s=60)

    assert '<meta http-equiv="refresh" content="60">' in html


def test_page_without_refresh_has_no_meta_refresh() -> None:
    html = render(system([component()]))

    assert "http-equiv" not in html


def test_page_has_lang_headings_stream_hook() -> None:
    html = render(system([component()]))

    assert html.startswith('<!doctype html>\n<html lang="en">')
    assert '<main id="status" class="page" data-stream="/api/v1/status/stream"' in html
    assert "<h1>Example status</h1>" in html
    assert "<h3>API</h3>" in html
    assert "prefers-color-scheme: dark" in html
    assert '<script src="/status/live.js" defer></script>' in html
    assert "<script>" not in html


def test_component_name_is_html_escaped() -> None:
    html = render(system([component(name="<script>alert(1)</script> & co")]))

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


# --- Badges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "color"),
    [
        (ComponentState.OPERATIONAL, "green"),
        (ComponentState.DEGRADED_PERFORMANCE, "yellow"),
        (ComponentState.PARTIAL_OUTAGE, "orange"),
        (ComponentState.MAJOR_OUTAGE, "red"),
        (ComponentState.UNDER_MAINTENANCE, "blue"),
        (ComponentState.UNKNOWN, "lightgrey"),
    ],
)
def test_state_badge_color(state: ComponentState, color: str) -> None:
    badge = pages.component_badge(component(state=state))

    assert badge.color == color
    assert badge.is_error is (state is ComponentState.UNKNOWN)


@pytest.mark.parametrize(
    ("percent", "color"),
    [
        (100.0, "brightgreen"),
        (99.9, "brightgreen"),
        (99.899, "green"),
        (99.0, "green"),
        (98.999, "yellow"),
        (97.0, "yellow"),
        (96.999, "orange"),
        (95.0, "orange"),
        (94.999, "red"),
        (0.0, "red"),
        (None, "lightgrey"),
    ],
)
def test_uptime_color_thresholds(percent: float | None, color: str) -> None:
    assert pages.uptime_color(percent) == color


def test_status_badge_reads_overall_state() -> None:
    status = system([component()], state=ComponentState.PARTIAL_OUTAGE)

    badge = pages.status_badge(status)

    assert (badge.label, badge.message, badge.color) == ("status", "partial outage", "orange")


def test_uptime_badge_shows_truncated_percent() -> None:
    badge = pages.uptime_badge(component(percent=99.9996), "30d")

    assert badge.label == "API uptime 30d"
    assert badge.message == "99.99%"
    assert badge.color == "brightgreen"


def test_uptime_badge_without_data_is_grey_error() -> None:
    badge = pages.uptime_badge(component(percent=None), "7d")

    assert badge.message == "no data"
    assert badge.color == "lightgrey"
    assert badge.is_error is True


def test_svg_escapes_component_name() -> None:
    badge = pages.uptime_badge(component(name="A<&>B"), "30d")

    svg = pages.render_badge_svg(badge)

    assert b"A&lt;&amp;&gt;B" in svg
    root = parse_svg(svg)
    assert root.findtext(f"{SVG}title") == "A<&>B uptime 30d: 99.95%"
    assert root.get("aria-label") == "A<&>B uptime 30d: 99.95%"


def test_svg_badge_has_title_and_message_colour() -> None:
    svg = pages.render_badge_svg(pages.Badge(label="status", message="major outage", color="red"))

    root = parse_svg(svg)
    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == "status: major outage"
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert pages.BADGE_HEX["red"] in fills


def test_svg_badge_width_grows_with_text() -> None:
    short = parse_svg(pages.render_badge_svg(pages.Badge("status", "ok", "green")))
    long = parse_svg(
        pages.render_badge_svg(pages.Badge("status", "degraded performance", "yellow"))
    )

    assert int(long.get("width", "0")) > int(short.get("width", "0")) + 80


def test_text_width_wider_for_wide_letters() -> None:
    assert pages.text_width("mmmm") > pages.text_width("iiii") * 2
    assert pages.text_width("") == 0


def test_badge_text_colour_keeps_contrast() -> None:
    assert pages.text_color_on(pages.BADGE_HEX["brightgreen"]) == pages.DARK_TEXT
    assert pages.text_color_on(pages.BADGE_HEX["red"]) == pages.LIGHT_TEXT
    assert pages.text_color_on(pages.LABEL_COLOR) == pages.LIGHT_TEXT


def test_shields_json_has_endpoint_schema() -> None:
    body = pages.to_shields(pages.component_badge(component())).model_dump(by_alias=True)

    assert body == {
        "schemaVersion": 1,
        "label": "API",
        "message": "operational",
        "color": "green",
        "isError": False,
    }


def test_shields_json_is_error_without_data() -> None:
    badge = pages.component_badge(component(state=ComponentState.UNKNOWN))

    body = pages.to_shields(badge).model_dump(by_alias=True)

    assert body["isError"] is True
    assert body["message"] == "no data"


def test_find_component_by_slug() -> None:
    status = system([component(name="Web App"), component(name="API")])

    found = pages.find_component(status, "web-app")

    assert found is not None
    assert found.name == "Web App"
    assert pages.find_component(status, "missing") is None


# --- Formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "places", "text"),
    [
        (100.0, 3, "100"),
        (99.9996, 3, "99.999"),
        (99.912, 3, "99.912"),
        (99.9, 3, "99.9"),
        (99.91, 2, "99.91"),
        (99.999, 2, "99.99"),
        (0.0, 3, "0"),
    ],
)
def test_format_percent_truncates(percent: float, places: int, text: str) -> None:
    assert pages.format_percent(percent, places=places) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45 s"),
        (2280, "38 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400 * 3 + 3600 * 4, "3 d 4 h"),
        (86400, "1 d"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert pages.format_duration(seconds) == text


# --- Atom feed ---------------------------------------------------------------------------------


def feed_incidents() -> list[PublicIncident]:
    first = NOW - timedelta(days=5)
    second = NOW - timedelta(days=2)
    return public_incidents(
        [
            incident(started_at=NOW - timedelta(minutes=20)),
            incident(
                title="API outage", started_at=second, resolved_at=second + timedelta(hours=1)
            ),
            incident(title="Slow API", started_at=first, resolved_at=first + timedelta(minutes=5)),
        ],
        active_only=False,
    )


def parse_feed(body: bytes) -> Any:
    return feedparser.parse(body)


def test_feed_is_valid_atom() -> None:
    body = pages.build_feed(feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW)

    parsed = parse_feed(body)

    assert parsed.bozo == 0
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Example status: incidents"
    assert parsed.feed.id == "tag:status.example.org,2026:incidents"
    assert parsed.feed.updated == "2026-12-04T15:40:00Z"


def test_feed_entries_newest_change_first() -> None:
    body = pages.build_feed(feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW)

    entries = parse_feed(body).entries

    updated = [entry.updated_parsed for entry in entries]
    assert updated == sorted(updated, reverse=True)
    assert [entry.title for entry in entries] == [
        "API outage (investigating)",
        "API outage (resolved)",
        "Slow API (resolved)",
    ]


def test_feed_entry_ids_unique_and_stable() -> None:
    first = pages.build_feed(
        feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW
    )
    second = pages.build_feed(
        feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW + timedelta(hours=1)
    )

    ids = [entry.id for entry in parse_feed(first).entries]
    assert len(set(ids)) == len(ids) == 3
    assert all(entry_id.startswith("tag:status.example.org,2026:incident:") for entry_id in ids)
    assert ids == [entry.id for entry in parse_feed(second).entries]


def test_feed_entries_have_times_summary_and_link() -> None:
    body = pages.build_feed(feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW)

    entry = parse_feed(body).entries[1]

    assert entry.updated == "2026-12-02T17:00:00Z"
    assert entry.published == "2026-12-02T16:00:00Z"
    assert entry.summary == (
        "Resolved: API outage affected API from 2026-12-02 16:00 UTC to 2026-12-02 17:00 UTC (1 h)."
    )
    assert entry.link.startswith(PAGE_URL + "#inc_")


def test_feed_has_self_link_and_author() -> None:
    body = pages.build_feed([], page_name="Example", page_url=PAGE_URL, data_time=NOW)

    parsed = parse_feed(body)

    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "https://status.example.org/feed.atom"
    assert links["alternate"] == PAGE_URL
    assert parsed.feed.author == "Example"


def test_feed_without_incidents_uses_data_time() -> None:
    data_time = datetime(2026, 12, 4, 15, 59, 30, tzinfo=UTC)

    parsed = parse_feed(
        pages.build_feed([], page_name="Example", page_url=PAGE_URL, data_time=data_time)
    )

    assert parsed.bozo == 0
    assert parsed.entries == []
    assert parsed.feed.updated == "2026-12-04T15:59:30Z"


def test_feed_escapes_text() -> None:
    incidents = public_incidents(
        [incident(title="<b>API</b> & more", started_at=NOW - timedelta(hours=1))],
        active_only=False,
    )

    body = pages.build_feed(incidents, page_name="A & B", page_url=PAGE_URL, data_time=NOW)

    parsed = parse_feed(body)
    assert parsed.bozo == 0
    assert b"&lt;b&gt;API&lt;/b&gt; &amp; more" in body
    assert parsed.feed.author == "A & B"


def test_feed_leaks_no_cause_or_monitor() -> None:
    body = pages.build_feed(feed_incidents(), page_name="Example", page_url=PAGE_URL, data_time=NOW)

    assert b"success" not in body
    assert b"api.internal.test" not in body
    assert b"790123456" not in body
    assert b"Backend health probe" not in body


def test_tag_uri_uses_page_host_only() -> None:
    uri = pages.tag_uri("https://status.example.org:8443/status?x=1", "incidents")

    assert uri == "tag:status.example.org,2026:incidents"


def test_daily_dates_are_utc_days() -> None:
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    status = system([component()]).model_copy(update={"generated_at": late})

    page = pages.build_status_page(status, page_name="Example", updated_at=late, stale=False)

    assert page.components[0].bars[-1].day == date(2026, 12, 4)
