"""Render the public pages: the HTML status page, SVG and shields.io badges, and the Atom feed.

Everything here is built from the evaluated ``SystemStatus`` of one snapshot and the public
incident wording, so the pages show exactly what ``GET /api/v1/status`` shows and never a
monitor URL, id, keyword, error text or Sentry title. The functions read no clock, and their
only I/O is loading the packaged templates once. The same inputs give the same bytes, so
ETags stay stable until the snapshot changes.
"""

from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cache
from typing import Literal
from urllib.parse import urljoin, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from app.models.api import PublicIncident
from app.models.status import ComponentState, ComponentStatus, SystemStatus
from app.services.public_view import PUBLIC_UPTIME_WINDOWS, public_incidents, slugify

UptimeWindow = Literal["24h", "7d", "30d", "90d"]

BAR_DAYS = 90
MAX_LISTED_INCIDENTS = 20

STATE_LABELS: dict[ComponentState, str] = {
    ComponentState.OPERATIONAL: "Operational",
    ComponentState.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
    ComponentState.UNDER_MAINTENANCE: "Under maintenance",
    ComponentState.UNKNOWN: "No data",
}

# Named colours of shields.io, so the JSON endpoint and the SVG badges agree.
STATE_COLORS: dict[ComponentState, str] = {
    ComponentState.OPERATIONAL: "green",
    ComponentState.DEGRADED_PERFORMANCE: "yellow",
    ComponentState.PARTIAL_OUTAGE: "orange",
    ComponentState.MAJOR_OUTAGE: "red",
    ComponentState.UNDER_MAINTENANCE: "blue",
    ComponentState.UNKNOWN: "lightgrey",
}

BADGE_HEX: dict[str, str] = {
    "brightgreen": "#44cc11",
    "green": "#97ca00",
    "yellow": "#dfb317",
    "orange": "#fe7d37",
    "red": "#e05d44",
    "blue": "#007ec6",
    "lightgrey": "#9f9f9f",
    "grey": "#555555",
}

UPTIME_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (99.9, "brightgreen"),
    (99.0, "green"),
    (97.0, "yellow"),
    (95.0, "orange"),
)

WINDOW_LABELS: dict[str, str] = {
    "24h": "24 hours",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
}

LABEL_COLOR = "#555555"
DARK_TEXT = "#333333"
LIGHT_TEXT = "#ffffff"

ATOM_NS = "http://www.w3.org/2005/Atom"
SVG_NS = "http://www.w3.org/2000/svg"

# Tag URIs (RFC 4151) pair a host with a date on which the publisher owned it. A fixed year keeps
# every feed and entry id the same across restarts and releases.
TAG_URI_DATE = "2026"


# --- Formatting --------------------------------------------------------------------------------


def format_percent(percent: float, *, places: int = 3) -> str:
    """Format ``percent`` truncated (never rounded up) to ``places``, without trailing zeros.

    Truncation keeps 99.9996 from showing as 100, which would claim no downtime at all.
    """
    quantum = Decimal(1).scaleb(-places)
    text = f"{Decimal(str(percent)).quantize(quantum, rounding=ROUND_DOWN):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float) -> str:
    """Format a duration for people: ``45 s``, ``38 min``, ``2 h 5 min``, ``3 d 4 h``."""
    total = max(int(seconds), 0)
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_utc(moment: datetime) -> str:
    """Format an aware datetime as ``2026-12-04 16:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- Colours -----------------------------------------------------------------------------------


def uptime_color(percent: float | None) -> str:
    """Pick the shields.io colour name for an uptime percentage.

    At least 99.9 is ``brightgreen``, at least 99 ``green``, at least 97 ``yellow``, at least 95
    ``orange``, anything lower ``red``, and ``lightgrey`` when there is no data.
    """
    if percent is None:
        return "lightgrey"
    for threshold, color in UPTIME_THRESHOLDS:
        if percent >= threshold:
            return color
    return "red"


def state_color(state: ComponentState) -> str:
    """Pick the shields.io colour name for a component state.

    Operational is green, degraded performance yellow, partial outage orange, major outage red,
    under maintenance blue and unknown (no data) lightgrey.
    """
    return STATE_COLORS[state]


def _relative_luminance(hex_color: str) -> float:
    channels = [int(hex_color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(background: str) -> str:
    """Pick white or dark grey text, whichever contrasts more with ``background`` (WCAG 2)."""
    if _contrast(background, LIGHT_TEXT) >= _contrast(background, DARK_TEXT):
        return LIGHT_TEXT
    return DARK_TEXT


# --- Badges ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """Text and colour of a badge: label on the left, message on a coloured right side."""

    label: str
    message: str
    color: str
    is_error: bool = False


class ShieldsEndpoint(BaseModel):
    """The shields.io endpoint badge schema (version 1)."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "schemaVersion": 1,
                "label": "API",
                "message": "operational",
                "color": "brightgreen",
                "isError": False,
            }
        },
    )

    schema_version: Literal[1] = Field(
        default=1, alias="schemaVersion", description="Version of the badge schema: always 1."
    )
    label: str = Field(description="Left-hand text: the component name.")
    message: str = Field(description="Right-hand text: the component state.")
    color: str = Field(description="A shields.io colour name.")
    is_error: bool = Field(
        default=False, alias="isError", description="True when there is no data to show."
    )


