"""The fake UptimeRobot v2: ``getMonitors`` and ``getAccountDetails`` over the demo world.

It speaks the v2 wire format as clients meet it: POST with a form (or JSON) body and
``stat: fail`` errors with HTTP 200. Numbers are strings: ``custom_uptime_ratio`` is dash-joined
with three decimals, ``average_response_time`` is a decimal string and ints that do not apply are
``""``. Pages contain at most 50 monitors, and logs and response times come newest first.

Everything that does not depend on "now" is computed once per world (``MonitorTable``), so a page
of 50 out of 1,000 monitors costs about as much as a page of the five default monitors.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.demo.state import SimulatorState
from app.demo.world import DemoMonitor, DemoWorld, V2Status

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 50
SLOT_S = 300  # response-time samples lie on a 5-minute grid that starts at world.history_start
WEEK_SLOTS = 7 * 24 * 3600 // SLOT_S
MAX_RESPONSE_TIMES_SPAN_S = 7 * 24 * 3600
DEFAULT_RESPONSE_TIMES_SPAN_S = 24 * 3600
# UptimeRobot reports "seems down" (8) until it confirms a failure. The simulator keeps that state
# for the first minute of a downtime.
SEEMS_DOWN_S = 60
CREATED_BEFORE_ANCHOR = timedelta(days=120)
STAGING_PAUSED_BEFORE_ANCHOR = timedelta(days=5, hours=9)
SLOW_EXTRA_MS = 700
VALID_STATUSES = frozenset(int(status) for status in V2Status)
FREE_PLAN_MONITOR_LIMIT = 50
FREE_PLAN_CALLS_PER_MINUTE = 10
MAX_CALLS_PER_MINUTE = 5000

LOG_DOWN, LOG_UP, LOG_STARTED, LOG_PAUSED = 1, 2, 98, 99

# Certificate expiry per host, in days after the world's anchor. The web app's certificate is
# close to expiry so the demo's SSL alert (30 days by default) fires.
CERTIFICATE_DAYS_LEFT = {"app.example.test": 20, "api.example.test": 75}
DEFAULT_CERTIFICATE_DAYS_LEFT = 60

# Deterministic noise around each monitor's base response time, one value per slot of a week.
NOISE = [((slot * 2_654_435_761) >> 11) % 61 - 30 for slot in range(WEEK_SLOTS)]
NOISE_PREFIX = list(accumulate(NOISE, initial=0))


def _noise_sum(start: int, stop: int) -> int:
    """Sum ``NOISE[slot % WEEK_SLOTS]`` over ``slot`` in ``[start, stop)``, wrapping weeks."""

    def up_to(slot: int) -> int:
        weeks, rest = divmod(slot, WEEK_SLOTS)
        return weeks * NOISE_PREFIX[-1] + NOISE_PREFIX[rest]

    return up_to(stop) - up_to(start)


# --- The per-world table ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEvent:
    """One state change of a simulated monitor. Its duration is computed per request."""

    id: int
    type: int
    at: int
    reason_code: str = ""
    reason_detail: str = ""


@dataclass(frozen=True)
class SlotProfile:
    """Explicit samples over the world's week for a monitor with a story (outage, slowness).

    ``values[i]`` is the sample of slot ``i`` in ms, or -1 when the monitor took none (down,
    paused, not yet created, or between checks). The prefix sums make any bucket average O(1).
    """

    values: list[int]
    prefix_sum: list[int]
    prefix_count: list[int]


@dataclass(frozen=True)
class SimMonitor:
    """A monitor with its wire fields and history, precomputed for one world."""

    id: int
    wire: dict[str, Any]
    type: int
    search_text: str
    created_at: int
    paused_at: int | None
    downtimes: tuple[tuple[int, int], ...]
    events: tuple[LogEvent, ...]
    base_ms: int
    phase: int
    step_slots: int
    first_slot: int
    stop_slot: int
    profile: SlotProfile | None
    certificate_expires_at: int | None
    maintenance_windows: tuple[dict[str, Any], ...] = ()

    def status_at(self, now: int) -> int:
        if self.paused_at is not None and self.paused_at <= now:
            return int(V2Status.PAUSED)
        if now < self.created_at:
            return int(V2Status.NOT_CHECKED)
        for start, end in self.downtimes:
            if start <= now < end:
                seems = now < start + SEEMS_DOWN_S
                return int(V2Status.SEEMS_DOWN if seems else V2Status.DOWN)
        return int(V2Status.UP)


@dataclass
class MonitorTable:
    """Every simulated monitor of one world, in id order, with the world's time origin."""

    world: DemoWorld
    origin: int
    monitors: list[SimMonitor] = field(default_factory=list)
    by_id: dict[int, SimMonitor] = field(default_factory=dict)


