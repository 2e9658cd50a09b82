"""What both upstream clients share: one guarded HTTP call and the record of each call.

``send()`` is the only place an upstream request is made. It turns httpx failures into
``SourceError`` subclasses, measures the call, reads rate-limit headroom from the headers and logs
one line per call (source, key, status, duration), with the URL stripped of its query string so a
credential in it can never reach a log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from app.models.upstream import RateLimitHeadroom
from app.sources.errors import (
    SourceError,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_RETRY_AFTER_S = 60.0
MAX_RETRY_AFTER_S = 3600.0


@dataclass
class SourceHealth:
    """Health of one upstream, from its most recent calls."""

    source: str
    calls: int = 0
    failures: int = 0
    last_call_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_kind: str | None = None
    last_status: int | None = None
    last_duration_ms: float | None = None
    headroom: RateLimitHeadroom = field(default_factory=RateLimitHeadroom)


CallObserver = Callable[[str, str, str, float], None]
"""Called after every upstream call with (source, key, outcome, duration in seconds)."""


class CallRecorder:
    """Keeps a ``SourceHealth`` per upstream and notifies observers (metrics) of every call."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._health: dict[str, SourceHealth] = {}
        self._observers: list[CallObserver] = []

    def add_observer(self, observer: CallObserver) -> None:
        self._observers.append(observer)

    def health(self, source: str) -> SourceHealth:
        return self._health.setdefault(source, SourceHealth(source=source))

    def all_health(self) -> list[SourceHealth]:
        return list(self._health.values())

    def record(
        self,
        source: str,
        key: str,
        *,
        status: int | None,
        duration_s: float,
        error: SourceError | None = None,
        headroom: RateLimitHeadroom | None = None,
    ) -> None:
        now = self._clock()
        health = self.health(source)
        health.calls += 1
        health.last_call_at = now
        health.last_status = status
        health.last_duration_ms = round(duration_s * 1000, 1)
        if headroom is not None:
            health.headroom = headroom
        if error is None:
            health.last_success_at = now
            outcome = "ok"
        else:
            health.failures += 1
            health.last_error_at = now
            health.last_error_kind = error.kind
            outcome = error.kind
        for observer in self._observers:
            observer(source, key, outcome, duration_s)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` as seconds or an HTTP date; ``None`` when absent or garbage."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def parse_epoch(value: str | None) -> datetime | None:
    """Parse an epoch-seconds header (int or float text) into aware UTC, ``None`` if unusable."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except (ValueError, OverflowError):
        return None


def describe_url(url: httpx.URL) -> str:
    """Return the URL without its query string, safe to log."""
    return str(url.copy_with(query=None))


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    source: str,
    key: str,
    recorder: CallRecorder,
    read_headroom: Callable[[httpx.Headers], RateLimitHeadroom],
    parse: Callable[[httpx.Response], T],
) -> T:
    """Send one upstream request and parse its response with ``parse``.

    Transport failures, 429 and 5xx become ``SourceError`` here; ``parse`` handles every other
    status and the body, raising ``SourceError`` for what it cannot use. Each call is recorded
    and logged once, with its final outcome.
    """
    started = time.perf_counter()
    try:
        response = await client.send(request)
    except httpx.TimeoutException as exc:
        error: SourceError = SourceTimeout(source, f"{key} timed out ({type(exc).__name__})")
        _finish(recorder, source, key, request, None, started, error, None)
        raise error from None
    except httpx.HTTPError as exc:
        error = SourceUnavailable(source, f"{key} failed: {type(exc).__name__}")
        _finish(recorder, source, key, request, None, started, error, None)
        raise error from None

    headroom = read_headroom(response.headers)
    status = response.status_code
    try:
        if status == 429:
            raise _rate_limited(source, key, response, headroom)
        if status >= 500:
            raise SourceUnavailable(source, f"{key} returned HTTP {status}")
        result = parse(response)
    except SourceError as exc:
        _finish(recorder, source, key, request, status, started, exc, headroom)
        raise
    _finish(recorder, source, key, request, status, started, None, headroom)
    return result


def _rate_limited(
    source: str, key: str, response: httpx.Response, headroom: RateLimitHeadroom
) -> SourceRateLimited:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is None and headroom.reset_at is not None:
        retry_after = max((headroom.reset_at - datetime.now(UTC)).total_seconds(), 1.0)
    return SourceRateLimited(
        source,
        f"{key} rate limited (HTTP 429)",
        retry_after_s=retry_after if retry_after is not None else DEFAULT_RETRY_AFTER_S,
    )


def _finish(
    recorder: CallRecorder,
    source: str,
    key: str,
    request: httpx.Request,
    status: int | None,
    started: float,
    error: SourceError | None,
    headroom: RateLimitHeadroom | None,
) -> None:
    duration_s = time.perf_counter() - started
    recorder.record(
        source, key, status=status, duration_s=duration_s, error=error, headroom=headroom
    )
    logger.info(
        "upstream call source=%s key=%s method=%s url=%s status=%s duration_ms=%.1f outcome=%s",
        source,
        key,
        request.method,
        describe_url(request.url),
        status if status is not None else "-",
        duration_s * 1000,
        error.kind if error else "ok",
    )