def find_component(status: SystemStatus, slug: str) -> ComponentStatus | None:
    """Find the public component whose slug (``slugify(name)``) is ``slug``."""
    for component in status.components:
        if slugify(component.name) == slug:
            return component
    return None


def status_badge(status: SystemStatus) -> Badge:
    """Build the overall-state badge, such as ``status | operational``."""
    state = status.overall.state
    return Badge(
        label="status",
        message=STATE_LABELS[state].lower(),
        color=state_color(state),
        is_error=state is ComponentState.UNKNOWN,
    )


def no_data_badge(label: str = "status") -> Badge:
    """Build the badge shown before any upstream data exists: ``label`` and a grey ``no data``."""
    state = ComponentState.UNKNOWN
    return Badge(label=label, message="no data", color=state_color(state), is_error=True)


def component_badge(component: ComponentStatus) -> Badge:
    """Build one component's state badge, labelled with the component's public name."""
    return Badge(
        label=component.name,
        message=STATE_LABELS[component.state].lower(),
        color=state_color(component.state),
        is_error=component.state is ComponentState.UNKNOWN,
    )


def uptime_badge(component: ComponentStatus, window: UptimeWindow) -> Badge:
    """Build one component's uptime badge over ``window``, coloured by ``uptime_color``."""
    percent = next((figure.percent for figure in component.uptime if figure.window == window), None)
    message = "no data" if percent is None else f"{format_percent(percent, places=2)}%"
    return Badge(
        label=f"{component.name} uptime {window}",
        message=message,
        color=uptime_color(percent),
        is_error=percent is None,
    )


def to_shields(badge: Badge) -> ShieldsEndpoint:
    return ShieldsEndpoint(
        label=badge.label, message=badge.message, color=badge.color, is_error=badge.is_error
    )


def render_shields(badge: Badge) -> bytes:
    """Serialise ``badge`` in the shields.io endpoint schema, with its camelCase keys."""
    return to_shields(badge).model_dump_json(by_alias=True).encode()


def text_width(text: str) -> float:
    """Estimate the width in pixels of ``text`` in 11 px Verdana, the badge font.

    An estimate by character class, not real font metrics. Each side of the text gets 5 px of
    padding, so a small error only shifts the margins.
    """
    width = 0.0
    for char in text:
        if char in "iljI!|.,:;'`":
            width += 3.2
        elif char in "frt()[]{}/ -":
            width += 4.4
        elif char in "mwMW%@":
            width += 10.2
        elif char in "<>=+~&#_":
            width += 8.6
        elif char.isdigit():
            width += 7.0
        elif char.isascii() and char.isupper():
            width += 7.6
        elif char.isascii():
            width += 6.6
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += 11.0
        else:
            width += 7.5
    return width


def render_badge_svg(badge: Badge) -> bytes:
    """Render ``badge`` as a flat SVG badge with a ``<title>`` and an accessible name.

    Built with ElementTree, so any text (a component name with ``<&>``, say) is escaped.
    """
    background = BADGE_HEX.get(badge.color, BADGE_HEX["lightgrey"])
    label_width = round(text_width(badge.label)) + 10
    message_width = round(text_width(badge.message)) + 10
    width = label_width + message_width
    name = f"{badge.label}: {badge.message}"

    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": "20",
            "role": "img",
            "aria-label": name,
        },
    )
    ET.SubElement(svg, "title").text = name
    clip = ET.SubElement(svg, "clipPath", {"id": "r"})
    ET.SubElement(clip, "rect", {"width": str(width), "height": "20", "rx": "3"})
    shapes = ET.SubElement(svg, "g", {"clip-path": "url(#r)"})
    ET.SubElement(shapes, "rect", {"width": str(label_width), "height": "20", "fill": LABEL_COLOR})
    ET.SubElement(
        shapes,
        "rect",
        {"x": str(label_width), "width": str(message_width), "height": "20", "fill": background},
    )
    texts = ET.SubElement(
        svg,
        "g",
        {
            "text-anchor": "middle",
            "font-family": "Verdana,Geneva,DejaVu Sans,sans-serif",
            "font-size": "11",
        },
    )
    _badge_text(texts, badge.label, label_width / 2, text_color_on(LABEL_COLOR))
    _badge_text(texts, badge.message, label_width + message_width / 2, text_color_on(background))
    return ET.tostring(svg, encoding="unicode").encode()


