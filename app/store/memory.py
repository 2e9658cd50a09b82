"""The in-process snapshot store: TTL, single flight, stale-while-revalidate, serve-stale-on-error.

Every fetch runs in a task the store owns (a flight), at most one per key. Readers wait on it
with ``asyncio.wait``, so a reader that is cancelled or gives up never cancels the fetch, and the
value it brings is there for the next reader. Ages come from an injected monotonic clock and the
datetimes shown in ``Freshness`` from an injected wall clock, so tests control both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models.snapshot import Freshness, SnapshotRead
from app.sources.errors import SourceError, SourceRateLimited
from app.store.base import (
    DEFAULT_ERROR_RETRY_S,
    ERROR_KIND_RATE_LIMITED,
    ERROR_KIND_TIMEOUT,
    ERROR_KIND_UNEXPECTED,
    NO_VALUE,
    Fetch,
    Registration,
    SnapshotStore,
    error_retry_delay_s,
    reject_awaitable,
)
from app.store.ratelimit import UpstreamBlock, UpstreamBlocks

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Entry:
    """One key's state; ``*_monotonic`` fields are readings of the store's monotonic clock."""

    registration: Registration
    value: Any = NO_VALUE
    value_sequence: int = 0
    fetched_monotonic: float | None = None
    fetched_at: datetime | None = None
    failures: int = 0
    error_kind: str | None = None
    error_monotonic: float | None = None
    error_at: datetime | None = None
    stale_mark_sequence: int | None = None
    flight: asyncio.Task[None] | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not NO_VALUE


class MemorySnapshotStore(SnapshotStore):
    """Snapshot store that keeps values in this process; the default backend.

    ``fetch_timeout_s`` bounds how long a read without a usable value waits for the fetch.
    ``flight_timeout_s`` bounds the fetch itself, so that a hung upstream call cannot block a
    key for good.
    """

    def __init__(
        self,
        *,
        max_stale_s: float,
        fetch_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        error_retry_s: float = DEFAULT_ERROR_RETRY_S,
        flight_timeout_s: float | None = None,
    ) -> None:
        if max_stale_s <= 0 or fetch_timeout_s <= 0 or error_retry_s < 0:
            raise ValueError(
                "max_stale_s and fetch_timeout_s must be positive and error_retry_s not negative"
            )
        self._max_stale_s = max_stale_s
        self._fetch_timeout_s = fetch_timeout_s
        # NOTE: four fetch timeouts is an estimate that leaves room for a paginated fetch.
        self._flight_timeout_s = flight_timeout_s or 4 * fetch_timeout_s
        self._error_retry_s = error_retry_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._blocks = UpstreamBlocks(clock, wall_clock)
        self._entries: dict[str, _Entry] = {}
        self._flights: set[asyncio.Task[None]] = set()
        self._sequence = 0
        self._version = 0
        self._changed = asyncio.Event()
        self._closed = False

    # --- registration and plain accessors ------------------------------------------------------

    def register(
        self,
        key: str,
        fetch: Fetch,
        *,
        ttl_s: float,
        upstream: str,
        model: Any = None,
        poll: bool = True,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s for snapshot key {key!r} must be positive, got {ttl_s}")
        registration = Registration(
            key=key, fetch=fetch, ttl_s=ttl_s, upstream=upstream, model=model, poll=poll
        )
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(registration=registration)
        else:
            entry.registration = registration

    def registration(self, key: str) -> Registration:
        return self._entry(key).registration

    def keys(self) -> list[str]:
        return list(self._entries)

    def freshness(self, key: str) -> Freshness:
        return self._describe(self._entry(key)).freshness

    def blocked_until(self, upstream: str) -> datetime | None:
        block = self._blocks.active(upstream)
        return None if block is None else block.until_at

    def block_upstream(
        self, upstream: str, retry_after_s: float, *, since_at: datetime | None = None
    ) -> None:
        """Stop fetches of every key of ``upstream`` for ``retry_after_s`` seconds."""
        self._blocks.block(upstream, retry_after_s, since_at=since_at)

    def active_block(self, upstream: str) -> UpstreamBlock | None:
        """Return the rate-limit block of ``upstream`` in force now, or ``None``."""
        return self._blocks.active(upstream)

    @property
    def version(self) -> int:
        return self._version

    # --- reads and writes ----------------------------------------------------------------------

    async def read(self, key: str) -> SnapshotRead:
        entry = self._entry(key)
        now = self._clock()
        if self._usable(entry, now):
            if self._due(entry, now) and self._may_refresh_in_background(entry, now):
                self._start_flight(entry)
            return self._describe(entry)
        return await self._await_flight(entry)

    async def refresh(self, key: str, *, min_age_s: float | None = None) -> SnapshotRead:
        entry = self._entry(key)
        fetched = entry.fetched_monotonic
        if min_age_s is not None and fetched is not None and self._clock() - fetched < min_age_s:
            return self._describe(entry)
        return await self._await_flight(entry)

    def mark_stale(self, key: str) -> None:
        self._entry(key).stale_mark_sequence = self._next_sequence()

    async def put(self, key: str, value: Any) -> None:
        entry = self._entry(key)
        reject_awaitable(value, key)
        self._store_value(entry, value, self._next_sequence())
        entry.failures = 0
        entry.stale_mark_sequence = None

    async def wait_for_change(self, after_version: int, timeout_s: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._version <= after_version:
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                break
            changed = self._changed
            try:
                async with asyncio.timeout(remaining_s):
                    await changed.wait()
            except TimeoutError:
                break
        return self._version

    async def wait_idle(self) -> None:
        """Wait until no fetch is in flight, so a caller sees the outcome of every fetch."""
        while self._flights:
            await asyncio.wait(set(self._flights))

    async def close(self) -> None:
        self._closed = True
        flights = list(self._flights)
        for flight in flights:
            flight.cancel()
        if flights:
            await asyncio.gather(*flights, return_exceptions=True)

    # --- freshness rules -----------------------------------------------------------------------

    def _entry(self, key: str) -> _Entry:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"snapshot key {key!r} is not registered") from None

    def _usable(self, entry: _Entry, now: float) -> bool:
        if not entry.has_value or entry.fetched_monotonic is None:
            return False
        return now - entry.fetched_monotonic < self._max_stale_s

    def _due(self, entry: _Entry, now: float) -> bool:
        """Return True when ``entry`` has no value, has expired, is marked stale or failed last."""
        if entry.fetched_monotonic is None or entry.failures:
            return True
        if entry.stale_mark_sequence is not None:
            return True
        return now - entry.fetched_monotonic >= entry.registration.ttl_s

    def _retry_delay_s(self, entry: _Entry) -> float:
        return error_retry_delay_s(entry.failures, self._error_retry_s, entry.registration.ttl_s)

    def _may_refresh_in_background(self, entry: _Entry, now: float) -> bool:
        if entry.flight is not None or self._closed:
            return False
        if self._blocks.active(entry.registration.upstream) is not None:
            return False
        if entry.failures and entry.error_monotonic is not None:
            return now - entry.error_monotonic >= self._retry_delay_s(entry)
        return True

    def _describe(self, entry: _Entry) -> SnapshotRead:
        now = self._clock()
        registration = entry.registration
        usable = self._usable(entry, now)
        due = self._due(entry, now)
        block = self._blocks.active(registration.upstream)

        last_error, last_error_at = entry.error_kind, entry.error_at
        if block is not None and (due or not usable):
            last_error, last_error_at = ERROR_KIND_RATE_LIMITED, block.since_at
        age_s = None if entry.fetched_monotonic is None else now - entry.fetched_monotonic

        freshness = Freshness(
            key=registration.key,
            available=usable,
            stale=due or not usable,
            fetched_at=entry.fetched_at,
            age_s=age_s,
            last_error=last_error,
            last_error_at=last_error_at,
            next_refresh_at=self._next_refresh_at(entry, block),
        )
        return SnapshotRead(
            key=registration.key, value=entry.value if usable else None, freshness=freshness
        )

    def _next_refresh_at(self, entry: _Entry, block: UpstreamBlock | None) -> datetime | None:
        due_at: datetime | None = None
        if entry.failures and entry.error_at is not None:
            due_at = entry.error_at + timedelta(seconds=self._retry_delay_s(entry))
        elif entry.stale_mark_sequence is not None:
            due_at = self._wall_clock()
        elif entry.fetched_at is not None:
            due_at = entry.fetched_at + timedelta(seconds=entry.registration.ttl_s)
        if block is not None:
            due_at = block.until_at if due_at is None else max(due_at, block.until_at)
        return due_at

    # --- flights -------------------------------------------------------------------------------

    async def _await_flight(self, entry: _Entry) -> SnapshotRead:
        """Wait for the key's fetch in flight, starting one unless the upstream is blocked."""
        flight = entry.flight
        if flight is None:
            if self._closed or self._blocks.active(entry.registration.upstream) is not None:
                return self._describe(entry)
            flight = self._start_flight(entry)

        done, _ = await asyncio.wait({flight}, timeout=self._fetch_timeout_s)
        read = self._describe(entry)
        if done or read.available:
            return read
        freshness = read.freshness.model_copy(
            update={"last_error": ERROR_KIND_TIMEOUT, "last_error_at": self._wall_clock()}
        )
        return dataclasses.replace(read, freshness=freshness)

    def _start_flight(self, entry: _Entry) -> asyncio.Task[None]:
        sequence = self._next_sequence()
        flight = asyncio.create_task(
            self._run_flight(entry, sequence), name=f"snapshot-fetch {entry.registration.key}"
        )
        entry.flight = flight
        self._flights.add(flight)
        flight.add_done_callback(lambda done: self._finish_flight(entry, done))
        return flight

    def _finish_flight(self, entry: _Entry, flight: asyncio.Task[None]) -> None:
        self._flights.discard(flight)
        if entry.flight is flight:
            entry.flight = None

    async def _run_flight(self, entry: _Entry, sequence: int) -> None:
        """Fetch one key and record the outcome. Only a cancellation propagates out of it."""
        registration = entry.registration
        started = self._clock()
        try:
            async with asyncio.timeout(self._flight_timeout_s):
                value = await registration.fetch()
            reject_awaitable(value, registration.key)
        except SourceRateLimited as exc:
            self._blocks.block(registration.upstream, exc.retry_after_s)
            self._record_failure(entry, exc.kind, started, exc)
        except SourceError as exc:
            self._record_failure(entry, exc.kind, started, exc)
        except TimeoutError as exc:
            self._record_failure(entry, ERROR_KIND_TIMEOUT, started, exc)
        except Exception as exc:
            self._record_failure(entry, ERROR_KIND_UNEXPECTED, started, exc)
        else:
            self._record_success(entry, value, sequence, started)

    def _record_success(self, entry: _Entry, value: Any, sequence: int, started: float) -> None:
        registration = entry.registration
        if sequence > entry.value_sequence:
            self._store_value(entry, value, sequence)
        else:
            logger.debug(
                "snapshot fetch result dropped, a newer value was put key=%s", registration.key
            )
        entry.failures = 0
        if entry.stale_mark_sequence is not None and entry.stale_mark_sequence < sequence:
            entry.stale_mark_sequence = None
        logger.debug(
            "snapshot refreshed key=%s upstream=%s duration_ms=%.1f",
            registration.key,
            registration.upstream,
            (self._clock() - started) * 1000,
        )

    def _record_failure(self, entry: _Entry, kind: str, started: float, error: Exception) -> None:
        registration = entry.registration
        entry.failures += 1
        entry.error_kind = kind
        entry.error_monotonic = self._clock()
        entry.error_at = self._wall_clock()
        duration_ms = (entry.error_monotonic - started) * 1000
        # A SourceError message names the source and never a credential, so it is safe to log.
        # Anything else is a bug in a fetch function and needs its traceback.
        logger.warning(
            "snapshot fetch failed key=%s upstream=%s kind=%s duration_ms=%.1f failures=%d "
            "error=%s",
            registration.key,
            registration.upstream,
            kind,
            duration_ms,
            entry.failures,
            error if isinstance(error, SourceError) else type(error).__name__,
            exc_info=kind == ERROR_KIND_UNEXPECTED,
        )

    def _store_value(self, entry: _Entry, value: Any, sequence: int) -> None:
        entry.value = value
        entry.value_sequence = sequence
        entry.fetched_monotonic = self._clock()
        entry.fetched_at = self._wall_clock()
        self._version += 1
        # Setting the old event wakes the waiters that hold it, and later waiters get a new one.
        self._changed.set()
        self._changed = asyncio.Event()

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence
