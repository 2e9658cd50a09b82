"""The fake Sentry: projects, issues, stats_v2 and events (Discover) over the demo world.

It speaks the wire format clients meet. ``Link`` headers always carry both ``previous`` and
``next`` with ``results="true"|"false"``. ``count`` is a string and ``userCount`` an int, ids are
strings, and timestamps come with and without microseconds. stats_v2 ranges are widened to whole
hours the way Sentry's outcomes query rounds them. Errors are ``{"detail": ...}`` with Sentry's
messages, and every response has ``X-Sentry-Rate-Limit-*`` headers. Faults (latency, 5xx, 429,
malformed bodies, timeouts) are applied by the simulator's middleware, not here.

Authentication: any Bearer token is accepted except the literal ``bad`` (HTTP 401) and tokens
starting with ``sntrys_`` (HTTP 403), which are org auth tokens that only carry ``org:ci``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.demo.sentry_data import (
    HOUR,
    MINUTE,
    TRANSACTIONS,
    DemoIssue,
    SentryData,
    ceil_time,
    floor_time,
    performance_figures,
)
from app.demo.state import SimulatorState
from app.demo.world import DemoProject

DEMO_ORG = "demo"
REJECTED_TOKEN = "bad"  # noqa: S105
MAX_PAGE_SIZE = 100
DEFAULT_PERIOD = timedelta(days=14)
MAX_STATS_POINTS = 10_000
RATE_LIMIT_PER_SECOND = 40
CONCURRENT_LIMIT = 25

STATS_FIELDS = frozenset({"sum(quantity)", "sum(times_seen)"})
STATS_GROUP_BY = frozenset({"outcome", "category", "reason", "project"})
STATS_CATEGORIES = (
    "error",
    "transaction",
    "attachment",
    "replay",
    "profile",
    "profile_duration",
    "span",
    "monitor",
    "log_item",
)
STATS_OUTCOMES = (
    "accepted",
    "filtered",
    "rate_limited",
    "invalid",
    "abuse",
    "client_discard",
    "cardinality_limited",
)
EVENT_DATASETS = frozenset({"discover", "transactions", "errors", "spans", "metricsEnhanced"})
ISSUE_SORTS = frozenset({"date", "new", "freq", "user", "trends", "inbox", "recommended"})


class WireError(Exception):
    """A Sentry error response: the status and the ``detail`` text Sentry would send."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# --- Time helpers --------------------------------------------------------------------------------


