"""The Sentry source: issues, accepted-error counts and transaction performance per project.

It calls the Sentry Web API (``/api/0/``) with an internal-integration token that has
``org:read project:read event:read``. Project filters on Sentry's organization endpoints take
numeric ids, so the source keeps a slug → id map, loaded from the projects list (``warm_up``
loads it at start-up). Every call goes through ``app.sources.base.send()`` under the semaphore
of its endpoint, because Sentry counts its concurrent-request limit per caller and per endpoint.
So a fan-out over projects runs its issues, stats_v2 and events calls at once, while no endpoint
has more than ``SENTRY_MAX_CONCURRENCY`` calls in flight.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import SecretStr

from app.config import Settings
from app.models.upstream import (
    CountPoint,
    ErrorStats,
    IssuesSnapshot,
    PerformanceStats,
    RateLimitHeadroom,
    SentryIssue,
)
from app.sources.base import CallRecorder, parse_epoch, parse_int, send
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
)
from app.sources.sentry_parsing import (
    PERFORMANCE_FIELDS,
    SOURCE,
    STATS_FIELD,
    current_bucket,
    expect_list,
    floor_time,
    format_sentry_datetime,
    parse_issue_page,
    parse_performance,
    parse_stats_series,
    sum_by_bucket,
)

logger = logging.getLogger(__name__)

# Sentry rejects per_page (and limit) above 100 with HTTP 400.
PAGE_SIZE = 100
PROJECT_PAGE_CAP = 20
PROJECT_REFETCH_INTERVAL = timedelta(seconds=60)
ISSUE_WINDOW_SORTS = frozenset({"freq", "user", "new"})
CONCURRENT_LIMIT_BACKOFF_S = (2.0, 4.0)
MAX_DETAIL_CHARS = 300
STATS_BUCKET = timedelta(minutes=5)
HOUR = timedelta(hours=1)

Params = list[tuple[str, str]]
# The Sentry endpoints Lookout calls; each has its own concurrency bound.
Endpoint = Literal["projects", "issues", "stats_v2", "events"]


@dataclass(frozen=True)
class _Page:
    """One decoded Sentry response: the JSON body and the parsed ``Link`` header."""

    body: Any
    links: dict[str | None, dict[str, str]]


def read_rate_limit_headroom(headers: httpx.Headers) -> RateLimitHeadroom:
    """Read Sentry's ``X-Sentry-Rate-Limit-*`` headers; a missing or garbled one is ``None``."""
    return RateLimitHeadroom(
        limit=parse_int(headers.get("X-Sentry-Rate-Limit-Limit")),
        remaining=parse_int(headers.get("X-Sentry-Rate-Limit-Remaining")),
        reset_at=parse_epoch(headers.get("X-Sentry-Rate-Limit-Reset")),
        concurrent_limit=parse_int(headers.get("X-Sentry-Rate-Limit-ConcurrentLimit")),
        concurrent_remaining=parse_int(headers.get("X-Sentry-Rate-Limit-ConcurrentRemaining")),
    )