def build_monitor_table(world: DemoWorld) -> MonitorTable:
    """Precompute every monitor of ``world``: the defaults, then ``world.extra_monitors``."""
    origin = _epoch_of(world.history_start)
    table = MonitorTable(world=world, origin=origin)
    outage_start, outage_end = (_epoch_of(moment) for moment in world.outage)
    slow_start, slow_end = (_epoch_of(moment) for moment in world.slow)
    created = _epoch_of(world.anchor - CREATED_BEFORE_ANCHOR)
    anchor = _epoch_of(world.anchor)

    for position, demo in enumerate(world.monitors):
        in_outage = demo.id in world.outage_monitor_ids
        paused_at = _epoch_of(world.anchor - STAGING_PAUSED_BEFORE_ANCHOR) if demo.paused else None
        downtimes = ((outage_start, outage_end),) if in_outage else ()
        slow = (slow_start, slow_end) if in_outage else None
        events = _story_events(position, created, paused_at, downtimes)
        windows = (_weekly_deploy_window(position),) if position == 0 else ()
        monitor = _sim_monitor(
            demo, position, origin, anchor, created, paused_at, downtimes, events, windows
        )
        profile = _slot_profile(monitor, origin, slow)
        table.monitors.append(replace(monitor, profile=profile))

    next_id = max((demo.id for demo in world.monitors), default=790_000_000) + 1
    for index in range(world.extra_monitors):
        position = len(world.monitors) + index
        demo = DemoMonitor(
            id=next_id + index,
            name=f"Load monitor {index + 1:04d}",
            url=f"https://load-{index + 1:04d}.example.test/health",
            type=1,
            http_method=1,
            base_response_ms=120 + (index * 37) % 400,
        )
        events = (LogEvent(id=_log_id(position, 0), type=LOG_STARTED, at=created),)
        table.monitors.append(
            _sim_monitor(demo, position, origin, anchor, created, None, (), events, ())
        )

    table.by_id = {monitor.id: monitor for monitor in table.monitors}
    return table


def _story_events(
    position: int,
    created: int,
    paused_at: int | None,
    downtimes: tuple[tuple[int, int], ...],
) -> tuple[LogEvent, ...]:
    events = [LogEvent(id=_log_id(position, 0), type=LOG_STARTED, at=created)]
    for start, end in downtimes:
        events.append(
            LogEvent(_log_id(position, len(events)), LOG_DOWN, start, "503", "Service Unavailable")
        )
        events.append(LogEvent(_log_id(position, len(events)), LOG_UP, end, "200", "OK"))
    if paused_at is not None:
        events.append(LogEvent(id=_log_id(position, len(events)), type=LOG_PAUSED, at=paused_at))
    return tuple(sorted(events, key=lambda event: event.at))


def _weekly_deploy_window(position: int) -> dict[str, Any]:
    return {
        "id": 7_300_000 + position,
        "type": 3,
        "friendly_name": "Weekly deploy",
        "start_time": "03:00",
        "duration": 30,
        "value": "2",
        "status": 1,
    }