def iso(value: datetime, *, micro: bool = False) -> str:
    """Format as Sentry does: UTC with ``Z``, microseconds only when ``micro``."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_period(value: str) -> timedelta | None:
    """Parse a Sentry period such as ``24h`` or ``14d``; ``None`` when it is not one."""
    match = re.fullmatch(r"(\d+)([smhdw])", value.strip())
    if match is None:
        return None
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WireError(400, f"{name} is not a valid ISO-8601 date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- Rendering -----------------------------------------------------------------------------------


def render_issue(
    issue: DemoIssue, org: str, now: datetime, stats_period: str | None
) -> dict[str, Any]:
    """Render the issue as Sentry's organization issues endpoint serializes it.

    Every key the published schema requires is present, with made-up values where the demo has
    no story to tell.
    """
    project = issue.project
    first_seen = iso(issue.first_seen, micro=issue.micro)
    last_seen = iso(issue.last_seen)
    body: dict[str, Any] = {
        "id": issue.id,
        "shareId": None,
        "shortId": issue.short_id,
        "title": issue.title,
        "culprit": f"{issue.filename} in handle",
        "permalink": f"https://{org}.sentry.example.test/issues/{issue.id}/",
        "logger": None,
        "level": issue.level,
        "status": issue.status,
        "statusDetails": {},
        "substatus": issue.substatus,
        "isPublic": False,
        "platform": project.platform,
        "priority": issue.priority,
        "priorityLockedAt": None,
        "seerFixabilityScore": None,
        "seerAutofixLastTriggered": None,
        "seerExplorerAutofixLastTriggered": None,
        "project": {
            "id": project.id,
            "name": project.slug.capitalize(),
            "slug": project.slug,
            "platform": project.platform,
        },
        "type": "error",
        "issueType": "error",
        "issueCategory": "error",
        "metadata": {
            "type": issue.exception,
            "value": issue.message,
            "filename": issue.filename,
            "function": "handle",
        },
        "numComments": issue.number % 3,
        "assignedTo": (
            {"type": "team", "id": "1", "name": f"{project.slug}-team"} if issue.assigned else None
        ),
        "isBookmarked": False,
        "isSubscribed": issue.assigned,
        "subscriptionDetails": None,
        "hasSeen": issue.number % 2 == 0,
        "annotations": [],
        "isUnhandled": issue.unhandled,
        "count": str(issue.count),
        "userCount": issue.user_count,
        "firstSeen": first_seen,
        "lastSeen": last_seen,
        "lifetime": {
            "count": str(issue.count),
            "userCount": issue.user_count,
            "firstSeen": first_seen,
            "lastSeen": last_seen,
        },
        "filtered": None,
        "sessionCount": 0,
        "inbox": {"reason": 0, "reason_details": None, "date_added": first_seen},
        "owners": {"type": "ownershipRule", "owner": "team:1", "date_added": first_seen},
        "derivedData": {
            "blocker": "none",
            "progress": "not_started",
            "status": "open",
            "viewCount": issue.number % 5,
            "hasOpenFixPr": False,
            "isAssigned": issue.assigned,
            "hasRootCause": False,
            "lastCompletedAutofixStep": "none",
            "lastProgressedAt": None,
        },
        "integrationIssues": [],
        "sentryAppIssues": [],
        "latestEventHasAttachments": False,
        "matchingEventId": None,
        "matchingEventEnvironment": None,
    }
    if stats_period:
        body["stats"] = {stats_period: _issue_timeline(issue, now, stats_period)}
    else:
        body["stats"] = {}
    return body


def _issue_timeline(issue: DemoIssue, now: datetime, period: str) -> list[list[int]]:
    """Build hourly points over 24 h (``24h``) or daily points over 14 days (``14d``)."""
    step, points = (timedelta(days=1), 14) if period == "14d" else (HOUR, 24)
    current = floor_time(now, step)
    active_from = floor_time(issue.first_seen, step)
    timeline = []
    for index in range(points):
        at = current - step * (points - 1 - index)
        active = active_from <= at <= issue.last_seen
        value = (int(issue.id) * 31 + index * 17) % 9 if active else 0
        timeline.append([int(at.timestamp()), value])
    return timeline


_PROJECT_FLAGS = (
    "hasFeedbacks",
    "hasFlags",
    "hasInsightsAgentMonitoring",
    "hasInsightsAppStart",
    "hasInsightsAssets",
    "hasInsightsCaches",
    "hasInsightsDb",
    "hasInsightsMCP",
    "hasInsightsQueues",
    "hasInsightsScreenLoad",
    "hasLogs",
    "hasMinifiedStackTrace",
    "hasMonitors",
    "hasNewFeedbacks",
    "hasProfiles",
    "hasReplays",
    "hasTraceMetrics",
    "hasUserReports",
)


def render_project(project: DemoProject, anchor: datetime) -> dict[str, Any]:
    """Render the project as Sentry's organization projects endpoint serializes it."""
    created = anchor - timedelta(days=400)
    team = {"id": "1", "name": f"{project.slug.capitalize()} team", "slug": f"{project.slug}-team"}
    body: dict[str, Any] = dict.fromkeys(_PROJECT_FLAGS, False)
    body.update(
        {
            "id": project.id,
            "slug": project.slug,
            "name": project.slug.capitalize(),
            "platform": project.platform,
            "platforms": [project.platform],
            "dateCreated": iso(created.replace(microsecond=536_000), micro=True),
            "firstEvent": iso(created + timedelta(hours=2)),
            "firstTransactionEvent": True,
            "isBookmarked": False,
            "isMember": True,
            "hasAccess": True,
            "access": ["org:read", "project:read", "event:read"],
            "features": ["releases", "performance-view"],
            "environments": ["production"],
            "hasSessions": project.has_web_vitals,
            "hasInsightsHttp": True,
            "hasInsightsVitals": project.has_web_vitals,
            "team": team,
            "teams": [team],
            "latestRelease": {"version": f"{project.slug}@1.42.0"},
        }
    )
    return body