def _badge_text(parent: ET.Element, text: str, center: float, fill: str) -> None:
    if fill == LIGHT_TEXT:
        # A faint shadow under white text, as on shields.io badges, for legibility.
        shadow = ET.SubElement(
            parent,
            "text",
            {
                "x": f"{center:g}",
                "y": "15",
                "fill": "#010101",
                "fill-opacity": ".3",
                "aria-hidden": "true",
            },
        )
        shadow.text = text
    ET.SubElement(parent, "text", {"x": f"{center:g}", "y": "14", "fill": fill}).text = text


# --- The status page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayBar:
    """One UTC day of a component's uptime bar, with the text that describes it.

    ``level`` is the day's ``uptime_color`` name, or ``none`` when the day has no data.
    """

    day: date
    level: str
    label: str


@dataclass(frozen=True)
class UptimeCell:
    window: str
    window_label: str
    value: str


@dataclass(frozen=True)
class ComponentRow:
    slug: str
    name: str
    description: str | None
    state: str
    state_label: str
    message: str | None
    uptime: list[UptimeCell]
    bars: list[DayBar]


@dataclass(frozen=True)
class IncidentItem:
    id: str
    title: str
    open: bool
    status_label: str
    impact_label: str
    components: list[str]
    started_at: datetime
    resolved_at: datetime | None
    duration: str


@dataclass(frozen=True)
class StatusPage:
    """Everything the status page template shows, already worded and formatted."""

    page_name: str
    state: str
    state_label: str
    description: str
    banner: str | None
    stale: bool
    updated_at: datetime | None
    components: list[ComponentRow]
    active_incidents: list[IncidentItem]
    past_incidents: list[IncidentItem]
    refresh_s: int | None
    bar_days: int
    legend: list[tuple[str, str]]
    feed_url: str
    api_url: str
    stream_url: str


LEGEND: list[tuple[str, str]] = [
    ("brightgreen", "99.9 % or more"),
    ("green", "99 to 99.9 %"),
    ("yellow", "97 to 99 %"),
    ("orange", "95 to 97 %"),
    ("red", "below 95 %"),
    ("none", "no data"),
]

IMPACT_LABELS = {
    "none": "No impact",
    "minor": "Minor impact",
    "major": "Major impact",
    "critical": "Critical impact",
}


