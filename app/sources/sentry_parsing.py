"""Parsing of Sentry's wire format into Lookout's models, for ``app.sources.sentry``.

Sentry sends ``count`` as a string and ``userCount`` as an int, timestamps with a varying number
of fractional digits, stats_v2 series that line up with ``intervals``, and Discover rows keyed by
the requested field strings with their types in ``meta``. Nothing here does I/O, and a shape the
parser cannot use raises ``SourceBadResponse``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from app.models.upstream import (
    CountPoint,
    IssueLevel,
    IssueStatus,
    PerformanceStats,
    SentryIssue,
)
from app.sources.errors import SourceBadResponse

logger = logging.getLogger(__name__)

SOURCE = "sentry"

STATS_FIELD = "sum(quantity)"
FIELD_COUNT = "count()"
FIELD_FAILURE_RATE = "failure_rate()"
FIELD_AVG_DURATION = "avg(transaction.duration)"
FIELD_P95_DURATION = "p95(transaction.duration)"
FIELD_LCP_P75 = "p75(measurements.lcp)"
PERFORMANCE_FIELDS = (
    FIELD_COUNT,
    FIELD_FAILURE_RATE,
    FIELD_AVG_DURATION,
    FIELD_P95_DURATION,
    FIELD_LCP_P75,
)

# Discover reports durations with a unit in ``meta.units``; Lookout keeps milliseconds.
_MS_PER_UNIT = {
    "nanosecond": 1e-6,
    "microsecond": 1e-3,
    "millisecond": 1.0,
    "second": 1e3,
    "minute": 60e3,
    "hour": 3600e3,
    "day": 86_400e3,
    "week": 604_800e3,
}

E = TypeVar("E", bound=StrEnum)


def parse_sentry_datetime(value: object) -> datetime | None:
    """Parse a Sentry ISO-8601 timestamp (any number of fractional digits) into aware UTC.

    A timestamp without an offset is read as UTC, which is what Sentry means by it.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_sentry_datetime(value: datetime) -> str:
    """Format an aware datetime for Sentry's ``start``/``end`` parameters (UTC, no offset)."""
    if value.tzinfo is None:
        raise ValueError("expected an aware datetime, got a naive one")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def expect_list(body: Any, key: str) -> list[Any]:
    """Return ``body`` when it is a JSON array, else raise ``SourceBadResponse``."""
    if not isinstance(body, list):
        raise SourceBadResponse(SOURCE, f"{key}: expected a JSON array, got {type(body).__name__}")
    return body


# --- Issue parsing -------------------------------------------------------------------------------


@dataclass
class _IssueProblems:
    """Unusable values met while parsing one page, logged once per page instead of per issue."""

    skipped: int = 0
    fields: int = 0
    example: str | None = None

    def field(self, issue_id: str, name: str, value: object) -> None:
        self.fields += 1
        if self.example is None:
            self.example = f"{name}={str(value)[:40]!r} on issue {issue_id}"


def parse_issue_page(items: list[Any], project: str, key: str) -> list[SentryIssue]:
    """Parse one page of issues, skipping malformed items and logging problems once."""
    problems = _IssueProblems()
    issues: list[SentryIssue] = []
    for item in items:
        issue = _parse_issue(item, project, problems)
        if issue is None:
            problems.skipped += 1
        else:
            issues.append(issue)
    if problems.skipped:
        logger.warning(
            "sentry issues key=%s: skipped %d malformed issues (no id or not an object)",
            key,
            problems.skipped,
        )
    if problems.fields:
        logger.warning(
            "sentry issues key=%s: %d unusable field values left empty, for example %s",
            key,
            problems.fields,
            problems.example,
        )
    return issues


