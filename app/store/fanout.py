"""Reading many keys at once and assembling them into the ``SystemSnapshot`` services work on."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.config import Settings
from app.models.snapshot import SnapshotRead, SystemSnapshot
from app.models.upstream import ErrorStats, IssuesSnapshot, MonitorsSnapshot, PerformanceStats
from app.store.base import ERROR_KIND_UNEXPECTED, SnapshotStore, unavailable_read
from app.store.memory import MemorySnapshotStore

logger = logging.getLogger(__name__)

MONITORS_KEY = "uptimerobot:monitors"
ISSUES_PREFIX = "sentry:issues:"
STATS_PREFIX = "sentry:stats:"
PERFORMANCE_PREFIX = "sentry:performance:"

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def issues_key(project: str) -> str:
    return f"{ISSUES_PREFIX}{project}"


def stats_key(project: str) -> str:
    return f"{STATS_PREFIX}{project}"


def performance_key(project: str) -> str:
    return f"{PERFORMANCE_PREFIX}{project}"


def system_keys(projects: Iterable[str]) -> list[str]:
    """List every key a ``SystemSnapshot`` of these Sentry projects is built from."""
    keys = [MONITORS_KEY]
    for project in projects:
        keys += [issues_key(project), stats_key(project), performance_key(project)]
    return keys


ReadObserver = Callable[[str, str], None]
"""Called after each read with the key and its outcome: hit, stale, miss or unavailable."""


async def read_many(
    store: SnapshotStore, keys: Iterable[str], *, observer: ReadObserver | None = None
) -> dict[str, SnapshotRead]:
    """Read ``keys`` concurrently, so the call takes about as long as the slowest key.

    A key whose read fails comes back as an unavailable read, never as an exception.
    """
    unique_keys = list(dict.fromkeys(keys))
    tasks: dict[str, asyncio.Task[SnapshotRead]] = {}
    async with asyncio.TaskGroup() as group:
        for key in unique_keys:
            tasks[key] = group.create_task(_read_one(store, key, observer))
    return {key: task.result() for key, task in tasks.items()}


async def _read_one(store: SnapshotStore, key: str, observer: ReadObserver | None) -> SnapshotRead:
    had_value = observer is not None and store.freshness(key).available
    try:
        read = await store.read(key)
    except Exception:
        # A store read raises only for a bug, such as an unregistered key, so only this key is lost.
        logger.exception("snapshot read failed key=%s", key)
        read = unavailable_read(key, last_error=ERROR_KIND_UNEXPECTED)
    if observer is not None:
        observer(key, _read_outcome(read, had_value))
    return read


def _read_outcome(read: SnapshotRead, had_value: bool) -> str:
    if not read.available:
        return "unavailable"
    if not had_value:
        return "miss"
    return "stale" if read.freshness.stale else "hit"


def build_system_snapshot(reads: dict[str, SnapshotRead], taken_at: datetime) -> SystemSnapshot:
    """Assemble reads into a ``SystemSnapshot``, leaving out every unavailable key.

    ``freshness`` contains every read, available or not, so responses can show what is missing.
    """
    monitors: MonitorsSnapshot | None = None
    issues: dict[str, IssuesSnapshot] = {}
    error_stats: dict[str, ErrorStats] = {}
    performance: dict[str, PerformanceStats] = {}

    for key, read in reads.items():
        if not read.available:
            continue
        if key == MONITORS_KEY:
            monitors = _typed(key, read.value, MonitorsSnapshot)
        elif key.startswith(ISSUES_PREFIX):
            _add(issues, key.removeprefix(ISSUES_PREFIX), _typed(key, read.value, IssuesSnapshot))
        elif key.startswith(STATS_PREFIX):
            _add(error_stats, key.removeprefix(STATS_PREFIX), _typed(key, read.value, ErrorStats))
        elif key.startswith(PERFORMANCE_PREFIX):
            project = key.removeprefix(PERFORMANCE_PREFIX)
            _add(performance, project, _typed(key, read.value, PerformanceStats))

    return SystemSnapshot(
        taken_at=taken_at,
        monitors=monitors,
        issues=issues,
        error_stats=error_stats,
        performance=performance,
        freshness={key: read.freshness for key, read in reads.items()},
    )


def _typed(key: str, value: Any, expected: type[T]) -> T | None:
    if isinstance(value, expected):
        return value
    logger.warning(
        "snapshot value has an unexpected type key=%s expected=%s got=%s",
        key,
        expected.__name__,
        type(value).__name__,
    )
    return None


def _add(target: dict[str, T], project: str, value: T | None) -> None:
    if value is not None:
        target[project] = value


def store_from_settings(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = _utc_now,
    key_prefix: str | None = None,
) -> SnapshotStore:
    """Build the snapshot store the settings ask for: in-process, or Redis with ``REDIS_URL``.

    ``key_prefix`` starts every Redis key (``lookout`` by default), so deployments or tests can
    share one Redis. The Redis client is imported only here: it adds about 7 MB to a process,
    which one without ``REDIS_URL`` never needs.
    """
    if settings.redis_url:
        from app.store.redis_store import DEFAULT_KEY_PREFIX, RedisSnapshotStore

        return RedisSnapshotStore(
            settings.redis_url,
            max_stale_s=settings.max_stale_seconds,
            fetch_timeout_s=settings.fetch_timeout_seconds,
            key_prefix=DEFAULT_KEY_PREFIX if key_prefix is None else key_prefix,
            clock=clock,
            wall_clock=wall_clock,
        )
    return MemorySnapshotStore(
        max_stale_s=settings.max_stale_seconds,
        fetch_timeout_s=settings.fetch_timeout_seconds,
        clock=clock,
        wall_clock=wall_clock,
    )
