"""Normalized upstream data: what ``app.sources`` returns and every layer above reads.

Every number is typed, every timestamp is an aware UTC ``datetime`` and every upstream code maps
to an enum with an explicit ``unknown``. Nothing above ``app.sources`` sees a raw upstream dict.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- UptimeRobot -------------------------------------------------------------------------------


class MonitorStatus(StrEnum):
    """UptimeRobot v2 monitor status: 0 paused, 1 not checked yet, 2 up, 8 seems down, 9 down."""

    PAUSED = "paused"
    NOT_CHECKED = "not_checked"
    UP = "up"
    SEEMS_DOWN = "seems_down"
    DOWN = "down"
    UNKNOWN = "unknown"


class MonitorType(StrEnum):
    """UptimeRobot v2 monitor type: 1 HTTP(s), 2 keyword, 3 ping, 4 port, 5 heartbeat."""

    HTTP = "http"
    KEYWORD = "keyword"
    PING = "ping"
    PORT = "port"
    HEARTBEAT = "heartbeat"
    UNKNOWN = "unknown"


class LogType(StrEnum):
    """UptimeRobot v2 log type: 1 down, 2 up, 98 started, 99 paused."""

    DOWN = "down"
    UP = "up"
    STARTED = "started"
    PAUSED = "paused"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorLog:
    """One state change of a monitor; ``duration_s`` is how long the state lasted.

    A slotted dataclass, as ``ResponseTimePoint`` is, because UptimeRobot sends up to 100 logs
    a monitor: one log takes about 1,170 bytes as a model (tracemalloc, Python 3.11, pydantic
    2.14) and validates the same way here.
    """

    id: int | None = Field(default=None, description="UptimeRobot's log id.")
    type: LogType = Field(description="What happened: down, up, started or paused.")
    at: AwareDatetime = Field(description="When the state began (UTC).")
    duration_s: int | None = Field(
        default=None, description="How long the state lasted, in seconds."
    )
    reason_code: str | None = Field(
        default=None, description="Reason code, usually an HTTP status such as `522`."
    )
    reason_detail: str | None = Field(
        default=None, description="Reason text, such as `Connection Timeout`."
    )


@dataclass(frozen=True, slots=True)
class ResponseTimePoint:
    """One response-time sample (or bucket average) of a monitor.

    It is a slotted dataclass rather than a model because a large account keeps hundreds of
    thousands of points in memory. One point takes about 130 bytes this way against about 560
    as a model (tracemalloc, Python 3.11, pydantic 2.14), and it validates the same way.
    """

    at: AwareDatetime = Field(description="When the sample (or bucket) was taken (UTC).")
    value_ms: float = Field(description="Response time in ms.")


class SslInfo(_Frozen):
    """TLS certificate facts UptimeRobot reports for a monitor; every field is optional."""

    brand: str | None = Field(
        default=None, description="Certificate issuer brand, such as `Let's Encrypt`."
    )
    product: str | None = Field(default=None, description="Certificate product name.")
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the certificate expires (UTC)."
    )


class MaintenanceWindow(_Frozen):
    """A maintenance window attached to a monitor (``kind``: once, daily, weekly, monthly)."""

    id: int | None = Field(default=None, description="UptimeRobot's maintenance window id.")
    kind: str = Field(
        default="unknown",
        description="Schedule: `once`, `daily`, `weekly`, `monthly` or `unknown`.",
    )
    name: str | None = Field(default=None, description="Friendly name of the window.")
    start_time: str | None = Field(
        default=None, description="Start as UptimeRobot sends it (a time of day or a date)."
    )
    duration_minutes: int | None = Field(
        default=None, description="Length of each occurrence, in minutes."
    )
    value: str | None = Field(
        default=None, description="Days of a weekly or monthly window, dash-separated."
    )
    active: bool = Field(
        default=False, description="Whether the window is enabled (not whether it runs now)."
    )


class Monitor(_Frozen):
    """One UptimeRobot monitor with the uptime, logs and response times asked for in one pass.

    ``uptime_ratios`` maps a window in days (1, 7, 30, 90) to a percentage, ``None`` when the
    upstream sent nothing usable for that window.
    """

    id: int
    name: str
    url: str | None = None
    type: MonitorType = MonitorType.UNKNOWN
    status: MonitorStatus = MonitorStatus.UNKNOWN
    interval_s: int | None = None
    keyword_value: str | None = None
    created_at: AwareDatetime | None = None
    uptime_ratios: dict[int, float | None] = Field(default_factory=dict)
    average_response_time_ms: float | None = None
    logs: list[MonitorLog] = Field(default_factory=list)
    response_times: list[ResponseTimePoint] = Field(default_factory=list)
    ssl: SslInfo | None = None
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)


class MonitorsSnapshot(_Frozen):
    """All monitors of the account (every page), as fetched at one moment."""

    monitors: list[Monitor] = Field(default_factory=list)
    total: int = 0
    pages: int = 0


# --- Sentry ------------------------------------------------------------------------------------


class IssueLevel(StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    UNKNOWN = "unknown"


class IssueStatus(StrEnum):
    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    UNKNOWN = "unknown"


class SentryIssue(_Frozen):
    """One Sentry issue (group); ``count`` is ``None`` when the upstream value was unusable."""

    id: str = Field(description="Sentry's issue id.")
    short_id: str | None = Field(default=None, description="Readable id such as `BACKEND-3F`.")
    title: str = Field(description="Issue title (private: admin only).")
    culprit: str | None = Field(
        default=None, description="Where the error happened, as Sentry names it."
    )
    permalink: str | None = Field(default=None, description="Link to the issue in Sentry.")
    level: IssueLevel = Field(default=IssueLevel.UNKNOWN, description="Severity level.")
    status: IssueStatus = Field(default=IssueStatus.UNKNOWN, description="Resolution status.")
    substatus: str | None = Field(
        default=None, description="Finer status such as `new`, `ongoing` or `regressed`."
    )
    priority: str | None = Field(
        default=None, description="Sentry's priority, where the server reports one."
    )
    project_slug: str = Field(description="Project slug.")
    project_id: str | None = Field(default=None, description="Numeric project id.")
    count: int | None = Field(
        default=None, description="Events in the issue; `null` when Sentry's value was unusable."
    )
    user_count: int | None = Field(default=None, description="Users affected.")
    first_seen: AwareDatetime | None = Field(default=None, description="First event (UTC).")
    last_seen: AwareDatetime | None = Field(default=None, description="Latest event (UTC).")
    is_unhandled: bool | None = Field(
        default=None, description="Whether the error was not caught by the app."
    )


class IssuesSnapshot(_Frozen):
    """Issues of one project; ``truncated`` is true when the page cap stopped the listing."""

    project: str
    issues: list[SentryIssue] = Field(default_factory=list)
    truncated: bool = False


class CountPoint(_Frozen):
    """A count in the bucket that starts at ``at``."""

    at: AwareDatetime = Field(description="Start of the bucket (UTC).")
    count: int = Field(description="Events in the bucket.")


class ErrorStats(_Frozen):
    """Accepted error events of one project: hourly over the last 24 h and the last 5 minutes."""

    project: str
    hourly: list[CountPoint] = Field(default_factory=list)
    total_24h: int = 0
    last_5m: int = 0


class PerformanceStats(_Frozen):
    """Transaction performance of one project over the last 24 h.

    ``failure_rate`` is a 0..1 fraction as Sentry reports it; durations are milliseconds; every
    figure is ``None`` when the project has no such data (for example no web vitals).
    """

    project: str = Field(description="Project slug.")
    transaction_count: int | None = Field(
        default=None, description="Transactions over the last 24 h."
    )
    failure_rate: float | None = Field(
        default=None, description="Failed transactions as a 0..1 fraction."
    )
    avg_duration_ms: float | None = Field(
        default=None, description="Average transaction duration in ms."
    )
    p95_duration_ms: float | None = Field(
        default=None, description="95th percentile transaction duration in ms."
    )
    lcp_p75_ms: float | None = Field(
        default=None, description="Largest Contentful Paint p75 in ms; `null` without web vitals."
    )


# --- Per-call facts ----------------------------------------------------------------------------


class RateLimitHeadroom(_Frozen):
    """Rate-limit state read from an upstream response's headers."""

    limit: int | None = Field(default=None, description="Calls allowed in the current window.")
    remaining: int | None = Field(default=None, description="Calls left in the current window.")
    reset_at: datetime | None = Field(default=None, description="When the window resets (UTC).")
    concurrent_limit: int | None = Field(
        default=None, description="Concurrent calls allowed (Sentry only)."
    )
    concurrent_remaining: int | None = Field(
        default=None, description="Concurrent calls left (Sentry only)."
    )
