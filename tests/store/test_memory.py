"""The in-process snapshot store: freshness, single flight, stale serving and rate limits."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from app.models.upstream import MonitorsSnapshot, RateLimitHeadroom
from app.sources.base import CallRecorder, send
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
)
from app.store.memory import MemorySnapshotStore
from tests.store.conftest import FakeClock, ScriptedFetch, settle

KEY = "uptimerobot:monitors"
StoreFactory = Callable[..., MemorySnapshotStore]


def monitors(total: int) -> MonitorsSnapshot:
    return MonitorsSnapshot(total=total)


# --- single flight -----------------------------------------------------------------------------


async def test_cold_key_200_readers_fetch_once(make_store: StoreFactory) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    readers = [asyncio.create_task(store.read(KEY)) for _ in range(200)]
    await settle()
    gate.set()
    reads = await asyncio.gather(*readers)

    assert fetch.calls == 1
    assert all(read.available for read in reads)
    assert all(read.value == monitors(1) for read in reads)


async def test_fresh_value_served_without_fetch(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    fetch = ScriptedFetch(monitors(1))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    await store.read(KEY)
    clock.advance(59)
    read = await store.read(KEY)

    assert fetch.calls == 1
    assert read.freshness.stale is False
    assert read.freshness.age_s == 59


async def test_empty_list_cached_and_fetched_once(make_store: StoreFactory) -> None:
    store = make_store()
    fetch = ScriptedFetch([])
    store.register("sentry:issues:backend", fetch, ttl_s=60, upstream="sentry")

    reads = [await store.read("sentry:issues:backend") for _ in range(10)]

    assert fetch.calls == 1
    assert all(read.available for read in reads)
    assert all(read.value == [] for read in reads)


async def test_none_value_cached_and_fetched_once(make_store: StoreFactory) -> None:
    store = make_store()
    fetch = ScriptedFetch(None)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    reads = [await store.read(KEY) for _ in range(10)]

    assert fetch.calls == 1
    assert all(read.available for read in reads)
    assert all(read.value is None for read in reads)


async def test_failure_shared_by_one_flight_only(make_store: StoreFactory) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(SourceUnavailable("uptimerobot", "HTTP 503"), monitors(2), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    waiters = [asyncio.create_task(store.read(KEY)) for _ in range(5)]
    await settle()
    gate.set()
    failed = await asyncio.gather(*waiters)
    recovered = await store.read(KEY)

    assert all(not read.available for read in failed)
    assert all(read.freshness.last_error == "unavailable" for read in failed)
    assert fetch.calls == 2
    assert recovered.value == monitors(2)


async def test_timeout_then_success_makes_second_call(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectTimeout("connect timed out", request=request)
        return httpx.Response(200, json={"total": 4})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:

        async def fetch() -> MonitorsSnapshot:
            return await send(
                client,
                client.build_request("POST", "http://127.0.0.1:9/v2/getMonitors"),
                source="uptimerobot",
                key=KEY,
                recorder=CallRecorder(),
                read_headroom=lambda headers: RateLimitHeadroom(),
                parse=lambda response: MonitorsSnapshot(total=response.json()["total"]),
            )

        store = make_store()
        store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
        first = await store.read(KEY)
        clock.advance(1)
        second = await store.read(KEY)

    assert first.available is False
    assert first.freshness.last_error == "timeout"
    assert second.value == MonitorsSnapshot(total=4)
    assert len(calls) == 2


async def test_cold_read_timeout_leaves_fetch_running(make_store: StoreFactory) -> None:
    store = make_store(fetch_timeout_s=0.02)
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(3), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    timed_out = await store.read(KEY)
    gate.set()
    await store.wait_idle()
    later = await store.read(KEY)

    assert timed_out.available is False
    assert timed_out.freshness.last_error == "timeout"
    assert later.value == monitors(3)
    assert fetch.calls == 1


async def test_cancelled_reader_does_not_cancel_fetch(make_store: StoreFactory) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(5), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    reader = asyncio.create_task(store.read(KEY))
    await fetch.started.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    gate.set()
    await store.wait_idle()
    read = await store.read(KEY)

    assert read.value == monitors(5)
    assert fetch.calls == 1


# --- stale-while-revalidate --------------------------------------------------------------------


async def test_stale_read_returns_while_refresh_runs(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(fetch_timeout_s=30)
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), monitors(2), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    gate.set()
    await store.read(KEY)
    gate.clear()
    clock.advance(60)

    stale = await asyncio.wait_for(store.read(KEY), timeout=0.5)
    calls_while_refreshing = fetch.calls
    gate.set()
    await store.wait_idle()
    fresh = await store.read(KEY)

    assert stale.value == monitors(1)
    assert stale.freshness.stale is True
    assert calls_while_refreshing == 2
    assert fresh.value == monitors(2)
    assert fresh.freshness.stale is False


async def test_stale_readers_share_one_refresh(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), monitors(2), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    first_phase = [asyncio.create_task(store.read(KEY)) for _ in range(50)]
    await settle()
    gate.set()
    first_reads = await asyncio.gather(*first_phase)
    calls_after_first_phase = fetch.calls
    gate.clear()
    clock.advance(61)
    second_reads = await asyncio.gather(*(store.read(KEY) for _ in range(50)))
    calls_after_second_phase = fetch.calls
    gate.set()
    await store.wait_idle()

    assert calls_after_first_phase == 1
    assert all(read.value == monitors(1) for read in first_reads)
    assert calls_after_second_phase == 2
    assert all(read.value == monitors(1) for read in second_reads)
    assert (await store.read(KEY)).value == monitors(2)


async def test_mark_stale_refreshes_on_next_read(make_store: StoreFactory) -> None:
    store = make_store()
    fetch = ScriptedFetch(monitors(1), monitors(2))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)

    store.mark_stale(KEY)
    marked = await store.read(KEY)
    await store.wait_idle()
    refreshed = await store.read(KEY)

    assert marked.value == monitors(1)
    assert marked.freshness.stale is True
    assert refreshed.value == monitors(2)
    assert refreshed.freshness.stale is False
    assert fetch.calls == 2


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (SourceTimeout("uptimerobot", "timed out"), "timeout"),
        (SourceUnavailable("uptimerobot", "HTTP 502"), "unavailable"),
        (SourceRateLimited("uptimerobot", "HTTP 429", retry_after_s=30), "rate_limited"),
        (SourceAuthError("uptimerobot", "api_key is invalid"), "auth_failed"),
        (SourceBadResponse("uptimerobot", "invalid JSON"), "bad_response"),
        (SourceError("uptimerobot", "failed"), "error"),
        (RuntimeError("bug in a fetch function"), "error"),
    ],
)
async def test_failed_refresh_serves_last_good_value(
    make_store: StoreFactory, clock: FakeClock, error: Exception, kind: str
) -> None:
    store = make_store()
    fetch = ScriptedFetch(monitors(1), error)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)
    clock.advance(60)

    await store.read(KEY)
    await store.wait_idle()
    read = await store.read(KEY)

    assert read.available is True
    assert read.value == monitors(1)
    assert read.freshness.stale is True
    assert read.freshness.last_error == kind
    assert read.freshness.last_error_at == clock.wall()


@pytest.mark.parametrize(
    "error",
    [
        SourceTimeout("sentry", "timed out"),
        SourceRateLimited("sentry", "HTTP 429", retry_after_s=5),
        SourceAuthError("sentry", "token rejected"),
        ValueError("bug in a fetch function"),
        TimeoutError(),
    ],
)
async def test_cold_failure_reads_unavailable(make_store: StoreFactory, error: Exception) -> None:
    store = make_store()
    store.register("sentry:stats:backend", ScriptedFetch(error), ttl_s=60, upstream="sentry")

    read = await store.read("sentry:stats:backend")

    assert read.available is False
    assert read.value is None
    assert read.freshness.last_error is not None


async def test_value_past_max_stale_reads_unavailable(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(max_stale_s=600)
    fetch = ScriptedFetch(monitors(1), SourceUnavailable("uptimerobot", "HTTP 503"))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)

    clock.advance(599)
    before_limit = await store.read(KEY)
    await store.wait_idle()
    clock.advance(1)
    past_limit = await store.read(KEY)

    assert before_limit.available is True
    assert before_limit.value == monitors(1)
    assert past_limit.available is False
    assert past_limit.value is None
    assert past_limit.freshness.last_error == "unavailable"
    assert past_limit.freshness.age_s == 600


async def test_failed_refresh_backs_off_before_retry(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(error_retry_s=5)
    fetch = ScriptedFetch(monitors(1), SourceUnavailable("uptimerobot", "HTTP 503"), monitors(2))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)
    clock.advance(60)
    await store.read(KEY)
    await store.wait_idle()

    clock.advance(4.9)
    await store.read(KEY)
    calls_within_backoff = fetch.calls
    clock.advance(0.1)
    await store.read(KEY)
    await store.wait_idle()

    assert calls_within_backoff == 2
    assert fetch.calls == 3
    assert (await store.read(KEY)).value == monitors(2)


async def test_repeated_failures_double_retry_delay(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store(error_retry_s=5)
    failure = SourceUnavailable("uptimerobot", "HTTP 503")
    fetch = ScriptedFetch(monitors(1), failure)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)
    clock.advance(60)
    await store.refresh(KEY)
    first_failure_at = clock.wall()
    first_due = store.freshness(KEY).next_refresh_at
    await store.refresh(KEY)
    second_due = store.freshness(KEY).next_refresh_at

    assert first_due == first_failure_at + timedelta(seconds=5)
    assert second_due == first_failure_at + timedelta(seconds=10)


async def test_awaitable_result_never_stored(make_store: StoreFactory) -> None:
    store = make_store()

    async def produce() -> MonitorsSnapshot:
        return monitors(1)

    async def fetch_returning_coroutine() -> object:
        return produce()

    store.register(KEY, fetch_returning_coroutine, ttl_s=60, upstream="uptimerobot")

    read = await store.read(KEY)

    assert read.available is False
    assert read.freshness.last_error == "error"


async def test_stored_value_is_plain_result(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")

    first = await store.read(KEY)
    second = await store.read(KEY)

    assert isinstance(first.value, MonitorsSnapshot)
    assert not inspect.isawaitable(first.value)
    assert not isinstance(first.value, asyncio.Future)
    assert second.value is first.value


async def test_put_rejects_coroutine(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")

    async def produce() -> MonitorsSnapshot:
        return monitors(1)

    with pytest.raises(TypeError, match="awaitable"):
        await store.put(KEY, produce())


# --- rate limits -------------------------------------------------------------------------------


async def test_429_blocks_every_key_of_upstream(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store()
    limited = ScriptedFetch(
        monitors(1), SourceRateLimited("sentry", "HTTP 429", retry_after_s=30), monitors(2)
    )
    sibling = ScriptedFetch(monitors(10))
    other_upstream = ScriptedFetch(monitors(20))
    store.register("sentry:issues:backend", limited, ttl_s=10, upstream="sentry")
    store.register("sentry:stats:backend", sibling, ttl_s=10, upstream="sentry")
    store.register(KEY, other_upstream, ttl_s=10, upstream="uptimerobot")
    await store.read("sentry:issues:backend")
    clock.advance(10)
    await store.refresh("sentry:issues:backend")

    calls_during_block = []
    for _ in range(29):
        clock.advance(1)
        stale = await store.read("sentry:issues:backend")
        cold = await store.read("sentry:stats:backend")
        forced = await store.refresh("sentry:issues:backend")
        await store.wait_idle()
        calls_during_block.append((limited.calls, sibling.calls))
    unaffected = await store.read(KEY)
    clock.advance(1)
    await store.read("sentry:issues:backend")
    await store.wait_idle()

    assert calls_during_block == [(2, 0)] * 29
    assert stale.value == monitors(1)
    assert stale.freshness.stale is True
    assert stale.freshness.last_error == "rate_limited"
    assert forced.value == monitors(1)
    assert cold.available is False
    assert cold.freshness.last_error == "rate_limited"
    assert unaffected.value == monitors(20)
    assert limited.calls == 3
    assert (await store.read("sentry:issues:backend")).value == monitors(2)


async def test_blocked_until_reports_end_of_wait(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    error = SourceRateLimited("uptimerobot", "HTTP 429", retry_after_s=30)
    store.register(KEY, ScriptedFetch(error), ttl_s=60, upstream="uptimerobot")

    read = await store.read(KEY)
    blocked_until = store.blocked_until("uptimerobot")
    clock.advance(30)

    assert blocked_until == clock.wall()
    assert read.freshness.next_refresh_at == blocked_until
    assert store.blocked_until("uptimerobot") is None
    assert store.blocked_until("sentry") is None


# --- writes, versions and freshness ------------------------------------------------------------


async def test_older_expiry_never_evicts_newer_value(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    fetch = ScriptedFetch(monitors(99))
    store.register(KEY, fetch, ttl_s=10, upstream="uptimerobot")

    await store.put(KEY, monitors(1))
    clock.advance(5)
    await store.put(KEY, monitors(2))
    clock.advance(6)
    read = await store.read(KEY)

    assert read.value == monitors(2)
    assert read.freshness.stale is False
    assert fetch.calls == 0


async def test_fetch_older_than_put_is_dropped(make_store: StoreFactory) -> None:
    store = make_store()
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), gate=gate)
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    refresh = asyncio.create_task(store.refresh(KEY))
    await fetch.started.wait()
    await store.put(KEY, monitors(2))
    gate.set()
    await refresh

    assert (await store.read(KEY)).value == monitors(2)


async def test_version_bumps_on_fetch_and_put(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")
    initial = store.version

    await store.read(KEY)
    after_fetch = store.version
    await store.put(KEY, monitors(2))

    assert after_fetch == initial + 1
    assert store.version == initial + 2


async def test_wait_for_change_wakes_on_put(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")
    waiter = asyncio.create_task(store.wait_for_change(store.version, timeout_s=30))
    await settle()

    await store.put(KEY, monitors(2))
    version = await asyncio.wait_for(waiter, timeout=1)

    assert version == 1


async def test_wait_for_change_returns_after_timeout(make_store: StoreFactory) -> None:
    store = make_store()

    version = await store.wait_for_change(store.version, timeout_s=0.01)

    assert version == 0


async def test_freshness_reports_times_and_next_refresh(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")
    fetched_at = clock.wall()
    await store.read(KEY)
    clock.advance(20)

    freshness = store.freshness(KEY)

    assert freshness.key == KEY
    assert freshness.available is True
    assert freshness.stale is False
    assert freshness.fetched_at == fetched_at
    assert freshness.age_s == 20
    assert freshness.last_error is None
    assert freshness.next_refresh_at == fetched_at + timedelta(seconds=60)


async def test_cold_key_freshness_has_no_value(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")

    freshness = store.freshness(KEY)

    assert freshness.available is False
    assert freshness.fetched_at is None
    assert freshness.age_s is None
    assert freshness.next_refresh_at is None


# --- lifecycle and misuse ----------------------------------------------------------------------


async def test_close_cancels_fetch_in_flight(make_store: StoreFactory) -> None:
    store = make_store(fetch_timeout_s=0.01)
    fetch = ScriptedFetch(monitors(1), gate=asyncio.Event())
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)

    await store.close()
    read = await store.read(KEY)

    assert read.available is False
    assert fetch.calls == 1
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []


async def test_hung_fetch_ends_at_flight_timeout(make_store: StoreFactory) -> None:
    store = make_store(fetch_timeout_s=0.005, flight_timeout_s=0.02)
    fetch = ScriptedFetch(monitors(1), gate=asyncio.Event())
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")

    await store.read(KEY)
    await store.wait_idle()
    read = await store.read(KEY)

    assert read.freshness.last_error == "timeout"
    assert fetch.calls == 2


async def test_refresh_skips_value_younger_than_min_age(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    fetch = ScriptedFetch(monitors(1), monitors(2))
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)
    clock.advance(10)

    skipped = await store.refresh(KEY, min_age_s=30)
    calls_after_skip = fetch.calls
    refreshed = await store.refresh(KEY, min_age_s=10)

    assert skipped.value == monitors(1)
    assert calls_after_skip == 1
    assert refreshed.value == monitors(2)
    assert fetch.calls == 2


async def test_unregistered_key_raises_key_error(make_store: StoreFactory) -> None:
    store = make_store()

    with pytest.raises(KeyError, match="not registered"):
        await store.read("sentry:issues:nowhere")


async def test_register_rejects_non_positive_ttl(make_store: StoreFactory) -> None:
    store = make_store()

    with pytest.raises(ValueError, match="ttl_s"):
        store.register(KEY, ScriptedFetch(), ttl_s=0, upstream="uptimerobot")


async def test_register_again_keeps_value(make_store: StoreFactory) -> None:
    store = make_store()
    store.register(KEY, ScriptedFetch(monitors(1)), ttl_s=60, upstream="uptimerobot")
    await store.read(KEY)
    replacement = ScriptedFetch(monitors(2))

    store.register(KEY, replacement, ttl_s=120, upstream="uptimerobot")
    read = await store.read(KEY)

    assert read.value == monitors(1)
    assert replacement.calls == 0
    assert store.registration(KEY).ttl_s == 120
    assert store.keys() == [KEY]