def _parse_issue(item: Any, project: str, problems: _IssueProblems) -> SentryIssue | None:
    """Parse one issue; a bad field becomes ``None``, only an item without an id is skipped."""
    if not isinstance(item, dict):
        return None
    raw_id = item.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        return None
    issue_id = str(raw_id)

    title = item.get("title")
    if not isinstance(title, str):
        problems.field(issue_id, "title", title)
        title = _optional_str(item.get("shortId")) or f"Issue {issue_id}"

    project_info = json_object(item.get("project"))
    project_slug = _optional_str(project_info.get("slug")) or project
    project_id = project_info.get("id")

    return SentryIssue(
        id=issue_id,
        short_id=_optional_str(item.get("shortId")),
        title=title,
        culprit=_optional_str(item.get("culprit")),
        permalink=_optional_str(item.get("permalink")),
        level=_enum(IssueLevel, item.get("level"), IssueLevel.UNKNOWN),
        status=_enum(IssueStatus, item.get("status"), IssueStatus.UNKNOWN),
        substatus=_optional_str(item.get("substatus")),
        priority=_optional_str(item.get("priority")),
        project_slug=project_slug,
        project_id=str(project_id) if isinstance(project_id, str | int) else None,
        count=_issue_count(item, "count", issue_id, problems, null_is_problem=True),
        user_count=_issue_count(item, "userCount", issue_id, problems, null_is_problem=False),
        first_seen=_issue_time(item, "firstSeen", issue_id, problems),
        last_seen=_issue_time(item, "lastSeen", issue_id, problems),
        is_unhandled=item.get("isUnhandled") if isinstance(item.get("isUnhandled"), bool) else None,
    )


def _issue_count(
    item: dict[str, Any],
    name: str,
    issue_id: str,
    problems: _IssueProblems,
    *,
    null_is_problem: bool,
) -> int | None:
    """Parse ``count`` (a string such as ``"1287"`` on the wire) or ``userCount`` (an int)."""
    if name not in item:
        return None
    value = item[name]
    if value is None:
        if null_is_problem:
            problems.field(issue_id, name, value)
        return None
    parsed = _strict_count(value)
    if parsed is None:
        problems.field(issue_id, name, value)
    return parsed