# --- Request parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A request's query string with repeated keys kept, as Sentry (Django) reads it."""

    pairs: list[tuple[str, str]]

    @classmethod
    def of(cls, request: Request) -> Query:
        return cls(parse_qsl(request.url.query, keep_blank_values=True))

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.pairs if key == name), None)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def check_auth(request: Request, *, bad_key_fault: bool = False) -> None:
    """Reject a missing or bad Bearer token as Sentry does (401), and org tokens (403).

    Under the ``bad_key`` fault every token is rejected as an invalid one.
    """
    header = request.headers.get("Authorization")
    if not header:
        raise WireError(401, "Authentication credentials were not provided.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise WireError(401, "Invalid token header. No credentials provided.")
    if token == REJECTED_TOKEN or bad_key_fault:
        raise WireError(401, "Invalid token")
    if token.startswith("sntrys_"):
        raise WireError(403, "You do not have permission to perform this action.")


def check_page_size(query: Query, name: str) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return MAX_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise WireError(400, f"Invalid {name} value.") from None
    if size > MAX_PAGE_SIZE:
        raise WireError(400, "Invalid per_page value. Cannot exceed 100.")
    if size < 1:
        raise WireError(400, f"Invalid {name} value.")
    return size


def parse_cursor(query: Query) -> int:
    """Return the offset of an ``<value>:<offset>:<is_prev>`` cursor (0 without one)."""
    raw = query.get("cursor")
    if not raw:
        return 0
    parts = raw.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        raise WireError(400, "Invalid cursor parameter.")
    return int(parts[1])


def time_window(query: Query, now: datetime) -> tuple[datetime, datetime]:
    """Return the window of ``statsPeriod`` (which wins) or ``start`` and ``end``.

    Without either, the window is the last 14 days, Sentry's default.
    """
    period_text = query.get("statsPeriod")
    if period_text:
        period = parse_period(period_text)
        if period is None:
            raise WireError(400, f"Invalid statsPeriod: {period_text!r}")
        return now - period, now
    start, end = query.get("start"), query.get("end")
    if start or end:
        if not (start and end):
            raise WireError(400, "start and end are both required")
        start_at, end_at = parse_time(start, "start"), parse_time(end, "end")
        if end_at <= start_at:
            raise WireError(400, "start must be before end")
        return start_at, end_at
    return now - DEFAULT_PERIOD, now


def link_header(request: Request, offset: int, limit: int, has_more: bool) -> str:
    """Build Sentry's ``Link`` header, which always has both ``previous`` and ``next``."""
    previous_offset = max(offset - limit, 0)

    def url(cursor: str) -> str:
        pairs = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True)]
        pairs = [(k, v) for k, v in pairs if k != "cursor"] + [("cursor", cursor)]
        return str(request.url.replace(query=urlencode(pairs)))

    previous_cursor = f"0:{previous_offset}:1"
    next_cursor = f"0:{offset + limit}:0"
    return (
        f'<{url(previous_cursor)}>; rel="previous"; results="{str(offset > 0).lower()}"; '
        f'cursor="{previous_cursor}", '
        f'<{url(next_cursor)}>; rel="next"; results="{str(has_more).lower()}"; '
        f'cursor="{next_cursor}"'
    )


# --- Issue search --------------------------------------------------------------------------------


def filter_issues(issues: Iterable[DemoIssue], text: str | None) -> list[DemoIssue]:
    """Apply a small subset of Sentry's search syntax: ``is:``, ``level:`` and free text.

    No ``query`` parameter at all means ``is:unresolved``, as in Sentry; an empty one means
    every status.
    """
    text = "is:unresolved" if text is None else text
    statuses: set[str] = set()
    levels: set[str] = set()
    words: list[str] = []
    for token in text.split():
        name, _, value = token.partition(":")
        if name == "is" and value:
            statuses.add("ignored" if value == "archived" else value)
        elif name == "level" and value:
            levels.add(value)
        else:
            words.append(token.lower())
    return [
        issue
        for issue in issues
        if (not statuses or issue.status in statuses)
        and (not levels or issue.level in levels)
        and all(word in issue.title.lower() for word in words)
    ]


