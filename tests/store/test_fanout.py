"""Fan-out reads and the assembly of a ``SystemSnapshot``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from app.config import Settings
from app.models.snapshot import SnapshotRead
from app.models.upstream import ErrorStats, IssuesSnapshot, MonitorsSnapshot, PerformanceStats
from app.sources.errors import SourceUnavailable
from app.store.base import unavailable_read
from app.store.fanout import (
    MONITORS_KEY,
    build_system_snapshot,
    issues_key,
    performance_key,
    read_many,
    stats_key,
    store_from_settings,
    system_keys,
)
from app.store.memory import MemorySnapshotStore
from tests.store.conftest import ScriptedFetch

StoreFactory = Callable[..., MemorySnapshotStore]
TAKEN_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def available(key: str, value: object) -> SnapshotRead:
    read = unavailable_read(key)
    freshness = read.freshness.model_copy(update={"available": True, "stale": False})
    return SnapshotRead(key=key, value=value, freshness=freshness)


async def test_read_many_reads_keys_concurrently(make_store: StoreFactory) -> None:
    store = make_store(fetch_timeout_s=5)
    failing = ScriptedFetch(SourceUnavailable("sentry", "HTTP 502"))

    async def slow_fetch() -> MonitorsSnapshot:
        # Finishes only once the other key's fetch has started, so sequential reads would hang.
        await asyncio.wait_for(failing.started.wait(), timeout=1)
        return MonitorsSnapshot(total=3)

    store.register(MONITORS_KEY, slow_fetch, ttl_s=60, upstream="uptimerobot")
    store.register(issues_key("backend"), failing, ttl_s=60, upstream="sentry")

    reads = await read_many(store, [MONITORS_KEY, issues_key("backend")])

    assert reads[MONITORS_KEY].value == MonitorsSnapshot(total=3)
    assert reads[issues_key("backend")].available is False
    assert reads[issues_key("backend")].freshness.last_error == "unavailable"


async def test_read_many_takes_slowest_read_time(make_store: StoreFactory) -> None:
    store = make_store(fetch_timeout_s=5)
    # 0.2 s is a 2 s upstream call scaled down. Sequential reads would take at least 0.4 s.
    delay_s = 0.2

    async def slow_fetch() -> MonitorsSnapshot:
        await asyncio.sleep(delay_s)
        return MonitorsSnapshot(total=1)

    async def slow_stats() -> ErrorStats:
        await asyncio.sleep(delay_s)
        return ErrorStats(project="backend")

    store.register(MONITORS_KEY, slow_fetch, ttl_s=60, upstream="uptimerobot")
    store.register(stats_key("backend"), slow_stats, ttl_s=60, upstream="sentry")
    store.register(
        issues_key("backend"),
        ScriptedFetch(SourceUnavailable("sentry", "HTTP 502")),
        ttl_s=60,
        upstream="sentry",
    )

    started = time.perf_counter()
    reads = await read_many(store, [MONITORS_KEY, stats_key("backend"), issues_key("backend")])
    elapsed_s = time.perf_counter() - started

    assert delay_s <= elapsed_s < 2 * delay_s
    assert reads[MONITORS_KEY].available is True
    assert reads[stats_key("backend")].available is True
    assert reads[issues_key("backend")].available is False


async def test_read_many_turns_read_bug_into_unavailable(make_store: StoreFactory) -> None:
    class BrokenStore(MemorySnapshotStore):
        async def read(self, key: str) -> SnapshotRead:
            if key == MONITORS_KEY:
                raise RuntimeError("bug in the store")
            return await super().read(key)

    store = BrokenStore(max_stale_s=3600, fetch_timeout_s=1)
    store.register(MONITORS_KEY, ScriptedFetch(MonitorsSnapshot()), ttl_s=60, upstream="a")
    store.register(stats_key("backend"), ScriptedFetch([]), ttl_s=60, upstream="b")

    reads = await read_many(store, [MONITORS_KEY, stats_key("backend")])
    await store.close()

    assert reads[MONITORS_KEY].available is False
    assert reads[MONITORS_KEY].freshness.last_error == "error"
    assert reads[stats_key("backend")].value == []


async def test_read_many_reads_duplicate_keys_once(make_store: StoreFactory) -> None:
    store = make_store()
    fetch = ScriptedFetch(MonitorsSnapshot())
    store.register(MONITORS_KEY, fetch, ttl_s=60, upstream="uptimerobot")

    reads = await read_many(store, [MONITORS_KEY, MONITORS_KEY])

    assert list(reads) == [MONITORS_KEY]
    assert fetch.calls == 1


def test_system_snapshot_places_each_key() -> None:
    monitors = MonitorsSnapshot(total=2)
    issues = IssuesSnapshot(project="backend")
    stats = ErrorStats(project="backend", last_5m=4)
    performance = PerformanceStats(project="frontend", lcp_p75_ms=1800)
    reads = {
        MONITORS_KEY: available(MONITORS_KEY, monitors),
        issues_key("backend"): available(issues_key("backend"), issues),
        stats_key("backend"): available(stats_key("backend"), stats),
        performance_key("frontend"): available(performance_key("frontend"), performance),
    }

    snapshot = build_system_snapshot(reads, TAKEN_AT)

    assert snapshot.taken_at == TAKEN_AT
    assert snapshot.monitors == monitors
    assert snapshot.issues == {"backend": issues}
    assert snapshot.error_stats == {"backend": stats}
    assert snapshot.performance == {"frontend": performance}
    assert set(snapshot.freshness) == set(reads)
    assert snapshot.stale is False


def test_system_snapshot_leaves_out_unavailable_keys() -> None:
    reads = {
        MONITORS_KEY: unavailable_read(MONITORS_KEY, last_error="timeout"),
        issues_key("backend"): unavailable_read(issues_key("backend"), last_error="auth_failed"),
        stats_key("backend"): available(stats_key("backend"), ErrorStats(project="backend")),
    }

    snapshot = build_system_snapshot(reads, TAKEN_AT)

    assert snapshot.monitors is None
    assert snapshot.issues == {}
    assert list(snapshot.error_stats) == ["backend"]
    assert snapshot.freshness[MONITORS_KEY].last_error == "timeout"
    assert snapshot.freshness[issues_key("backend")].available is False
    assert snapshot.stale is True


def test_system_snapshot_skips_value_of_wrong_type() -> None:
    reads = {MONITORS_KEY: available(MONITORS_KEY, {"total": 2})}

    snapshot = build_system_snapshot(reads, TAKEN_AT)

    assert snapshot.monitors is None
    assert MONITORS_KEY in snapshot.freshness


def test_system_keys_cover_every_project() -> None:
    assert system_keys(["backend", "frontend"]) == [
        "uptimerobot:monitors",
        "sentry:issues:backend",
        "sentry:stats:backend",
        "sentry:performance:backend",
        "sentry:issues:frontend",
        "sentry:stats:frontend",
        "sentry:performance:frontend",
    ]


async def test_store_from_settings_builds_memory_store(demo_settings: Settings) -> None:
    store = store_from_settings(demo_settings)

    assert isinstance(store, MemorySnapshotStore)
    await store.close()


def test_app_without_redis_url_never_imports_redis() -> None:
    script = (
        "import sys\n"
        "from app.config import Settings\n"
        "from app.main import build_runtime\n"
        "build_runtime(Settings(_env_file=None, demo_mode=True))\n"
        "print('redis' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key.upper() != "REDIS_URL"}

    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )

    assert completed.stdout.strip() == "False"
