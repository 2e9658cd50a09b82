"""The UptimeRobot v2 client: every monitor with its uptime, logs and response times in one pass.

This module handles the quirks of UptimeRobot v2, so code above ``app.sources`` only receives
typed models. Every method is a POST with the key in a form body, and failures come back as HTTP
200 with ``stat: fail``. Numbers arrive as strings (``""`` meaning absent), lists are dash-joined
and a page contains at most 50 monitors.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from app.config import Settings
from app.models.upstream import (
    LogType,
    MaintenanceWindow,
    Monitor,
    MonitorLog,
    MonitorsSnapshot,
    MonitorStatus,
    MonitorType,
    RateLimitHeadroom,
    ResponseTimePoint,
    SslInfo,
)
from app.sources.base import CallRecorder, parse_epoch, parse_int, send
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
)

logger = logging.getLogger(__name__)

# A reset further away than this is treated as a clock problem rather than honoured.
MAX_QUOTA_WAIT_S = 3600.0

Code = TypeVar("Code")

SOURCE = "uptimerobot"
MONITORS_KEY = "uptimerobot:monitors"
MONITORS_WINDOW_KEY = "uptimerobot:monitors_window"

PAGE_SIZE = 50  # getMonitors' default and maximum page size
# NOTE: a guessed bound (10,000 monitors) that stops a garbage ``total`` from looping forever.
MAX_PAGES = 200
UPTIME_WINDOWS_DAYS = (1, 7, 30, 90)
WINDOW_RATIO_KEY = 0
LOGS_LIMIT = 100
# Covers 24 h of 5-minute checks, which is the default response-time window.
RESPONSE_TIMES_LIMIT = 288
RESPONSE_TIMES_AVERAGE_MINUTES = 30
DAILY_AVERAGE_MINUTES = 1440
MAX_RESPONSE_TIMES_SPAN = timedelta(days=7)
MAX_MESSAGE_CHARS = 200

_STATUSES = {
    0: MonitorStatus.PAUSED,
    1: MonitorStatus.NOT_CHECKED,
    2: MonitorStatus.UP,
    8: MonitorStatus.SEEMS_DOWN,
    9: MonitorStatus.DOWN,
}
_TYPES = {
    1: MonitorType.HTTP,
    2: MonitorType.KEYWORD,
    3: MonitorType.PING,
    4: MonitorType.PORT,
    5: MonitorType.HEARTBEAT,
}
_LOG_TYPES = {1: LogType.DOWN, 2: LogType.UP, 98: LogType.STARTED, 99: LogType.PAUSED}
_WINDOW_KINDS = {1: "once", 2: "daily", 3: "weekly", 4: "monthly"}


@dataclass(frozen=True)
class MonitorsPage:
    """One parsed getMonitors page and the account's matching monitor count."""

    monitors: list[Monitor]
    total: int