_SORT_KEYS: dict[str, Callable[[DemoIssue], Any]] = {
    "new": lambda issue: issue.first_seen,
    "freq": lambda issue: issue.count,
    "user": lambda issue: issue.user_count,
}


def _last_seen(issue: DemoIssue) -> datetime:
    return issue.last_seen


def sort_issues(issues: list[DemoIssue], sort: str) -> list[DemoIssue]:
    """Sort newest (or biggest) first; ``date`` and the sorts the simulator lacks use last seen."""
    key = _SORT_KEYS.get(sort, _last_seen)
    return sorted(issues, key=lambda issue: (key(issue), int(issue.id)), reverse=True)


# --- stats_v2 ------------------------------------------------------------------------------------


def stats_range(query: Query, now: datetime) -> tuple[datetime, datetime, timedelta]:
    """Return the range and interval that Sentry's outcomes query really uses.

    Sentry rounds the range up to whole hours (or whole intervals above an hour) and moves its
    end to the next boundary, so the first bucket can start well before the requested start.
    An end in the future is then cut back to the next minute. This mirrors the
    ``get_constrained_date_range`` function that Sentry's outcomes query uses.
    """
    interval_text = query.get("interval") or "1h"
    interval = parse_period(interval_text)
    if interval is None or interval % MINUTE or interval < MINUTE:
        raise WireError(
            400, "The interval has to be a multiple of the minimum interval of one minute."
        )
    if interval > timedelta(days=1):
        raise WireError(400, "The interval has to be less than one day.")
    if timedelta(days=1) % interval:
        raise WireError(400, "The interval should divide one day without a remainder.")

    start, end = time_window(query, now)
    if query.get("end") and not query.get("statsPeriod"):
        end += timedelta(seconds=1)
    rounding = HOUR * math.ceil(interval / HOUR)
    length = rounding * math.ceil((end - start) / rounding)
    end = ceil_time(end, rounding)
    if rounding > interval and end - length > start:
        length += rounding
    start = end - length
    if end > now:
        end = floor_time(now, MINUTE) + MINUTE
    return start, end, interval


def check_stats_query(query: Query) -> None:
    """Reject stats_v2 parameters the way Sentry does, with its 400 messages."""
    fields = query.getlist("field")
    if not fields:
        raise WireError(400, 'At least one "field" is required.')
    for field in fields:
        if field not in STATS_FIELDS:
            raise WireError(400, f'Invalid field: "{field}"')
    for group in query.getlist("groupBy"):
        if group not in STATS_GROUP_BY:
            raise WireError(400, f'Invalid groupBy: "{group}"')
    for category in query.getlist("category"):
        if category not in STATS_CATEGORIES:
            raise WireError(400, f'Invalid category: "{category}"')
    for outcome in query.getlist("outcome"):
        if outcome not in STATS_OUTCOMES:
            raise WireError(400, f'Invalid outcome: "{outcome}"')
    if not query.getlist("category") and "category" not in query.getlist("groupBy"):
        raise WireError(400, "Query must have category as groupby or filter")


def stats_intervals(start: datetime, end: datetime, interval: timedelta) -> list[datetime]:
    """List the bucket starts of ``[start, end)``, rejecting ranges with too many buckets."""
    if (end - start) // interval + 1 > MAX_STATS_POINTS:
        raise WireError(
            400,
            "Your interval and date range would create too many results. Use a larger "
            "interval, or a smaller date range.",
        )
    intervals = []
    at = start
    while at < end:
        intervals.append(at)
        at += interval
    return intervals