def _sim_monitor(
    demo: DemoMonitor,
    position: int,
    origin: int,
    anchor: int,
    created: int,
    paused_at: int | None,
    downtimes: tuple[tuple[int, int], ...],
    events: tuple[LogEvent, ...],
    windows: tuple[dict[str, Any], ...],
) -> SimMonitor:
    host = urlsplit(demo.url).hostname or ""
    certificate_expires_at = None
    if demo.url.startswith("https://"):
        days_left = CERTIFICATE_DAYS_LEFT.get(host, DEFAULT_CERTIFICATE_DAYS_LEFT)
        certificate_expires_at = anchor + days_left * 86_400
    step_slots = max(1, demo.interval_s // SLOT_S)
    stop_slot = math.ceil((paused_at - origin) / SLOT_S) if paused_at is not None else 2**62
    return SimMonitor(
        id=demo.id,
        wire=_wire_fields(demo, created),
        type=demo.type,
        search_text=f"{demo.name}\n{demo.url}".lower(),
        created_at=created,
        paused_at=paused_at,
        downtimes=downtimes,
        events=events,
        base_ms=demo.base_response_ms,
        phase=(position * 131) % WEEK_SLOTS,
        step_slots=step_slots,
        first_slot=math.ceil((created - origin) / SLOT_S),
        stop_slot=stop_slot,
        profile=None,
        certificate_expires_at=certificate_expires_at,
        maintenance_windows=windows,
    )


def _wire_fields(demo: DemoMonitor, created: int) -> dict[str, Any]:
    """Build the fields of a monitor that never change, typed as v2 sends them."""
    is_keyword = demo.type == 2
    return {
        "id": demo.id,
        "friendly_name": demo.name,
        "url": demo.url,
        "type": demo.type,
        "sub_type": "",
        "keyword_type": demo.keyword_type if is_keyword and demo.keyword_type else "",
        "keyword_case_type": 0 if is_keyword else "",
        "keyword_value": demo.keyword_value if is_keyword else "",
        "http_username": "",
        "http_password": "",
        "port": "",
        "interval": demo.interval_s,
        "timeout": 30,
        "status": None,  # depends on "now", filled in per request
        "create_datetime": created,
        "monitor_group": 0,
        "is_group_main": 0,
    }


def _slot_profile(monitor: SimMonitor, origin: int, slow: tuple[int, int] | None) -> SlotProfile:
    values: list[int] = []
    for slot in range(WEEK_SLOTS):
        at = origin + slot * SLOT_S
        if not _quiet_slot_valid(monitor, slot) or any(
            start <= at < end for start, end in monitor.downtimes
        ):
            values.append(-1)
            continue
        value = monitor.base_ms + NOISE[(slot + monitor.phase) % WEEK_SLOTS]
        if slow is not None and slow[0] <= at < slow[1]:
            value += SLOW_EXTRA_MS
        values.append(value)
    prefix_sum = list(accumulate((max(value, 0) for value in values), initial=0))
    prefix_count = list(accumulate((1 if value >= 0 else 0 for value in values), initial=0))
    return SlotProfile(values=values, prefix_sum=prefix_sum, prefix_count=prefix_count)


def _log_id(position: int, sequence: int) -> int:
    return 90_000_000 + position * 16 + sequence


def _epoch_of(moment: Any) -> int:
    return int(moment.timestamp())


# --- Response-time and uptime arithmetic --------------------------------------------------------


def _quiet_slot_valid(monitor: SimMonitor, slot: int) -> bool:
    return monitor.first_slot <= slot < monitor.stop_slot and slot % monitor.step_slots == 0


def _sample(monitor: SimMonitor, slot: int) -> int | None:
    """Return the monitor's sample in ``slot`` in ms, or ``None`` when it took none."""
    if monitor.profile is not None and 0 <= slot < WEEK_SLOTS:
        value = monitor.profile.values[slot]
        return value if value >= 0 else None
    if not _quiet_slot_valid(monitor, slot):
        return None
    return monitor.base_ms + NOISE[(slot + monitor.phase) % WEEK_SLOTS]


def _quiet_sum(monitor: SimMonitor, start: int, stop: int) -> tuple[int, int]:
    start = max(start, monitor.first_slot)
    stop = min(stop, monitor.stop_slot)
    if stop <= start:
        return 0, 0
    if monitor.step_slots == 1:
        total = monitor.base_ms * (stop - start)
        total += _noise_sum(start + monitor.phase, stop + monitor.phase)
        return total, stop - start
    step = monitor.step_slots
    slots = range(-(-start // step) * step, stop, step)
    noise = sum(NOISE[(slot + monitor.phase) % WEEK_SLOTS] for slot in slots)
    return monitor.base_ms * len(slots) + noise, len(slots)


def _slot_sum(monitor: SimMonitor, start: int, stop: int) -> tuple[int, int]:
    """Return the sum and count of the samples in slots ``[start, stop)``."""
    if monitor.profile is None:
        return _quiet_sum(monitor, start, stop)
    total = count = 0
    for part_start, part_stop in ((start, min(stop, 0)), (max(start, WEEK_SLOTS), stop)):
        part_total, part_count = _quiet_sum(monitor, part_start, part_stop)
        total += part_total
        count += part_count
    inner_start, inner_stop = max(start, 0), min(stop, WEEK_SLOTS)
    if inner_start < inner_stop:
        profile = monitor.profile
        total += profile.prefix_sum[inner_stop] - profile.prefix_sum[inner_start]
        count += profile.prefix_count[inner_stop] - profile.prefix_count[inner_start]
    return total, count


def _uptime_percent(monitor: SimMonitor, start: int, end: int, now: int) -> float:
    """Compute uptime over ``[start, end)`` up to ``now``, counting only active time.

    Time before creation and after a pause is left out.
    """
    start = max(start, monitor.created_at)
    end = min(end, now)
    if monitor.paused_at is not None:
        end = min(end, monitor.paused_at)
    active = end - start
    if active <= 0:
        # NOTE: what the real API reports for a window with no active time is not known.
        return 100.0
    down = sum(max(0, min(stop, end) - max(begin, start)) for begin, stop in monitor.downtimes)
    return 100.0 * (active - down) / active


# --- Request parameters -------------------------------------------------------------------------


class ParameterError(Exception):
    """A request parameter the real API would reject with ``stat: fail``."""

    def __init__(
        self, error_type: str, parameter: str, passed_value: str | None, message: str
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.parameter = parameter
        self.passed_value = passed_value
        self.message = message

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "parameter_name": self.parameter}
        if self.passed_value is not None:
            error["passed_value"] = self.passed_value
        error["message"] = self.message
        return {"stat": "fail", "error": error}


@dataclass
class Params:
    """The request's parameters as strings, read from a form or JSON body."""

    values: dict[str, str]

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def flag(self, name: str) -> bool:
        return self.values.get(name) == "1"

    def integer(self, name: str, *, minimum: int = 0) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not value.isdigit() or int(value) < minimum:
            raise ParameterError(
                "invalid_parameter", name, value, f"{name} must be an integer >= {minimum}."
            )
        return int(value)

    def int_list(self, name: str) -> list[int] | None:
        value = self.text(name)
        if value is None:
            return None
        parts = value.split("-")
        if not all(part.isdigit() for part in parts):
            raise ParameterError(
                "invalid_parameter",
                name,
                value,
                f"{name} must be a dash-separated list of integers such as 1-7-30.",
            )
        return [int(part) for part in parts]

    def date_pair(self, prefix: str) -> tuple[int, int] | None:
        start = self.integer(f"{prefix}_start_date")
        end = self.integer(f"{prefix}_end_date")
        if start is None and end is None:
            return None
        if start is None or end is None:
            missing = f"{prefix}_start_date" if start is None else f"{prefix}_end_date"
            raise ParameterError(
                "missing_parameter", missing, None, f"{missing} is required with its pair."
            )
        if end <= start:
            raise ParameterError(
                "invalid_parameter",
                f"{prefix}_end_date",
                str(end),
                f"{prefix}_end_date must be after {prefix}_start_date.",
            )
        return start, end


async def read_params(request: Request) -> Params:
    """Read a form-encoded or JSON body. ``api_key`` may also come from the query string."""
    raw = await request.body()
    values: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            decoded = json.loads(raw or b"{}")
        except ValueError:
            decoded = {}
        if isinstance(decoded, dict):
            values = {str(key): _json_scalar(value) for key, value in decoded.items()}
    else:
        values = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if "api_key" not in values and "api_key" in request.query_params:
        values["api_key"] = request.query_params["api_key"]
    return Params(values)


def _json_scalar(value: Any) -> str:
    """Convert a JSON value to the string a form would carry. A list keeps its JSON text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value)


def check_api_key(params: Params, *, bad_key_fault: bool) -> None:
    """Reject a missing key, the literal key ``bad`` and any key under the bad_key fault."""
    key = params.values.get("api_key")
    if not key:
        raise ParameterError("missing_parameter", "api_key", None, "api_key parameter is required.")
    if key == "bad" or bad_key_fault:
        raise ParameterError("invalid_parameter", "api_key", key, "api_key not found.")


# --- Rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorQuery:
    """The parameters of one getMonitors request, parsed and validated."""

    offset: int
    limit: int
    ids: list[int] | None
    types: list[int] | None
    statuses: list[int] | None
    search: str | None
    uptime_days: list[int] | None
    uptime_ranges: list[tuple[int, int]] | None
    all_time: bool
    logs: bool
    logs_limit: int | None
    log_types: list[int] | None
    logs_range: tuple[int, int] | None
    response_times: bool
    response_times_limit: int | None
    response_times_average_min: int
    response_times_range: tuple[int, int] | None
    ssl: bool
    mwindows: bool

    @classmethod
    def parse(cls, params: Params) -> MonitorQuery:
        statuses = params.int_list("statuses")
        if statuses is not None and not set(statuses) <= VALID_STATUSES:
            raise ParameterError(
                "invalid_parameter",
                "statuses",
                params.text("statuses"),
                "each value of statuses must be one of 0, 1, 2, 8, 9.",
            )
        uptime_days = params.int_list("custom_uptime_ratios")
        if uptime_days is not None and 0 in uptime_days:
            raise ParameterError(
                "invalid_parameter",
                "custom_uptime_ratios",
                params.text("custom_uptime_ratios"),
                "custom_uptime_ratios must be day counts above 0.",
            )
        response_times_range = params.date_pair("response_times")
        if response_times_range is not None:
            start, end = response_times_range
            if end - start > MAX_RESPONSE_TIMES_SPAN_S:
                raise ParameterError(
                    "invalid_parameter",
                    "response_times_end_date",
                    str(end),
                    "response_times_start_date and response_times_end_date must be at most "
                    "7 days apart.",
                )
        return cls(
            offset=params.integer("offset") or 0,
            limit=min(params.integer("limit", minimum=1) or MAX_PAGE_SIZE, MAX_PAGE_SIZE),
            ids=params.int_list("monitors"),
            types=params.int_list("types"),
            statuses=statuses,
            search=(params.text("search") or "").lower() or None,
            uptime_days=uptime_days,
            uptime_ranges=_parse_ranges(params),
            all_time=params.flag("all_time_uptime_ratio"),
            logs=params.flag("logs"),
            logs_limit=params.integer("logs_limit"),
            log_types=params.int_list("log_types"),
            logs_range=params.date_pair("logs"),
            response_times=params.flag("response_times"),
            response_times_limit=params.integer("response_times_limit"),
            response_times_average_min=params.integer("response_times_average") or 0,
            response_times_range=response_times_range,
            ssl=params.flag("ssl"),
            mwindows=params.flag("mwindows"),
        )


def _parse_ranges(params: Params) -> list[tuple[int, int]] | None:
    value = params.text("custom_uptime_ranges")
    if value is None:
        return None
    ranges: list[tuple[int, int]] = []
    for part in value.split("-"):
        start_text, _, end_text = part.partition("_")
        if not (start_text.isdigit() and end_text.isdigit()) or int(end_text) <= int(start_text):
            raise ParameterError(
                "invalid_parameter",
                "custom_uptime_ranges",
                value,
                "custom_uptime_ranges must be dash-separated start_end pairs of unix seconds.",
            )
        ranges.append((int(start_text), int(end_text)))
    return ranges


def select_monitors(table: MonitorTable, query: MonitorQuery, now: int) -> list[SimMonitor]:
    """Select the monitors matching the request's filters, in id order and before pagination."""
    if query.ids is not None:
        requested_ids = set(query.ids)
        candidates: Iterable[SimMonitor] = (m for m in table.monitors if m.id in requested_ids)
    else:
        candidates = table.monitors
    selected = []
    for monitor in candidates:
        if query.types is not None and monitor.type not in query.types:
            continue
        if query.search is not None and query.search not in monitor.search_text:
            continue
        if query.statuses is not None and monitor.status_at(now) not in query.statuses:
            continue
        selected.append(monitor)
    return selected


def render_monitor(
    monitor: SimMonitor, query: MonitorQuery, table: MonitorTable, now: int
) -> dict[str, Any]:
    """Render one monitor as getMonitors returns it for ``query`` at ``now``."""
    body = dict(monitor.wire)
    body["status"] = monitor.status_at(now)

    if query.uptime_days is not None:
        ratios = [
            _uptime_percent(monitor, now - days * 86_400, now, now) for days in query.uptime_days
        ]
        body["custom_uptime_ratio"] = _dash_ratios(ratios)
    if query.uptime_ranges is not None:
        ratios = [_uptime_percent(monitor, start, end, now) for start, end in query.uptime_ranges]
        body["custom_uptime_ranges"] = _dash_ratios(ratios)
    if query.all_time:
        body["all_time_uptime_ratio"] = f"{_uptime_percent(monitor, 0, now, now):.3f}"
    if query.logs:
        body["logs"] = _render_logs(monitor, query, now)
    if query.response_times:
        points, average = _render_response_times(monitor, query, table.origin, now)
        # NOTE: "" for a monitor without samples (paused) is a guess at the real API.
        body["average_response_time"] = "" if average is None else f"{average:.3f}"
        body["response_times"] = points
    if query.ssl:
        body["ssl"] = _render_ssl(monitor)
    if query.mwindows:
        body["mwindows"] = [dict(window) for window in monitor.maintenance_windows]
    return body


def _dash_ratios(ratios: list[float]) -> str:
    return "-".join(f"{ratio:.3f}" for ratio in ratios)


def _render_logs(monitor: SimMonitor, query: MonitorQuery, now: int) -> list[dict[str, Any]]:
    visible = [event for event in monitor.events if event.at <= now]
    rendered: list[dict[str, Any]] = []
    for index in range(len(visible) - 1, -1, -1):
        event = visible[index]
        ends_at = visible[index + 1].at if index + 1 < len(visible) else now
        if query.log_types is not None and event.type not in query.log_types:
            continue
        if query.logs_range is not None and not (
            query.logs_range[0] <= event.at <= query.logs_range[1]
        ):
            continue
        rendered.append(
            {
                "id": event.id,
                "type": event.type,
                "datetime": event.at,
                "duration": ends_at - event.at,
                "reason": {"code": event.reason_code, "detail": event.reason_detail},
            }
        )
        if query.logs_limit and len(rendered) >= query.logs_limit:
            break
    return rendered


def _render_response_times(
    monitor: SimMonitor, query: MonitorQuery, origin: int, now: int
) -> tuple[list[dict[str, int]], float | None]:
    """Build the response times, newest first, raw or averaged, and their overall average (ms)."""
    if query.response_times_range is not None:
        start, end = query.response_times_range
        limit = None  # the real API applies the limit only without explicit dates
    else:
        start, end = now - DEFAULT_RESPONSE_TIMES_SPAN_S, now
        limit = query.response_times_limit or None
    end = min(end, now + 1)
    first_slot = _slot_at_or_after(start, origin)
    stop_slot = _slot_at_or_after(end, origin)

    total, count = _slot_sum(monitor, first_slot, stop_slot)
    average = total / count if count else None

    points: list[dict[str, int]] = []
    bucket_s = query.response_times_average_min * 60
    if bucket_s <= 0:
        for slot in range(stop_slot - 1, first_slot - 1, -1):
            value = _sample(monitor, slot)
            if value is not None:
                points.append({"datetime": origin + slot * SLOT_S, "value": value})
                if limit is not None and len(points) >= limit:
                    break
        return points, average

    bucket_count = math.ceil(max(end - start, 0) / bucket_s)
    for bucket in range(bucket_count - 1, -1, -1):
        bucket_start = start + bucket * bucket_s
        bucket_end = min(bucket_start + bucket_s, end)
        bucket_total, bucket_samples = _slot_sum(
            monitor, _slot_at_or_after(bucket_start, origin), _slot_at_or_after(bucket_end, origin)
        )
        if bucket_samples:
            points.append({"datetime": bucket_start, "value": round(bucket_total / bucket_samples)})
            if limit is not None and len(points) >= limit:
                break
    return points, average


def _slot_at_or_after(moment: int, origin: int) -> int:
    return -(-(moment - origin) // SLOT_S)


def _render_ssl(monitor: SimMonitor) -> dict[str, Any]:
    if monitor.certificate_expires_at is None:
        return {}
    return {"brand": "Let's Encrypt", "product": None, "expires": monitor.certificate_expires_at}


# --- The router ---------------------------------------------------------------------------------


@dataclass
class _RateWindow:
    """Calls in the current minute, for the informational ``X-RateLimit-*`` headers."""

    minute: int = -1
    calls: int = 0


def build_uptimerobot_router(state: SimulatorState) -> APIRouter:
    """Serve ``POST /v2/getMonitors`` and ``POST /v2/getAccountDetails`` from ``state.world``."""
    router = APIRouter(prefix="/v2", tags=["simulated UptimeRobot v2"])
    tables: dict[int, MonitorTable] = {}
    window = _RateWindow()

    def table_for(world: DemoWorld) -> MonitorTable:
        table = tables.get(id(world))
        if table is None or table.world is not world:
            tables.clear()
            table = tables[id(world)] = build_monitor_table(world)
        return table

    def rate_headers(now: int, monitor_count: int) -> dict[str, str]:
        minute = now // 60
        if window.minute != minute:
            window.minute, window.calls = minute, 0
        window.calls += 1
        # The free plan allows 10 calls a minute. Paid plans allow twice the monitor limit, at
        # most 5,000.
        limit = min(max(FREE_PLAN_CALLS_PER_MINUTE, 2 * monitor_count), MAX_CALLS_PER_MINUTE)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - window.calls, 0)),
            "X-RateLimit-Reset": str((minute + 1) * 60),
        }

    async def answer(
        request: Request, build: Callable[[Params, MonitorTable, int], dict[str, Any]]
    ) -> Response:
        now = _epoch_of(state.clock())
        table = table_for(state.world)
        headers = rate_headers(now, len(table.monitors))
        params = await read_params(request)
        if params.values.get("format", "xml") != "json":
            return Response(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<response stat="fail"><error type="not_supported" '
                'message="The simulator serves format=json only."/></response>\n',
                media_type="text/xml",
                headers=headers,
            )
        try:
            check_api_key(params, bad_key_fault=state.fault("uptimerobot").bad_key)
            body = build(params, table, now)
        except ParameterError as exc:
            return JSONResponse(exc.body(), headers=headers)
        return JSONResponse(body, headers=headers)

    @router.post("/getMonitors", summary="List monitors (UptimeRobot v2 getMonitors)")
    async def get_monitors(request: Request) -> Response:
        return await answer(request, _monitors_body)

    @router.post("/getAccountDetails", summary="Account details (UptimeRobot v2)")
    async def get_account_details(request: Request) -> Response:
        return await answer(request, _account_body)

    return router


def _monitors_body(params: Params, table: MonitorTable, now: int) -> dict[str, Any]:
    query = MonitorQuery.parse(params)
    selected = select_monitors(table, query, now)
    page = selected[query.offset : query.offset + query.limit]
    return {
        "stat": "ok",
        "pagination": {"offset": query.offset, "limit": query.limit, "total": len(selected)},
        "monitors": [render_monitor(monitor, query, table, now) for monitor in page],
    }


def _account_body(params: Params, table: MonitorTable, now: int) -> dict[str, Any]:
    statuses = [monitor.status_at(now) for monitor in table.monitors]
    down = (int(V2Status.SEEMS_DOWN), int(V2Status.DOWN))
    return {
        "stat": "ok",
        "account": {
            "email": "ops@example.test",
            "user_id": 1_234_567,
            "firstname": "Ops",
            "sms_credits": 0,
            "monitor_limit": max(FREE_PLAN_MONITOR_LIMIT, len(statuses)),
            "monitor_interval": 5,
            "up_monitors": statuses.count(int(V2Status.UP)),
            "down_monitors": sum(1 for status in statuses if status in down),
            "paused_monitors": statuses.count(int(V2Status.PAUSED)),
            "total_monitors_count": len(statuses),
            "registered_at": "2020-01-01T00:00:00.000Z",
            "active_subscription": None,
            "payment_processor": None,
            "payment_period": None,
            "subscription_expiry_date": None,
            "organizations": [],
        },
    }
