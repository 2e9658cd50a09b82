"""The background poller: refreshes every registered key shortly before it expires.

With the poller running, public reads find fresh values and rarely wait on an upstream. It only
uses the ``SnapshotStore`` interface, so it works with every backend, and its refreshes go
through the store's single flight, so a reader of the same key shares the poller's fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.store.base import SnapshotStore

logger = logging.getLogger(__name__)

DEFAULT_LEAD_S = 5.0
DEFAULT_STAGGER_S = 1.0
DEFAULT_MIN_INTERVAL_S = 0.5
DEFAULT_MAX_INTERVAL_S = 30.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    """Refreshes due keys in passes, spreading the calls to one upstream over time.

    A key is due ``lead_s`` seconds before its value expires (at most half its TTL early), or at
    the store's ``next_refresh_at`` after a failure, and never while its upstream is rate
    limited. Keys of one upstream start ``stagger_s`` apart, and different upstreams
    are refreshed concurrently. The first pass fetches every key without a value once.
    """

    def __init__(
        self,
        store: SnapshotStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        lead_s: float = DEFAULT_LEAD_S,
        stagger_s: float = DEFAULT_STAGGER_S,
        min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
        max_interval_s: float = DEFAULT_MAX_INTERVAL_S,
    ) -> None:
        if lead_s < 0 or stagger_s < 0 or not 0 < min_interval_s <= max_interval_s:
            raise ValueError(
                "lead_s and stagger_s must not be negative, and min_interval_s must be positive "
                "and at most max_interval_s"
            )
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._lead_s = lead_s
        self._stagger_s = stagger_s
        self._min_interval_s = min_interval_s
        self._max_interval_s = max_interval_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the polling loop is running."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the polling loop in a task. A second call while it runs does nothing."""
        if self.running:
            return
        self._task = asyncio.create_task(self._run(), name="snapshot-poller")
        logger.info("poller started keys=%d", len(self._store.keys()))

    async def stop(self) -> None:
        """Cancel the polling loop and wait for it to end. Fetches in flight stay with the store."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        logger.info("poller stopped")

    def due_at(self, key: str, now: datetime) -> datetime:
        """Return when ``key`` should next be refreshed, which is ``now`` for a cold key."""
        registration = self._store.registration(key)
        freshness = self._store.freshness(key)
        due_at = freshness.next_refresh_at or now
        if freshness.available and not freshness.stale:
            due_at -= timedelta(seconds=self._lead_for(registration.ttl_s))
        blocked_until = self._store.blocked_until(registration.upstream)
        if blocked_until is not None:
            due_at = max(due_at, blocked_until)
        return due_at

    async def run_once(self, now: datetime) -> datetime | None:
        """Refresh every key due at ``now`` and return when the next key is due.

        Returns ``None`` when no key is registered. Keys registered with ``poll=False`` are
        left alone.
        """
        registered = [key for key in self._store.keys() if self._store.registration(key).poll]
        due_keys: dict[str, list[str]] = {}
        for key in registered:
            if self.due_at(key, now) <= now:
                upstream = self._store.registration(key).upstream
                due_keys.setdefault(upstream, []).append(key)

        if due_keys:
            async with asyncio.TaskGroup() as group:
                for upstream, keys in due_keys.items():
                    group.create_task(self._refresh_upstream(upstream, keys))

        after = self._clock()
        return min((self.due_at(key, after) for key in registered), default=None)

    async def _run(self) -> None:
        while True:
            try:
                next_due_at = await self.run_once(self._clock())
            except Exception:
                logger.exception("poller pass failed")
                next_due_at = None
            await self._sleep(self._delay_s(next_due_at))

    def _delay_s(self, next_due_at: datetime | None) -> float:
        if next_due_at is None:
            return self._max_interval_s
        delay_s = (next_due_at - self._clock()).total_seconds()
        return min(max(delay_s, self._min_interval_s), self._max_interval_s)

    async def _refresh_upstream(self, upstream: str, keys: list[str]) -> None:
        async with asyncio.TaskGroup() as group:
            for index, key in enumerate(keys):
                if index:
                    await self._sleep(self._stagger_s)
                if self._store.blocked_until(upstream) is not None:
                    logger.info(
                        "poller skipped keys of a rate-limited upstream upstream=%s keys=%d",
                        upstream,
                        len(keys) - index,
                    )
                    break
                group.create_task(self._refresh(key, self._min_age_s(key)))

    def _min_age_s(self, key: str) -> float | None:
        """Return the age below which a refresh of ``key`` is not needed.

        Another replica may have refreshed the key since this one last looked, and then the
        store skips the fetch. A key that failed or was marked stale is due whatever its age.
        """
        freshness = self._store.freshness(key)
        failed = freshness.stale and freshness.last_error is not None
        if failed or (freshness.available and freshness.stale):
            return None
        ttl_s = self._store.registration(key).ttl_s
        return ttl_s - self._lead_for(ttl_s)

    def _lead_for(self, ttl_s: float) -> float:
        return min(self._lead_s, ttl_s / 2)

    async def _refresh(self, key: str, min_age_s: float | None) -> None:
        try:
            await self._store.refresh(key, min_age_s=min_age_s)
        except Exception:
            # The store returns upstream trouble as a read, so this is a bug. Keep polling.
            logger.exception("poller refresh failed key=%s", key)