def stats_groups(
    data: SentryData,
    query: Query,
    projects: list[DemoProject],
    intervals: list[datetime],
    end: datetime,
) -> list[dict[str, Any]]:
    field = query.get("field") or ""
    group_by = query.getlist("groupBy")
    categories = query.getlist("category") or list(STATS_CATEGORIES)
    outcomes = query.getlist("outcome") or list(STATS_OUTCOMES)
    buckets = [
        (at, intervals[i + 1] if i + 1 < len(intervals) else end) for i, at in enumerate(intervals)
    ]

    def count(project: DemoProject, category: str, outcome: str, a: datetime, b: datetime) -> int:
        if category == "error" and outcome == "accepted":
            return data.errors(project, a, b)
        if category == "error" and outcome == "rate_limited":
            return data.rate_limited(project, a, b)
        if category == "error" and outcome == "filtered":
            return data.errors(project, a, b) // 40
        if category == "transaction" and outcome == "accepted":
            return data.transactions(project, a, b)
        return 0

    rows: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for project in projects:
        for category in categories:
            for outcome in outcomes:
                by: dict[str, str] = {}
                if "outcome" in group_by:
                    by["outcome"] = outcome
                if "category" in group_by:
                    by["category"] = category
                if "project" in group_by:
                    by["project"] = project.id
                if "reason" in group_by:
                    by["reason"] = "none" if outcome == "accepted" else "demo"
                series = [count(project, category, outcome, a, b) for a, b in buckets]
                row_key = tuple(sorted(by.items()))
                if row_key in rows:
                    rows[row_key] = [x + y for x, y in zip(rows[row_key], series, strict=True)]
                else:
                    rows[row_key] = series

    groups = []
    for row_key, series in rows.items():
        by_values: dict[str, Any] = dict(row_key)
        if "project" in by_values:
            by_values["project"] = int(by_values["project"])
        if group_by and not any(series) and "outcome" in group_by:
            continue
        group: dict[str, Any] = {"by": by_values, "totals": {field: sum(series)}}
        # Sentry has no time series when grouping by project, only totals.
        group["series"] = {} if "project" in group_by else {field: series}
        groups.append(group)
    return groups


# --- Discover ------------------------------------------------------------------------------------

_FIELD_TYPES = {
    "count()": ("integer", None),
    "count_unique(user)": ("integer", None),
    "failure_rate()": ("percentage", None),
    "epm()": ("rate", "1/minute"),
    "avg(transaction.duration)": ("duration", "millisecond"),
    "p50(transaction.duration)": ("duration", "millisecond"),
    "p75(transaction.duration)": ("duration", "millisecond"),
    "p95(transaction.duration)": ("duration", "millisecond"),
    "p99(transaction.duration)": ("duration", "millisecond"),
    "p75(measurements.lcp)": ("duration", "millisecond"),
    "transaction": ("string", None),
    "project": ("string", None),
}


def check_events_query(query: Query) -> tuple[list[str], str]:
    """Return the requested fields and dataset, rejecting what the simulator cannot serve."""
    fields = query.getlist("field")
    if not fields:
        raise WireError(400, "No columns selected")
    unknown = [field for field in fields if field not in _FIELD_TYPES]
    if unknown:
        raise WireError(400, f"Invalid query. {unknown[0]} is not a valid field.")
    dataset = query.get("dataset") or "discover"
    if dataset not in EVENT_DATASETS:
        choices = ", ".join(sorted(EVENT_DATASETS))
        raise WireError(400, f"dataset must be one of: {choices}")
    check_page_size(query, "per_page")
    return fields, dataset


def events_meta(fields: list[str], dataset: str) -> dict[str, Any]:
    """Build the ``meta`` block: a type and a unit for every requested field."""
    return {
        "fields": {field: _FIELD_TYPES[field][0] for field in fields},
        "units": {field: _FIELD_TYPES[field][1] for field in fields},
        "isMetricsData": False,
        "isMetricsExtractedData": False,
        "tips": {},
        "datasetReason": "unchanged",
        "dataset": dataset,
    }