class SentrySource:
    """Client for the parts of the Sentry Web API that Lookout reads.

    ``token`` overrides ``settings.sentry_auth_token`` (demo mode passes the simulator's token).
    ``clock`` is only used to pace reloads of the project list.
    """

    name = SOURCE

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        recorder: CallRecorder,
        token: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._recorder = recorder
        self._token: SecretStr | None = (
            SecretStr(token) if token is not None else settings.sentry_auth_token
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self._base_url = settings.sentry_base_url.rstrip("/")
        self._org = settings.sentry_org
        self._endpoint_semaphores: dict[Endpoint, asyncio.Semaphore] = {}
        self._projects_lock = asyncio.Lock()
        self._project_ids: dict[str, str] | None = None
        self._projects_loaded_at: datetime | None = None
        self._warned_concurrent_limit = False

    def __repr__(self) -> str:
        return f"SentrySource(base_url={self._base_url!r}, org={self._org!r})"

    # --- Projects ------------------------------------------------------------------------------

    async def warm_up(self) -> None:
        """Load the project slug → id map ahead of the first request, which then need not wait.

        A ``SourceError`` (what every failed Sentry call raises) is logged as a warning instead
        of raised, so start-up goes on, and the first fetch then loads the list itself.
        """
        try:
            await self.fetch_project_ids()
        except SourceError as exc:
            logger.warning(
                "sentry warm-up: project list not loaded, kind=%s: %s", exc.kind, exc.message
            )

    async def fetch_project_ids(self) -> dict[str, str]:
        """Return the organization's project slug → numeric id map, loading it once."""
        if self._project_ids is None:
            async with self._projects_lock:
                if self._project_ids is None:
                    await self._load_project_ids()
        assert self._project_ids is not None
        return dict(self._project_ids)

    async def _load_project_ids(self) -> None:
        org = self._require_org()
        url = self._url(f"organizations/{quote(org, safe='')}/projects/")
        ids: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(PROJECT_PAGE_CAP):
            params: Params = [("per_page", str(PAGE_SIZE))]
            if cursor is not None:
                params.append(("cursor", cursor))
            page = await self._get(
                url,
                params,
                endpoint="projects",
                key="sentry:projects",
                context=f"organization {org!r}",
            )
            items = expect_list(page.body, "sentry:projects")
            if not items:
                break
            for item in items:
                slug, project_id = _project_entry(item)
                if slug is None or project_id is None:
                    logger.warning("sentry projects: skipped an item without a slug and an id")
                    continue
                ids[slug] = project_id
            cursor = _next_cursor(page.links)
            if cursor is None:
                break
        else:
            logger.warning(
                "sentry projects: stopped after %d pages; projects beyond them are not known",
                PROJECT_PAGE_CAP,
            )
        self._project_ids = ids
        self._projects_loaded_at = self._clock()

    async def _project_id(self, project: str) -> str:
        """Return the numeric id of ``project``, reloading the list once when the slug is new."""
        ids = await self.fetch_project_ids()
        if project in ids:
            return ids[project]
        async with self._projects_lock:
            known = self._project_ids or {}
            loaded_at = self._projects_loaded_at
            recently = (
                loaded_at is not None and self._clock() - loaded_at < PROJECT_REFETCH_INTERVAL
            )
            if project not in known and not recently:
                await self._load_project_ids()
                known = self._project_ids or {}
        if project in known:
            return known[project]
        visible = ", ".join(sorted(known)[:10]) or "none"
        raise SourceBadResponse(
            SOURCE,
            f"project {project!r} not found in organization {self._org!r}; check "
            f"SENTRY_PROJECTS (projects the token can see: {visible})",
        )

    # --- Issues --------------------------------------------------------------------------------

    async def fetch_issues(self, project: str) -> IssuesSnapshot:
        """Fetch the project's issues with events in the last 24 h, every status, newest first.

        ``query`` is sent empty on purpose: without it Sentry applies ``is:unresolved`` and
        resolved issues vanish from the list.
        """
        project_id = await self._project_id(project)
        params: Params = [
            ("project", project_id),
            ("query", ""),
            ("statsPeriod", "24h"),
            ("sort", "date"),
            ("limit", str(PAGE_SIZE)),
        ]
        return await self._fetch_issue_pages(project, params, key=f"sentry:issues:{project}")

    async def fetch_issues_window(
        self, project: str, start: datetime, end: datetime, sort: str
    ) -> IssuesSnapshot:
        """Fetch the project's issues seen between ``start`` and ``end`` (for weekly reports).

        ``sort`` is ``freq`` (most events), ``user`` (most users) or ``new`` (first seen).
        """
        if sort not in ISSUE_WINDOW_SORTS:
            raise ValueError(f"sort must be one of {', '.join(sorted(ISSUE_WINDOW_SORTS))}")
        if end <= start:
            raise ValueError("end must be later than start")
        project_id = await self._project_id(project)
        params: Params = [
            ("project", project_id),
            ("query", ""),
            ("start", format_sentry_datetime(start)),
            ("end", format_sentry_datetime(end)),
            ("sort", sort),
            ("limit", str(PAGE_SIZE)),
        ]
        key = f"sentry:issues_window:{project}"
        return await self._fetch_issue_pages(project, params, key=key)

    async def _fetch_issue_pages(self, project: str, params: Params, *, key: str) -> IssuesSnapshot:
        url = self._url(f"organizations/{quote(self._require_org(), safe='')}/issues/")
        context = self._ctx(project)
        page_cap = self._settings.sentry_issue_page_cap
        issues: dict[str, SentryIssue] = {}
        cursor: str | None = None
        truncated = False
        for page_number in range(1, page_cap + 1):
            page_params = params if cursor is None else [*params, ("cursor", cursor)]
            page = await self._get(url, page_params, endpoint="issues", key=key, context=context)
            items = expect_list(page.body, key)
            if not items:
                break
            for issue in parse_issue_page(items, project, key):
                issues.setdefault(issue.id, issue)
            cursor = _next_cursor(page.links)
            if cursor is None:
                if len(items) == PAGE_SIZE:
                    # Some Sentry endpoints have reported results="false" while data remained.
                    logger.info(
                        "sentry issues key=%s: page %d is full (%d items) but Sentry reports "
                        "no next page; the list may be incomplete",
                        key,
                        page_number,
                        len(items),
                    )
                break
            if page_number == page_cap:
                truncated = True
                logger.info(
                    "sentry issues key=%s: stopped at the page cap (%d pages, "
                    "SENTRY_ISSUE_PAGE_CAP); more issues exist",
                    key,
                    page_cap,
                )
        return IssuesSnapshot(project=project, issues=list(issues.values()), truncated=truncated)

    # --- Error counts --------------------------------------------------------------------------

    async def fetch_error_stats(self, project: str) -> ErrorStats:
        """Fetch the project's accepted error events: hourly for 24 h, and the last 5 minutes.

        One stats_v2 request (outcome ``accepted``, 5-minute buckets over 24 h) gives both
        figures, so they count the same thing and cost one call. ``hourly`` sums the buckets of
        each UTC hour, for the 24 hours up to and including the current, partial one. The hour
        before them, which Sentry adds when it floors the range, is dropped.
        ``last_5m`` is the last complete 5-minute bucket before Sentry's "now", so it does not
        drop back at each bucket boundary.
        """
        project_id = await self._project_id(project)
        key = f"sentry:stats:{project}"

        params = [*_stats_params(project_id, "5m"), ("statsPeriod", "24h")]
        page = await self._get(
            self._stats_url(), params, endpoint="stats_v2", key=key, context=self._ctx(project)
        )
        buckets = parse_stats_series(page.body, key)
        current = current_bucket(page.body, buckets, STATS_BUCKET)

        current_hour = floor_time(current, HOUR)
        first_hour = current_hour - 23 * HOUR
        hourly = [p for p in sum_by_bucket(buckets, HOUR) if first_hour <= p.at <= current_hour]
        last_complete = current - STATS_BUCKET
        last_5m = sum(p.count for p in buckets if p.at == last_complete)

        return ErrorStats(
            project=project,
            hourly=hourly,
            total_24h=sum(point.count for point in hourly),
            last_5m=last_5m,
        )

    async def fetch_error_counts_window(
        self, project: str, start: datetime, end: datetime
    ) -> list[CountPoint]:
        """Fetch accepted error events per UTC day between ``start`` and ``end``.

        Sentry floors the range to whole days, so the first bucket starts at the UTC midnight
        at or before ``start``. Buckets after ``end`` are dropped.
        """
        if end <= start:
            raise ValueError("end must be later than start")
        project_id = await self._project_id(project)
        key = f"sentry:counts_window:{project}"
        params = [
            *_stats_params(project_id, "1d"),
            ("start", format_sentry_datetime(start)),
            ("end", format_sentry_datetime(end)),
        ]
        page = await self._get(
            self._stats_url(), params, endpoint="stats_v2", key=key, context=self._ctx(project)
        )
        first_day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return [p for p in parse_stats_series(page.body, key) if first_day <= p.at < end]

    def _stats_url(self) -> str:
        return self._url(f"organizations/{quote(self._require_org(), safe='')}/stats_v2/")

    # --- Performance ---------------------------------------------------------------------------

    async def fetch_performance(self, project: str) -> PerformanceStats:
        """Fetch the project's transaction figures over 24 h from the events (Discover) endpoint.

        A 200 with no rows is not an error: Sentry sends it when no project is accessible (with
        a ``meta.tips`` message, logged as a warning) or when there are no transactions.
        """
        project_id = await self._project_id(project)
        key = f"sentry:performance:{project}"
        url = self._url(f"organizations/{quote(self._require_org(), safe='')}/events/")
        params: Params = [("field", field) for field in PERFORMANCE_FIELDS]
        # NOTE: the public API schema lists only newer datasets (spans, errors, ...); Sentry's
        # events endpoint still accepts "transactions", which is where event.type:transaction
        # lives on orgs that have not moved to spans.
        params += [
            ("dataset", "transactions"),
            ("query", "event.type:transaction"),
            ("project", project_id),
            ("statsPeriod", "24h"),
        ]
        page = await self._get(url, params, endpoint="events", key=key, context=self._ctx(project))
        return parse_performance(page.body, project, key)

    async def fetch_performance_window(
        self, project: str, start: datetime, end: datetime
    ) -> PerformanceStats:
        """Fetch the project's transaction figures between ``start`` and ``end`` (for reports).

        The same Discover query as ``fetch_performance``, over an explicit window.
        """
        if end <= start:
            raise ValueError("end must be later than start")
        project_id = await self._project_id(project)
        key = f"sentry:performance_window:{project}"
        url = self._url(f"organizations/{quote(self._require_org(), safe='')}/events/")
        params: Params = [("field", field) for field in PERFORMANCE_FIELDS]
        params += [
            ("dataset", "transactions"),
            ("query", "event.type:transaction"),
            ("project", project_id),
            ("start", format_sentry_datetime(start)),
            ("end", format_sentry_datetime(end)),
        ]
        page = await self._get(url, params, endpoint="events", key=key, context=self._ctx(project))
        return parse_performance(page.body, project, key)

    # --- HTTP ----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self._base_url}/api/0/{path}"

    def _ctx(self, project: str) -> str:
        return f"project {project!r} in organization {self._org!r}"

    def _require_org(self) -> str:
        if not self._org:
            raise SourceBadResponse(
                SOURCE, "SENTRY_ORG is not set; set it to your Sentry organization slug"
            )
        return self._org

    def _bearer(self) -> str:
        if self._token is None or not self._token.get_secret_value():
            raise SourceAuthError(
                SOURCE, "SENTRY_AUTH_TOKEN is not set; set it or run with DEMO_MODE=true"
            )
        return f"Bearer {self._token.get_secret_value()}"

    def _semaphore(self, endpoint: Endpoint) -> asyncio.Semaphore:
        """Return the semaphore of ``endpoint``, creating it on first use."""
        semaphore = self._endpoint_semaphores.get(endpoint)
        if semaphore is None:
            semaphore = asyncio.Semaphore(self._settings.sentry_max_concurrency)
            self._endpoint_semaphores[endpoint] = semaphore
        return semaphore

    async def _get(
        self, url: str, params: Params, *, endpoint: Endpoint, key: str, context: str
    ) -> _Page:
        """Send one GET under the semaphore of ``endpoint`` and decode the response."""
        request = self._client.build_request(
            "GET",
            url,
            params=tuple(params),
            headers={"Authorization": self._bearer(), "Accept": "application/json"},
        )
        seen: list[httpx.Headers] = []

        def read_headroom(headers: httpx.Headers) -> RateLimitHeadroom:
            seen.append(headers)
            headroom = read_rate_limit_headroom(headers)
            self._check_concurrent_limit(headroom)
            return headroom

        async with self._semaphore(endpoint):
            try:
                return await send(
                    self._client,
                    request,
                    source=SOURCE,
                    key=key,
                    recorder=self._recorder,
                    read_headroom=read_headroom,
                    parse=lambda response: self._decode(response, key, context),
                )
            except SourceRateLimited as exc:
                raise _concurrent_limit_error(exc, seen, key) from None

    def _check_concurrent_limit(self, headroom: RateLimitHeadroom) -> None:
        advertised = headroom.concurrent_limit
        configured = self._settings.sentry_max_concurrency
        if advertised is None or advertised >= configured or self._warned_concurrent_limit:
            return
        self._warned_concurrent_limit = True
        logger.warning(
            "sentry allows %d concurrent requests but SENTRY_MAX_CONCURRENCY is %d; lower it to "
            "avoid HTTP 429",
            advertised,
            configured,
        )

    def _decode(self, response: httpx.Response, key: str, context: str) -> _Page:
        """Turn a non-2xx status into a ``SourceError`` and the body into JSON."""
        status = response.status_code
        if not 200 <= status < 300:
            raise self._status_error(response, key, context)
        try:
            body = response.json()
        except ValueError:
            raise SourceBadResponse(SOURCE, f"{key}: response is not valid JSON") from None
        return _Page(body=body, links=response.links)

    def _status_error(self, response: httpx.Response, key: str, context: str) -> SourceError:
        status = response.status_code
        detail = self._error_detail(response)
        suffix = f": {detail}" if detail else ""
        if status == 401:
            return SourceAuthError(
                SOURCE,
                f"{key}: Sentry rejected the token (HTTP 401{suffix}); check SENTRY_AUTH_TOKEN",
            )
        if status == 403:
            return SourceAuthError(
                SOURCE,
                f"{key}: access to {context} denied (HTTP 403{suffix}). The token lacks a scope "
                "such as event:read, or access to the project; org auth tokens (sntrys_) only "
                "have org:ci, so use an internal-integration token with org:read, project:read "
                "and event:read",
            )
        if status == 404:
            return SourceBadResponse(
                SOURCE,
                f"{key}: {context} not found (HTTP 404{suffix}); check SENTRY_ORG, SENTRY_PROJECTS "
                "and SENTRY_BASE_URL (EU organizations live on https://de.sentry.io)",
            )
        if status == 400:
            return SourceBadResponse(
                SOURCE, f"{key}: Sentry rejected the request (HTTP 400): {detail or 'no detail'}"
            )
        if 300 <= status < 400:
            return SourceBadResponse(
                SOURCE,
                f"{key}: Sentry redirected the request (HTTP {status}); set SENTRY_BASE_URL to "
                "the host of your organization's region",
            )
        return SourceBadResponse(SOURCE, f"{key}: unexpected HTTP {status}{suffix}")

    def _error_detail(self, response: httpx.Response) -> str | None:
        """Extract Sentry's ``detail`` (or field errors) from an error body, shortened.

        The token is removed in case an error body ever echoes it.
        """
        try:
            body = response.json()
        except ValueError:
            return None
        text: str | None = None
        if isinstance(body, dict):
            if isinstance(body.get("detail"), str):
                text = body["detail"]
            else:
                parts = [
                    f"{name}: {' '.join(str(m) for m in value)}"
                    for name, value in body.items()
                    if isinstance(value, list)
                ]
                text = "; ".join(parts) or None
        if not text:
            return None
        if self._token is not None and self._token.get_secret_value():
            text = text.replace(self._token.get_secret_value(), "[redacted]")
        return text[:MAX_DETAIL_CHARS]


# --- Helpers -------------------------------------------------------------------------------------


def _stats_params(project_id: str, interval: str) -> Params:
    return [
        ("field", STATS_FIELD),
        ("groupBy", "outcome"),
        ("category", "error"),
        ("outcome", "accepted"),
        ("interval", interval),
        ("project", project_id),
    ]


def _concurrent_limit_error(
    exc: SourceRateLimited, seen: Sequence[httpx.Headers], key: str
) -> SourceRateLimited:
    """Shorten the wait of a 429 caused by the concurrent-request limit, not the window.

    A slot frees as soon as another request finishes, so waiting for the window reset (or the
    generic default) would idle far longer than needed. An explicit ``Retry-After`` still wins.
    """
    if not seen:
        return exc
    headers = seen[-1]
    headroom = read_rate_limit_headroom(headers)
    window_exhausted = headroom.remaining is not None and headroom.remaining <= 0
    if (
        headroom.concurrent_remaining != 0
        or window_exhausted
        or headers.get("Retry-After") is not None
    ):
        return exc
    # Jitter spreads the retries of callers that hit the limit together; not security related.
    retry_after = random.uniform(*CONCURRENT_LIMIT_BACKOFF_S)  # noqa: S311
    return SourceRateLimited(
        SOURCE, f"{key} rate limited (HTTP 429, concurrent request limit)", retry_after
    )


def _next_cursor(links: dict[str | None, dict[str, str]]) -> str | None:
    """Return the cursor of the next page, or ``None`` when Sentry reports no next page.

    Sentry always sends a ``rel="next"`` link; only ``results="true"`` means it has data. The
    cursor is re-sent on the configured host rather than following the link's URL, so the
    token never goes to a host taken from a response.
    """
    link = links.get("next")
    if not link or link.get("results", "").lower() != "true":
        return None
    cursor = link.get("cursor")
    if not cursor:
        cursor = next(iter(parse_qs(urlsplit(link.get("url", "")).query).get("cursor", [])), None)
    return cursor or None


def _project_entry(item: Any) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    slug = item.get("slug")
    raw_id = item.get("id")
    project_id = None
    if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id):
        project_id = str(raw_id)
    return (slug if isinstance(slug, str) and slug else None), project_id