def day_bars(component: ComponentStatus, last_day: date, days: int = BAR_DAYS) -> list[DayBar]:
    """Build one bar per UTC day, oldest first, ending at ``last_day``.

    A day missing from ``component.daily`` or without a percentage is a ``none`` bar labelled
    "no data", so a gap in the data never reads as a good day.
    """
    by_day = {item.day: item.percent for item in component.daily}
    bars = []
    for offset in range(days - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        percent = by_day.get(day)
        suffix = " (today so far)" if day == last_day else ""
        if percent is None:
            bars.append(DayBar(day=day, level="none", label=f"{day.isoformat()}{suffix}: no data"))
            continue
        label = f"{day.isoformat()}{suffix}: {format_percent(percent)} % uptime"
        bars.append(DayBar(day=day, level=uptime_color(percent), label=label))
    return bars


def _uptime_cells(component: ComponentStatus) -> list[UptimeCell]:
    by_window = {figure.window: figure.percent for figure in component.uptime}
    cells = []
    for window in PUBLIC_UPTIME_WINDOWS:
        percent = by_window.get(window)
        value = "no data" if percent is None else f"{format_percent(percent)} %"
        cells.append(UptimeCell(window=window, window_label=WINDOW_LABELS[window], value=value))
    return cells


def _component_row(component: ComponentStatus, last_day: date) -> ComponentRow:
    return ComponentRow(
        slug=slugify(component.name),
        name=component.name,
        description=component.description,
        state=component.state.value,
        state_label=STATE_LABELS[component.state],
        message=component.message,
        uptime=_uptime_cells(component),
        bars=day_bars(component, last_day),
    )


def _incident_item(incident: PublicIncident) -> IncidentItem:
    is_open = incident.status == "investigating"
    return IncidentItem(
        id=incident.id,
        title=incident.title,
        open=is_open,
        status_label="Investigating" if is_open else "Resolved",
        impact_label=IMPACT_LABELS[incident.impact],
        components=incident.components,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        duration=format_duration(incident.duration_s),
    )


def build_status_page(
    status: SystemStatus,
    *,
    page_name: str,
    updated_at: datetime | None,
    stale: bool,
    refresh_s: int | None = None,
) -> StatusPage:
    """Build the status page's view model from one evaluation.

    ``updated_at`` is when the newest upstream data was fetched and ``stale`` whether any of it
    is stale or missing, both as ``GET /api/v1/status`` reports them.
    """
    last_day = status.generated_at.date()
    incidents = [
        _incident_item(incident)
        for incident in public_incidents(status.incidents, active_only=False)
    ]
    state = status.overall.state
    return StatusPage(
        page_name=page_name,
        state=state.value,
        state_label=STATE_LABELS[state],
        description=status.overall.description,
        banner=status.banner.message if status.banner else None,
        stale=stale,
        updated_at=updated_at,
        components=[_component_row(component, last_day) for component in status.components],
        active_incidents=[item for item in incidents if item.open],
        past_incidents=[item for item in incidents if not item.open][:MAX_LISTED_INCIDENTS],
        refresh_s=refresh_s,
        bar_days=BAR_DAYS,
        legend=LEGEND,
        feed_url="/feed.atom",
        api_url="/api/v1/status",
        stream_url="/api/v1/status/stream",
    )


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("app", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["utc"] = format_utc
    return environment


def render_unavailable_page(page_name: str, retry_after_s: int) -> bytes:
    """Render the page shown before any status data exists; it reloads itself."""
    template = _environment().get_template("unavailable.html")
    return template.render(page_name=page_name, retry_after_s=retry_after_s).encode()


def render_status_page(page: StatusPage) -> bytes:
    """Render the status page as UTF-8 HTML (autoescaped, no JavaScript)."""
    template = _environment().get_template("status.html")
    return template.render(page=page).encode()


# --- The Atom feed -----------------------------------------------------------------------------


def tag_uri(page_url: str, specific: str) -> str:
    """Build a stable ``tag:`` URI on the status page's host, for feed and entry ids."""
    host = urlsplit(page_url).hostname or "localhost"
    return f"tag:{host},{TAG_URI_DATE}:{specific}"


def _incident_summary(incident: PublicIncident) -> str:
    components = ", ".join(incident.components)
    started = format_utc(incident.started_at)
    if incident.resolved_at is None:
        return (
            f"Investigating: {incident.title} affecting {components}, "
            f"started {started}, ongoing for {format_duration(incident.duration_s)}."
        )
    return (
        f"Resolved: {incident.title} affected {components} from {started} "
        f"to {format_utc(incident.resolved_at)} ({format_duration(incident.duration_s)})."
    )


def _incident_updated(incident: PublicIncident) -> datetime:
    return incident.resolved_at or incident.started_at


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_feed(
    incidents: list[PublicIncident],
    *,
    page_name: str,
    page_url: str,
    data_time: datetime,
) -> bytes:
    """Render recent incidents as an Atom 1.0 feed, newest change first.

    The feed's ``updated`` is the newest incident change, or ``data_time`` without incidents.
    Links are built from ``page_url``, the public status page served by Lookout.
    """
    entries = sorted(incidents, key=_incident_updated, reverse=True)[:MAX_LISTED_INCIDENTS]
    updated = _incident_updated(entries[0]) if entries else data_time
    feed_url = urljoin(page_url, "/feed.atom")

    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    ET.SubElement(feed, "id").text = tag_uri(page_url, "incidents")
    ET.SubElement(feed, "title").text = f"{page_name} status: incidents"
    ET.SubElement(feed, "updated").text = _atom_time(updated)
    ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": feed_url})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": page_url})
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = page_name
    ET.SubElement(feed, "generator").text = "Lookout"

    for incident in entries:
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = tag_uri(page_url, f"incident:{incident.id}")
        state = "investigating" if incident.resolved_at is None else "resolved"
        ET.SubElement(entry, "title").text = f"{incident.title} ({state})"
        ET.SubElement(entry, "updated").text = _atom_time(_incident_updated(incident))
        ET.SubElement(entry, "published").text = _atom_time(incident.started_at)
        link = f"{page_url}#{incident.id}"
        ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html", "href": link})
        for name in incident.components:
            ET.SubElement(entry, "category", {"term": name})
        ET.SubElement(entry, "summary", {"type": "text"}).text = _incident_summary(incident)

    buffer = io.BytesIO()
    ET.ElementTree(feed).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def recent_public_incidents(status: SystemStatus) -> list[PublicIncident]:
    """Return the incidents that touched a public component, open or resolved, publicly worded."""
    return public_incidents(status.incidents, active_only=False)