def events_rows(
    data: SentryData,
    fields: list[str],
    projects: list[DemoProject],
    start: datetime,
    end: datetime,
    now: datetime,
    errors_only: bool,
) -> list[dict[str, Any]]:
    """Build rows keyed by the requested field strings: one aggregate row, or one per
    transaction when ``transaction`` is among the fields."""
    if errors_only:
        errors = sum(data.errors(project, start, min(end, now)) for project in projects)
        aggregate = dict.fromkeys(_FIELD_TYPES) | {
            "count()": errors,
            "count_unique(user)": errors // 3,
        }
        return [{field: aggregate.get(field) for field in fields}]

    per_project = {p.slug: performance_figures(data, p, start, end, now) for p in projects}
    if "transaction" not in fields:
        return [{field: _combine(per_project, field) for field in fields}]

    rows = []
    for project in projects:
        figures = per_project[project.slug]
        for name, share, slowness in TRANSACTIONS.get(project.slug, ()):
            row: dict[str, Any] = {}
            for field in fields:
                value: Any = figures.get(field)
                if field == "transaction":
                    value = name
                elif field == "project":
                    value = project.slug
                elif field in ("count()", "count_unique(user)") and isinstance(value, int):
                    value = round(value * share)
                elif field == "epm()" and isinstance(value, float):
                    value = round(value * share, 4)
                elif "transaction.duration" in field and isinstance(value, float):
                    value = round(value * slowness, 3)
                row[field] = value
            rows.append(row)
    return rows


def _combine(per_project: dict[str, dict[str, float | int | None]], field: str) -> Any:
    """Combine one field over several projects: sums for counts, weighted means otherwise."""
    figures = list(per_project.values())
    values = [f.get(field) for f in figures]
    if field in ("count()", "count_unique(user)", "epm()"):
        return sum(v for v in values if isinstance(v, int | float))
    weighted = [
        (v, f.get("count()") or 0) for v, f in zip(values, figures, strict=True) if v is not None
    ]
    total = sum(weight for _, weight in weighted)
    if not weighted or not total:
        return None
    return round(sum(float(v) * w for v, w in weighted) / total, 6)


# --- The router ----------------------------------------------------------------------------------