def _strict_count(value: object) -> int | None:
    """Parse an exact non-negative count from an int or a digit string, else return ``None``.

    Abbreviations such as ``"1.5k"`` are rejected rather than guessed.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _issue_time(
    item: dict[str, Any], name: str, issue_id: str, problems: _IssueProblems
) -> datetime | None:
    value = item.get(name)
    if value is None:
        return None
    parsed = parse_sentry_datetime(value)
    if parsed is None:
        problems.field(issue_id, name, value)
    return parsed


def json_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _enum(kind: type[E], value: object, unknown: E) -> E:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            return unknown
    return unknown


# --- stats_v2 parsing ----------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_stats_series(body: Any, key: str) -> list[CountPoint]:
    """Sum the ``sum(quantity)`` series of the accepted-outcome groups, one point per interval."""
    if not isinstance(body, dict):
        raise SourceBadResponse(SOURCE, f"{key}: expected a JSON object from stats_v2")
    intervals = body.get("intervals")
    groups = body.get("groups")
    if not isinstance(intervals, list) or not isinstance(groups, list):
        raise SourceBadResponse(SOURCE, f"{key}: stats_v2 response lacks intervals or groups")
    times = [parse_sentry_datetime(value) for value in intervals]
    if any(at is None for at in times):
        raise SourceBadResponse(SOURCE, f"{key}: stats_v2 interval is not a timestamp")

    counts = [0] * len(times)
    for group in groups:
        if not isinstance(group, dict):
            raise SourceBadResponse(SOURCE, f"{key}: stats_v2 group is not an object")
        by = json_object(group.get("by"))
        if by.get("outcome", "accepted") != "accepted":
            continue
        series = group.get("series")
        values = series.get(STATS_FIELD) if isinstance(series, dict) else None
        if not isinstance(values, list) or len(values) != len(times):
            raise SourceBadResponse(
                SOURCE, f"{key}: stats_v2 series does not line up with its intervals"
            )
        for index, value in enumerate(values):
            count = _strict_count(value) if value is not None else 0
            if count is None:
                raise SourceBadResponse(SOURCE, f"{key}: stats_v2 count {value!r} is not a count")
            counts[index] += count
    return [CountPoint(at=at, count=count) for at, count in zip(times, counts, strict=True) if at]


def current_bucket(body: Any, points: list[CountPoint], step: timedelta) -> datetime:
    """Return the start of the bucket that contains the response's ``end``, Sentry's "now".

    Reading "now" from the response keeps the window right when Lookout's clock and Sentry's
    differ. Without ``end`` the last bucket is taken as the current one.
    """
    end = parse_sentry_datetime(body.get("end")) if isinstance(body, dict) else None
    if end is None:
        if points:
            return points[-1].at
        end = datetime.now(UTC)
    return floor_time(end - timedelta(microseconds=1), step)


def floor_time(at: datetime, step: timedelta) -> datetime:
    """Return the start of the ``step`` bucket containing ``at``, buckets aligned to the epoch.

    Sentry aligns its stats_v2 buckets the same way, so for 1 h they start on UTC hours.
    """
    return _EPOCH + step * ((at - _EPOCH) // step)


def sum_by_bucket(points: list[CountPoint], step: timedelta) -> list[CountPoint]:
    """Sum ``points`` into buckets of ``step`` (a multiple of their interval), oldest first.

    A bucket is listed when at least one point falls in it; the first and last may be partial.
    """
    sums: dict[datetime, int] = {}
    for point in points:
        bucket = floor_time(point.at, step)
        sums[bucket] = sums.get(bucket, 0) + point.count
    return [CountPoint(at=at, count=count) for at, count in sorted(sums.items())]


# --- Discover parsing ----------------------------------------------------------------------------


def parse_performance(body: Any, project: str, key: str) -> PerformanceStats:
    """Parse the first Discover row into ``PerformanceStats``; no rows give all ``None``."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SourceBadResponse(SOURCE, f"{key}: events response lacks a data array")
    meta = json_object(body.get("meta"))
    rows: list[Any] = body["data"]
    if not rows:
        tips = json_object(meta.get("tips"))
        tip = next((str(value) for value in tips.values() if value), None)
        if tip:
            logger.warning("sentry performance key=%s: Sentry returned no rows: %s", key, tip)
        else:
            logger.info("sentry performance key=%s: no transactions in the last 24 h", key)
        return PerformanceStats(project=project)
    row = rows[0]
    if not isinstance(row, dict):
        raise SourceBadResponse(SOURCE, f"{key}: events row is not an object")

    types = json_object(meta.get("fields"))
    units = json_object(meta.get("units"))
    values = {
        field: _discover_value(row.get(field), types.get(field), units.get(field), key, field)
        for field in PERFORMANCE_FIELDS
    }

    count = values[FIELD_COUNT]
    failure_rate = values[FIELD_FAILURE_RATE]
    if failure_rate is not None and not 0.0 <= failure_rate <= 1.0:
        logger.warning(
            "sentry performance key=%s: failure_rate() %r is outside 0..1; left empty",
            key,
            failure_rate,
        )
        failure_rate = None
    lcp = values[FIELD_LCP_P75]
    # A page load never has an LCP of 0 ms: Sentry reports 0 or null when no web vitals exist.
    if lcp is not None and lcp <= 0:
        lcp = None
    return PerformanceStats(
        project=project,
        transaction_count=round(count) if count is not None else None,
        failure_rate=failure_rate,
        avg_duration_ms=values[FIELD_AVG_DURATION],
        p95_duration_ms=values[FIELD_P95_DURATION],
        lcp_p75_ms=lcp,
    )


def _discover_value(
    value: object, type_name: object, unit: object, key: str, field: str
) -> float | None:
    """Convert one Discover value by the type and unit the response's ``meta`` gives it.

    ``duration`` values are converted to milliseconds; ``integer`` values must be whole.
    """
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or number != number:
        logger.warning("sentry performance key=%s: %s value %r is not a number", key, field, value)
        return None
    if type_name == "integer" and not number.is_integer():
        logger.warning("sentry performance key=%s: %s value %r is not whole", key, field, value)
        return None
    if type_name == "duration":
        factor = _MS_PER_UNIT.get(unit if isinstance(unit, str) else "millisecond")
        if factor is None:
            logger.warning("sentry performance key=%s: %s has unknown unit %r", key, field, unit)
            return None
        number *= factor
    return number