class UptimeRobotSource:
    """Fetches monitors from UptimeRobot v2 and returns them as typed ``Monitor`` models.

    The source uses the shared ``client`` as is: it never opens, enters or closes it. It does not
    retry either, because retries and backoff belong to the snapshot store.
    """

    name = SOURCE

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        recorder: CallRecorder,
        api_key: str | None = None,
    ) -> None:
        self._client = client
        self._recorder = recorder
        self._base_url = settings.uptimerobot_base_url.rstrip("/")
        self._monitor_ids = list(settings.uptimerobot_monitor_ids)
        if api_key is not None:
            self._api_key: SecretStr | None = SecretStr(api_key)
        else:
            self._api_key = settings.uptimerobot_api_key

    def __repr__(self) -> str:
        return f"UptimeRobotSource(base_url={self._base_url!r})"

    async def fetch_monitors(self) -> MonitorsSnapshot:
        """Fetch every monitor (all pages) with 1/7/30/90-day uptime, logs and response times."""
        params = {
            "custom_uptime_ratios": _dash_join(UPTIME_WINDOWS_DAYS),
            "logs": "1",
            "logs_limit": str(LOGS_LIMIT),
            "response_times": "1",
            "response_times_limit": str(RESPONSE_TIMES_LIMIT),
            "response_times_average": str(RESPONSE_TIMES_AVERAGE_MINUTES),
            "ssl": "1",
            "mwindows": "1",
        }
        return await self._fetch_all(params, key=MONITORS_KEY, ratio_keys=UPTIME_WINDOWS_DAYS)

    async def fetch_monitors_window(self, start: datetime, end: datetime) -> MonitorsSnapshot:
        """Fetch every monitor's uptime, logs and daily response times over ``[start, end)``.

        The uptime ratio of the whole range is in ``Monitor.uptime_ratios[0]`` (key 0 means "the
        requested range", not a number of days). UptimeRobot serves response times for at most
        7 days, so they cover the last 7 days of the range only.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware datetimes")
        if end <= start:
            raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")

        range_start = _epoch(start)
        range_end = _epoch(end)
        times_start = _epoch(max(start, end - MAX_RESPONSE_TIMES_SPAN))
        params = {
            "custom_uptime_ranges": f"{range_start}_{range_end}",
            "logs": "1",
            "logs_start_date": str(range_start),
            "logs_end_date": str(range_end),
            "response_times": "1",
            "response_times_start_date": str(times_start),
            "response_times_end_date": str(range_end),
            "response_times_average": str(DAILY_AVERAGE_MINUTES),
            "ssl": "1",
        }
        return await self._fetch_all(
            params, key=MONITORS_WINDOW_KEY, ratio_keys=(WINDOW_RATIO_KEY,), ratio_field="ranges"
        )

    def _check_quota(self, key: str) -> None:
        """Raise ``SourceRateLimited`` instead of calling when the window is used up.

        The last answer's ``X-RateLimit-Remaining: 0`` with a future ``X-RateLimit-Reset``
        means the next call would only earn a 429 (the free plan allows 10 calls a minute).
        """
        headroom = self._recorder.health(SOURCE).headroom
        if headroom.remaining is None or headroom.remaining > 0 or headroom.reset_at is None:
            return
        wait_s = (headroom.reset_at - datetime.now(UTC)).total_seconds()
        if wait_s > 0:
            raise SourceRateLimited(
                SOURCE,
                f"{key} not sent: the rate-limit window is used up until X-RateLimit-Reset",
                retry_after_s=min(wait_s, MAX_QUOTA_WAIT_S),
            )

    async def _fetch_all(
        self,
        params: Mapping[str, str],
        *,
        key: str,
        ratio_keys: Sequence[int],
        ratio_field: str = "ratios",
    ) -> MonitorsSnapshot:
        monitors: list[Monitor] = []
        offset = 0
        pages = 0
        total = 0
        while True:
            self._check_quota(key)
            form = self._form(params, offset)
            request = self._client.build_request("POST", f"{self._base_url}/getMonitors", data=form)
            page = await send(
                self._client,
                request,
                source=SOURCE,
                key=key,
                recorder=self._recorder,
                read_headroom=read_headroom,
                parse=lambda response: parse_monitors_page(
                    response, ratio_keys=ratio_keys, ratio_field=ratio_field, secret=self._secret()
                ),
            )
            monitors.extend(page.monitors)
            pages += 1
            total = page.total
            offset += PAGE_SIZE
            if offset >= total or not page.monitors:
                break
            if pages >= MAX_PAGES:
                logger.warning(
                    "uptimerobot pagination stopped key=%s pages=%s total=%s fetched=%s",
                    key,
                    pages,
                    total,
                    len(monitors),
                )
                break
        return MonitorsSnapshot(monitors=monitors, total=max(total, len(monitors)), pages=pages)

    def _form(self, params: Mapping[str, str], offset: int) -> dict[str, str]:
        form = {"api_key": self._require_key(), "format": "json"}
        form.update(params)
        if self._monitor_ids:
            form["monitors"] = _dash_join(self._monitor_ids)
        form["offset"] = str(offset)
        form["limit"] = str(PAGE_SIZE)
        return form

    def _secret(self) -> str | None:
        return None if self._api_key is None else self._api_key.get_secret_value()

    def _require_key(self) -> str:
        secret = self._secret()
        if not secret:
            raise SourceAuthError(
                SOURCE, "UPTIMEROBOT_API_KEY is not set; set it or run with DEMO_MODE=true"
            )
        return secret


def read_headroom(headers: httpx.Headers) -> RateLimitHeadroom:
    """Read ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (epoch seconds)."""
    return RateLimitHeadroom(
        limit=parse_int(headers.get("X-RateLimit-Limit")),
        remaining=parse_int(headers.get("X-RateLimit-Remaining")),
        reset_at=parse_epoch(headers.get("X-RateLimit-Reset")),
    )


# --- Response parsing ---------------------------------------------------------------------------


def parse_monitors_page(
    response: httpx.Response,
    *,
    ratio_keys: Sequence[int] = UPTIME_WINDOWS_DAYS,
    ratio_field: str = "ratios",
    secret: str | None = None,
) -> MonitorsPage:
    """Parse one getMonitors page, raising a ``SourceError`` for anything unusable.

    ``ratio_field`` selects the uptime string: ``ratios`` reads ``custom_uptime_ratio`` and
    ``ranges`` reads ``custom_uptime_ranges``. ``secret`` is scrubbed from every error message.
    """
    body = _json_object(response, method="getMonitors", secret=secret)
    monitors_raw = body.get("monitors")
    if not isinstance(monitors_raw, list):
        raise SourceBadResponse(SOURCE, "getMonitors response has no monitors list")

    source_field = "custom_uptime_ratio" if ratio_field == "ratios" else "custom_uptime_ranges"
    monitors: list[Monitor] = []
    for raw in monitors_raw:
        try:
            monitors.append(parse_monitor(raw, ratio_keys=ratio_keys, ratio_field=source_field))
        except (ValueError, TypeError, ValidationError) as exc:
            logger.warning(
                "uptimerobot monitor skipped id=%s reason=%s",
                _safe_id(raw),
                type(exc).__name__,
            )
    if monitors_raw and not monitors:
        raise SourceBadResponse(
            SOURCE, f"getMonitors returned {len(monitors_raw)} monitors and none could be parsed"
        )

    total = _page_total(body.get("pagination"), fallback=len(monitors_raw))
    return MonitorsPage(monitors=monitors, total=total)


def _json_object(response: httpx.Response, *, method: str, secret: str | None) -> dict[str, Any]:
    """Return the JSON object of a v2 response whose ``stat`` is ``ok``, else raise."""
    status = response.status_code
    if status in (401, 403):
        raise SourceAuthError(SOURCE, f"{method} failed with HTTP {status}; check the API key")
    if status >= 400:
        raise SourceBadResponse(SOURCE, f"{method} failed with HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "none")
        raise SourceBadResponse(
            SOURCE, f"{method} returned a body that is not JSON (Content-Type {content_type})"
        ) from None
    if not isinstance(body, dict):
        raise SourceBadResponse(SOURCE, f"{method} returned JSON that is not an object")

    stat = body.get("stat")
    if stat == "fail":
        raise _fail_error(method, body.get("error"), secret)
    if stat != "ok":
        raise SourceBadResponse(SOURCE, f"{method} response has no stat field (got {stat!r:.20})")
    return body


def _fail_error(method: str, error: Any, secret: str | None) -> SourceError:
    """Map a ``stat: fail`` body to the matching ``SourceError``.

    UptimeRobot echoes the rejected value in ``passed_value``, which can be the API key. So the
    message never reads ``passed_value``: it names the error type, the parameter and the upstream
    message, with the key scrubbed from them.
    """
    details = error if isinstance(error, dict) else {}
    error_type = _scrub(details.get("type"), secret) or "unknown"
    parameter = _scrub(details.get("parameter_name"), secret)
    upstream_message = _scrub(details.get("message"), secret)

    description = f"{method} failed: {error_type}"
    if parameter:
        description += f" (parameter {parameter})"
    if upstream_message:
        description += f": {upstream_message}"

    if error_type == "not_authorized" or (
        error_type in ("invalid_parameter", "missing_parameter") and parameter == "api_key"
    ):
        return SourceAuthError(
            SOURCE, f"{description}; check UPTIMEROBOT_API_KEY (a read-only key is enough)"
        )
    if error_type == "internal_error":
        return SourceUnavailable(SOURCE, description)
    return SourceBadResponse(SOURCE, description)


def _scrub(value: Any, secret: str | None) -> str:
    if not isinstance(value, str | int):
        return ""
    text = str(value)
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:MAX_MESSAGE_CHARS]


def _page_total(pagination: Any, *, fallback: int) -> int:
    if not isinstance(pagination, dict):
        return fallback
    total = _to_int(pagination.get("total"))
    return fallback if total is None or total < 0 else total


def parse_monitor(
    raw: Any,
    *,
    ratio_keys: Sequence[int] = UPTIME_WINDOWS_DAYS,
    ratio_field: str = "custom_uptime_ratio",
) -> Monitor:
    """Convert one raw v2 monitor into a ``Monitor``.

    Raises ``TypeError`` or ``ValueError`` when the monitor is not an object or has no usable id.
    """
    if not isinstance(raw, dict):
        raise TypeError("monitor is not an object")
    monitor_id = _to_int(raw.get("id"))
    if monitor_id is None:
        raise ValueError("monitor has no usable id")

    name = raw.get("friendly_name")
    return Monitor(
        id=monitor_id,
        name=name if isinstance(name, str) and name else f"Monitor {monitor_id}",
        url=_to_text(raw.get("url")),
        type=_map_code(raw.get("type"), _TYPES, MonitorType.UNKNOWN, "type", monitor_id),
        status=_map_code(raw.get("status"), _STATUSES, MonitorStatus.UNKNOWN, "status", monitor_id),
        interval_s=_to_int(raw.get("interval")),
        keyword_value=_to_text(raw.get("keyword_value")),
        created_at=_to_datetime(raw.get("create_datetime")),
        uptime_ratios=_split_ratios(raw.get(ratio_field), ratio_keys),
        average_response_time_ms=_to_float(raw.get("average_response_time")),
        logs=_parse_logs(raw.get("logs"), monitor_id),
        response_times=_parse_response_times(raw.get("response_times")),
        ssl=_parse_ssl(raw.get("ssl")),
        maintenance_windows=_parse_windows(raw.get("mwindows")),
    )


def _map_code(
    value: Any, table: Mapping[int, Code], unknown: Code, field: str, monitor_id: int
) -> Code:
    code = _to_int(value)
    if code is not None and code in table:
        return table[code]
    logger.warning(
        "uptimerobot unknown %s code=%s monitor_id=%s", field, _describe_code(value), monitor_id
    )
    return unknown


def _describe_code(value: Any) -> str:
    """Show an unexpected code safely: a number as is, anything else by its type only."""
    code = _to_int(value)
    return str(code) if code is not None else f"<{type(value).__name__}>"


def _split_ratios(value: Any, keys: Sequence[int]) -> dict[int, float | None]:
    """Split a dash-joined ratio string such as ``"100.000-99.950"`` in the order requested."""
    parts = value.split("-") if isinstance(value, str) and value else []
    return {
        key: _to_float(parts[index]) if index < len(parts) else None
        for index, key in enumerate(keys)
    }


def _parse_logs(value: Any, monitor_id: int) -> list[MonitorLog]:
    if not isinstance(value, list):
        return []
    logs: list[MonitorLog] = []
    for raw in value:
        at = _to_datetime(raw.get("datetime")) if isinstance(raw, dict) else None
        if at is None or not isinstance(raw, dict):
            logger.warning(
                "uptimerobot log skipped monitor_id=%s reason=no usable datetime", monitor_id
            )
            continue
        code = _to_int(raw.get("type"))
        log_type = _LOG_TYPES.get(code, LogType.UNKNOWN) if code is not None else LogType.UNKNOWN
        if log_type is LogType.UNKNOWN:
            logger.warning(
                "uptimerobot unknown log type=%s monitor_id=%s",
                _describe_code(raw.get("type")),
                monitor_id,
            )
        reason = raw.get("reason")
        if not isinstance(reason, dict):
            reason = {}
        logs.append(
            MonitorLog(
                id=_to_int(raw.get("id")),
                type=log_type,
                at=at,
                duration_s=_to_int(raw.get("duration")),
                reason_code=_to_text(reason.get("code")),
                reason_detail=_to_text(reason.get("detail")),
            )
        )
    return logs


def _parse_response_times(value: Any) -> list[ResponseTimePoint]:
    if not isinstance(value, list):
        return []
    points: list[ResponseTimePoint] = []
    for raw in value:
        if not isinstance(raw, dict):
            continue
        at = _to_datetime(raw.get("datetime"))
        value_ms = _to_float(raw.get("value"))
        if at is not None and value_ms is not None:
            points.append(ResponseTimePoint(at=at, value_ms=value_ms))
    return points


def _parse_ssl(value: Any) -> SslInfo | None:
    if not isinstance(value, dict) or not value:
        return None
    return SslInfo(
        brand=_to_text(value.get("brand")),
        product=_to_text(value.get("product")),
        expires_at=_to_datetime(value.get("expires")),
    )


def _parse_windows(value: Any) -> list[MaintenanceWindow]:
    if not isinstance(value, list):
        return []
    windows: list[MaintenanceWindow] = []
    for raw in value:
        if not isinstance(raw, dict):
            continue
        kind_code = _to_int(raw.get("type"))
        windows.append(
            MaintenanceWindow(
                id=_to_int(raw.get("id")),
                kind=_WINDOW_KINDS.get(kind_code, "unknown")
                if kind_code is not None
                else "unknown",
                name=_to_text(raw.get("friendly_name")),
                start_time=_to_text(raw.get("start_time")),
                duration_minutes=_to_int(raw.get("duration")),
                value=_to_text(raw.get("value")),
                # A window's status is 1 when it is enabled and 0 when it is paused.
                active=_to_int(raw.get("status")) == 1,
            )
        )
    return windows


# --- Value coercion: v2 sends numbers as numbers, as strings, or as "" for "not applicable" ----


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _to_int(value: Any) -> int | None:
    number = _to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _to_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(value)
    return None


def _to_datetime(value: Any) -> datetime | None:
    """Convert unix seconds to aware UTC, or to ``None`` for garbage and for 0.

    UptimeRobot sends ``create_datetime`` 0 for very old monitors.
    """
    seconds = _to_float(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _safe_id(raw: Any) -> str:
    monitor_id = _to_int(raw.get("id")) if isinstance(raw, dict) else None
    return "-" if monitor_id is None else str(monitor_id)


def _dash_join(values: Sequence[int]) -> str:
    return "-".join(str(value) for value in values)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