def build_sentry_router(state: SimulatorState, *, org: str = DEMO_ORG) -> APIRouter:
    """Serve the fake Sentry Web API under ``/api/0/`` for the organization ``org``.

    Data that does not depend on "now" (projects, issues) is built once here, so even many
    thousands of extra issues cost one build per simulator.
    """
    router = APIRouter(prefix="/api/0", tags=["sentry"])
    data = SentryData(state.world)

    def respond(request: Request, serve: Callable[[], Response]) -> Response:
        now = state.clock()
        try:
            check_auth(request, bad_key_fault=state.fault("sentry").bad_key)
            response = serve()
        except WireError as exc:
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status)
        reset = int(now.timestamp()) + 1
        response.headers.update(
            {
                "X-Sentry-Rate-Limit-Limit": str(RATE_LIMIT_PER_SECOND),
                "X-Sentry-Rate-Limit-Remaining": str(RATE_LIMIT_PER_SECOND - 1),
                "X-Sentry-Rate-Limit-Reset": str(reset),
                "X-Sentry-Rate-Limit-ConcurrentLimit": str(CONCURRENT_LIMIT),
                "X-Sentry-Rate-Limit-ConcurrentRemaining": str(CONCURRENT_LIMIT - 1),
            }
        )
        return response

    def check_org(org_slug: str) -> None:
        if org_slug != org:
            raise WireError(404, "The requested resource does not exist")

    def resolve_projects(query: Query) -> list[DemoProject]:
        """Projects of the ``project`` filter; none or ``-1`` means every project."""
        ids = query.getlist("project")
        if not ids or "-1" in ids:
            return list(data.projects)
        unknown = [value for value in ids if value not in data.by_id]
        if unknown:
            raise WireError(403, "You do not have permission to perform this action.")
        return [data.by_id[value] for value in dict.fromkeys(ids)]

    def issue_keys(query: Query) -> list[str]:
        ids = query.getlist("project")
        if not ids:
            return ["sentry:issues:all"]
        return [
            f"sentry:issues:{data.by_id[value].slug if value in data.by_id else value}"
            for value in ids
        ]

    def issues_page(
        request: Request, query: Query, issues: list[DemoIssue], stats_period: str | None
    ) -> Response:
        limit = check_page_size(query, "limit")
        offset = parse_cursor(query)
        page = issues[offset : offset + limit]
        now = state.clock()
        body = [render_issue(issue, org, now, stats_period) for issue in page]
        link = link_header(request, offset, limit, offset + limit < len(issues))
        return JSONResponse(body, headers={"Link": link})

    @router.get("/organizations/{org_slug}/projects/")
    def list_projects(org_slug: str, request: Request) -> Response:
        state.count("sentry:projects")

        def serve() -> Response:
            check_org(org_slug)
            query = Query.of(request)
            limit = check_page_size(query, "per_page")
            offset = parse_cursor(query)
            page = data.projects[offset : offset + limit]
            body = [render_project(project, state.world.anchor) for project in page]
            link = link_header(request, offset, limit, offset + limit < len(data.projects))
            return JSONResponse(body, headers={"Link": link})

        return respond(request, serve)

    @router.get("/organizations/{org_slug}/issues/")
    def list_org_issues(org_slug: str, request: Request) -> Response:
        query = Query.of(request)
        for key in issue_keys(query):
            state.count(key)

        def serve() -> Response:
            check_org(org_slug)
            projects = resolve_projects(query)
            sort = query.get("sort") or "date"
            if sort not in ISSUE_SORTS:
                raise WireError(400, f"Invalid sort: {sort!r}")
            now = state.clock()
            start, end = time_window(query, now)
            candidates = [
                issue
                for project in projects
                for issue in data.issues[project.slug]
                if issue.last_seen >= start and issue.first_seen <= end
            ]
            issues = sort_issues(filter_issues(candidates, query.get("query")), sort)
            timeline = query.get("groupStatsPeriod") or "24h"
            stats_period = "24h" if timeline == "auto" else timeline
            return issues_page(request, query, issues, stats_period or None)

        return respond(request, serve)

    @router.get("/projects/{org_slug}/{project_slug}/issues/")
    def list_project_issues(org_slug: str, project_slug: str, request: Request) -> Response:
        state.count(f"sentry:issues:{project_slug}")

        def serve() -> Response:
            check_org(org_slug)
            project = data.by_slug.get(project_slug)
            if project is None:
                raise WireError(404, "The requested resource does not exist")
            query = Query.of(request)
            # Here statsPeriod only picks the timeline inside "stats"; it filters nothing.
            stats_period = query.get("statsPeriod")
            stats_period = "24h" if stats_period is None else stats_period
            if stats_period not in ("", "24h", "14d"):
                raise WireError(400, "Invalid stats_period. Valid choices are '', '24h', and '14d'")
            sort = query.get("sort") or "date"
            issues = sort_issues(filter_issues(data.issues[project.slug], query.get("query")), sort)
            return issues_page(request, query, issues, stats_period or None)

        return respond(request, serve)

    @router.get("/organizations/{org_slug}/stats_v2/")
    def stats_v2(org_slug: str, request: Request) -> Response:
        state.count("sentry:stats")

        def serve() -> Response:
            check_org(org_slug)
            query = Query.of(request)
            check_stats_query(query)
            projects = resolve_projects(query)
            start, end, interval = stats_range(query, state.clock())
            intervals = stats_intervals(start, end, interval)
            groups = stats_groups(data, query, projects, intervals, end)
            body = {
                "start": iso(start),
                "end": iso(end),
                "intervals": [iso(at) for at in intervals],
                "groups": groups,
            }
            return JSONResponse(body)

        return respond(request, serve)

    @router.get("/organizations/{org_slug}/events/")
    def events(org_slug: str, request: Request) -> Response:
        state.count("sentry:events")

        def serve() -> Response:
            check_org(org_slug)
            query = Query.of(request)
            fields, dataset = check_events_query(query)
            now = state.clock()
            start, end = time_window(query, now)
            projects = resolve_projects(query)
            if not projects:
                body = {
                    "data": [],
                    "meta": {"tips": {"query": "Need at least one valid project to query."}},
                }
                return JSONResponse(body)
            errors_only = dataset == "errors" or "event.type:error" in (query.get("query") or "")
            rows = events_rows(data, fields, projects, start, end, now, errors_only)
            meta = events_meta(fields, dataset)
            return JSONResponse({"data": rows, "meta": meta})

        return respond(request, serve)

    return router
