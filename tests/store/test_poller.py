"""The poller: refresh ahead of expiry, spread per upstream, rate limits, start and stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from app.models.snapshot import SnapshotRead
from app.models.upstream import MonitorsSnapshot
from app.sources.errors import SourceRateLimited, SourceUnavailable
from app.store.base import Fetch
from app.store.memory import MemorySnapshotStore
from app.store.poller import Poller
from tests.store.conftest import FakeClock, ScriptedFetch, settle

KEY = "uptimerobot:monitors"
StoreFactory = Callable[..., MemorySnapshotStore]


class FakeSleep:
    """An injected sleep that records each delay and moves the fake clock by it.

    Ready tasks run before the clock moves, as they would at the start of a real sleep.
    """

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        await settle()
        self._clock.advance(delay_s)
        await settle()


def make_poller(store: MemorySnapshotStore, clock: FakeClock, **options: float) -> Poller:
    return Poller(store, clock=clock.wall, sleep=FakeSleep(clock), **options)


async def test_first_pass_fetches_each_cold_key_once(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    fetches = {key: ScriptedFetch(MonitorsSnapshot()) for key in ("a", "b", "c")}
    for key, fetch in fetches.items():
        store.register(key, fetch, ttl_s=60, upstream=key)
    poller = make_poller(store, clock)

    await poller.run_once(clock.wall())
    await poller.run_once(clock.wall())

    assert [fetch.calls for fetch in fetches.values()] == [1, 1, 1]


async def test_key_refreshed_lead_time_before_expiry(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    fetch = ScriptedFetch(MonitorsSnapshot(total=1), MonitorsSnapshot(total=2))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    poller = make_poller(store, clock, lead_s=5)
    await poller.run_once(clock.wall())

    clock.advance(54.9)
    await poller.run_once(clock.wall())
    calls_before_lead = fetch.calls
    clock.advance(0.1)
    await poller.run_once(clock.wall())

    assert calls_before_lead == 1
    assert fetch.calls == 2
    assert store.freshness(KEY).stale is False


async def test_early_refresh_passes_min_age(make_store: StoreFactory, clock: FakeClock) -> None:
    requested: list[float | None] = []

    class RecordingStore(MemorySnapshotStore):
        async def refresh(self, key: str, *, min_age_s: float | None = None) -> SnapshotRead:
            requested.append(min_age_s)
            return await super().refresh(key, min_age_s=min_age_s)

    store = RecordingStore(
        max_stale_s=3600, fetch_timeout_s=1, clock=clock.monotonic, wall_clock=clock.wall
    )
    store.register(KEY, ScriptedFetch(MonitorsSnapshot()), ttl_s=60, upstream="uptimerobot")
    poller = make_poller(store, clock, lead_s=5)

    await poller.run_once(clock.wall())
    clock.advance(55)
    await poller.run_once(clock.wall())
    await store.close()

    assert requested == [55, 55]


async def test_lead_time_capped_at_half_ttl(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(MonitorsSnapshot()), ttl_s=4, upstream="uptimerobot")
    poller = make_poller(store, clock, lead_s=5)
    fetched_at = clock.wall()
    await poller.run_once(fetched_at)

    assert poller.due_at(KEY, clock.wall()) == fetched_at + timedelta(seconds=2)


async def test_run_once_returns_next_due_time(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    store.register("fast", ScriptedFetch(MonitorsSnapshot()), ttl_s=30, upstream="a")
    store.register("slow", ScriptedFetch(MonitorsSnapshot()), ttl_s=300, upstream="b")
    poller = make_poller(store, clock, lead_s=5)
    started_at = clock.wall()

    next_due_at = await poller.run_once(started_at)

    assert next_due_at == started_at + timedelta(seconds=25)


async def test_run_once_without_keys_returns_none(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    poller = make_poller(make_store(), clock)

    assert await poller.run_once(clock.wall()) is None


async def test_keys_of_one_upstream_start_staggered(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    started_at: dict[str, float] = {}

    def recording_fetch(key: str) -> Fetch:
        async def fetch() -> MonitorsSnapshot:
            started_at[key] = clock.monotonic()
            return MonitorsSnapshot()

        return fetch

    for key in ("sentry:issues:backend", "sentry:stats:backend", "sentry:performance:backend"):
        store.register(key, recording_fetch(key), ttl_s=60, upstream="sentry")
    store.register(KEY, recording_fetch(KEY), ttl_s=60, upstream="uptimerobot")
    sleep = FakeSleep(clock)
    poller = Poller(store, clock=clock.wall, sleep=sleep, stagger_s=2)
    start = clock.monotonic()

    await poller.run_once(clock.wall())

    assert sleep.delays == [2, 2]
    assert started_at["sentry:issues:backend"] == start
    assert started_at["sentry:stats:backend"] == start + 2
    assert started_at["sentry:performance:backend"] == start + 4
    assert started_at[KEY] == start


async def test_rate_limited_upstream_skipped_until_block_ends(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    fetch = ScriptedFetch(
        MonitorsSnapshot(total=1),
        SourceRateLimited("uptimerobot", "HTTP 429", retry_after_s=30),
        MonitorsSnapshot(total=2),
    )
    store.register(KEY, fetch, ttl_s=10, upstream="uptimerobot")
    poller = make_poller(store, clock, lead_s=0)
    await poller.run_once(clock.wall())
    clock.advance(10)
    await poller.run_once(clock.wall())
    blocked_until = store.blocked_until("uptimerobot")

    calls_during_block = []
    for _ in range(29):
        clock.advance(1)
        await poller.run_once(clock.wall())
        calls_during_block.append(fetch.calls)
    clock.advance(1)
    await poller.run_once(clock.wall())

    assert blocked_until is not None
    assert poller.due_at(KEY, blocked_until - timedelta(seconds=1)) >= clock.wall()
    assert calls_during_block == [2] * 29
    assert fetch.calls == 3


async def test_429_mid_pass_skips_rest_of_upstream(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    limited = ScriptedFetch(SourceRateLimited("sentry", "HTTP 429", retry_after_s=60))
    skipped = ScriptedFetch(MonitorsSnapshot())
    store.register("sentry:issues:backend", limited, ttl_s=60, upstream="sentry")
    store.register("sentry:stats:backend", skipped, ttl_s=60, upstream="sentry")
    poller = make_poller(store, clock, stagger_s=1)

    await poller.run_once(clock.wall())

    assert limited.calls == 1
    assert skipped.calls == 0


async def test_failed_key_retried_after_backoff(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store(error_retry_s=5)
    fetch = ScriptedFetch(SourceUnavailable("uptimerobot", "HTTP 503"), MonitorsSnapshot())
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    poller = make_poller(store, clock)

    await poller.run_once(clock.wall())
    clock.advance(4.9)
    await poller.run_once(clock.wall())
    calls_within_backoff = fetch.calls
    clock.advance(0.1)
    await poller.run_once(clock.wall())

    assert calls_within_backoff == 1
    assert fetch.calls == 2
    assert store.freshness(KEY).available is True


async def test_store_bug_in_one_key_spares_others(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    class BrokenStore(MemorySnapshotStore):
        async def refresh(self, key: str, *, min_age_s: float | None = None) -> SnapshotRead:
            if key == "broken":
                raise RuntimeError("bug in the store")
            return await super().refresh(key, min_age_s=min_age_s)

    store = BrokenStore(max_stale_s=3600, fetch_timeout_s=1, clock=clock.monotonic)
    healthy = ScriptedFetch(MonitorsSnapshot())
    store.register("broken", ScriptedFetch(), ttl_s=60, upstream="a")
    store.register("healthy", healthy, ttl_s=60, upstream="a")
    poller = make_poller(store, clock)

    await poller.run_once(clock.wall())
    await store.close()

    assert healthy.calls == 1


async def test_start_shares_fetch_with_concurrent_reader(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(MonitorsSnapshot(total=7), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    poller = Poller(store, clock=clock.wall)

    await poller.start()
    await fetch.started.wait()
    reader = asyncio.create_task(store.read(KEY))
    await settle()
    gate.set()
    read = await reader
    await store.wait_idle()
    await poller.stop()

    assert read.value == MonitorsSnapshot(total=7)
    assert fetch.calls == 1


async def test_stop_cancels_loop_cleanly(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(MonitorsSnapshot()), ttl_s=60, upstream="uptimerobot")
    poller = Poller(store, clock=clock.wall)

    await poller.start()
    await settle()
    running_after_start = poller.running
    await poller.stop()
    await poller.stop()

    assert running_after_start is True
    assert poller.running is False
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []


async def test_loop_sleeps_until_next_due_key(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(MonitorsSnapshot()), ttl_s=20, upstream="uptimerobot")
    delays: list[float] = []
    second_sleep = asyncio.Event()

    async def sleep(delay_s: float) -> None:
        delays.append(delay_s)
        clock.advance(delay_s)
        if len(delays) == 2:
            second_sleep.set()
            await asyncio.Event().wait()

    poller = Poller(store, clock=clock.wall, sleep=sleep, lead_s=5, max_interval_s=30)
    await poller.start()
    await asyncio.wait_for(second_sleep.wait(), timeout=1)
    await poller.stop()

    assert delays == [15, 15]


async def test_poller_leaves_unpolled_keys_alone() -> None:
    from datetime import UTC, datetime

    from app.store.memory import MemorySnapshotStore
    from app.store.poller import Poller

    calls: list[str] = []

    async def fetch() -> str:
        calls.append("fetched")
        return "value"

    store = MemorySnapshotStore(max_stale_s=3600, fetch_timeout_s=5)
    store.register("report:week", fetch, ttl_s=60, upstream="sentry", poll=False)
    poller = Poller(store)

    next_due = await poller.run_once(datetime(2026, 12, 4, tzinfo=UTC))

    assert calls == []
    assert next_due is None
