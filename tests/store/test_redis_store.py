"""The Redis snapshot store against the real Redis at 127.0.0.1:6379, several stores at once."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from app.config import Settings
from app.models.upstream import Monitor, MonitorLog, MonitorsSnapshot, MonitorStatus
from app.sources.errors import SourceRateLimited, SourceTimeout, SourceUnavailable
from app.store.fanout import store_from_settings
from app.store.poller import Poller
from app.store.redis_store import RedisSnapshotStore
from tests.store.conftest import REDIS_URL, FakeClock, ScriptedFetch

KEY = "uptimerobot:monitors"
RedisStoreFactory = Callable[..., RedisSnapshotStore]


def monitors(total: int) -> MonitorsSnapshot:
    monitor = Monitor(
        id=total,
        name="Backend API",
        status=MonitorStatus.UP,
        uptime_ratios={1: 100.0, 7: 99.95, 30: None},
        logs=[MonitorLog(type="down", at=datetime(2026, 12, 1, 3, 0, tzinfo=UTC), duration_s=60)],
    )
    return MonitorsSnapshot(monitors=[monitor], total=total, pages=1)


def register(store: RedisSnapshotStore, fetch: ScriptedFetch, key: str = KEY) -> None:
    upstream = key.split(":", 1)[0]
    store.register(key, fetch, ttl_s=60, upstream=upstream, model=MonitorsSnapshot)


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of the local Redis, to cut the connection mid-run."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers += [writer, redis_writer]
        await asyncio.gather(self._pipe(reader, redis_writer), self._pipe(redis_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- single flight across replicas -------------------------------------------------------------


async def test_burst_beyond_connection_pool_waits_for_connections(
    make_redis_store: RedisStoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), gate=gate)
    store = make_redis_store()
    store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot", model=MonitorsSnapshot)
    asyncio.get_running_loop().call_later(0.05, gate.set)

    reads = await asyncio.gather(*(store.read(KEY) for _ in range(400)))

    assert fetch.calls == 1
    assert all(read.value == monitors(1) for read in reads)
    assert "Redis is unreachable" not in caplog.text


async def test_300_cold_reads_on_3_stores_fetch_once(
    make_redis_store: RedisStoreFactory,
) -> None:
    calls = 0

    async def fetch() -> MonitorsSnapshot:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return monitors(1)

    stores = [make_redis_store() for _ in range(3)]
    for store in stores:
        store.register(KEY, fetch, ttl_s=60, upstream="uptimerobot", model=MonitorsSnapshot)

    reads = await asyncio.gather(*(stores[index % 3].read(KEY) for index in range(300)))

    assert calls == 1
    assert all(read.available for read in reads)
    assert all(read.value == monitors(1) for read in reads)


async def test_value_round_trips_between_replicas(make_redis_store: RedisStoreFactory) -> None:
    writer, reader = make_redis_store(), make_redis_store()
    reader_fetch = ScriptedFetch(monitors(2))
    register(writer, ScriptedFetch(monitors(1)))
    register(reader, reader_fetch)

    await writer.read(KEY)
    read = await reader.read(KEY)

    assert isinstance(read.value, MonitorsSnapshot)
    assert read.value == monitors(1)
    assert read.freshness.stale is False
    assert reader_fetch.calls == 0


async def test_snapshot_key_carries_schema_version(
    make_redis_store: RedisStoreFactory, redis_prefix: str
) -> None:
    store = make_redis_store()
    register(store, ScriptedFetch(monitors(1)))

    await store.read(KEY)
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    payload = await client.hget(f"{redis_prefix}:v1:snapshot:{KEY}", "value")
    await client.aclose()

    assert payload is not None
    assert json.loads(payload)["total"] == 1
    assert ": " not in payload


async def test_value_of_unknown_shape_is_refetched(
    make_redis_store: RedisStoreFactory, redis_prefix: str
) -> None:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    await client.hset(
        f"{redis_prefix}:v1:snapshot:{KEY}",
        mapping={"value": '{"monitors": "not a list"}', "stamp": "old", "fetched_at": "0"},
    )
    await client.aclose()
    store = make_redis_store()
    fetch = ScriptedFetch(monitors(3))
    register(store, fetch)

    read = await store.read(KEY)

    assert read.value == monitors(3)
    assert fetch.calls == 1


async def test_failure_shared_then_next_read_fetches(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    first, second = make_redis_store(), make_redis_store()
    fetch = ScriptedFetch(SourceTimeout("uptimerobot", "timed out"), monitors(4))
    register(first, fetch)
    register(second, fetch)

    failed = await first.read(KEY)
    clock.advance(1)
    recovered = await second.read(KEY)

    assert failed.available is False
    assert failed.freshness.last_error == "timeout"
    assert recovered.value == monitors(4)
    assert fetch.calls == 2


async def test_value_not_matching_model_never_stored(
    make_redis_store: RedisStoreFactory,
) -> None:
    store = make_redis_store()
    register(store, ScriptedFetch("not a monitors snapshot"))

    read = await store.read(KEY)

    assert read.available is False
    assert read.freshness.last_error == "error"


async def test_pollers_of_two_replicas_fetch_once(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    first, second = make_redis_store(), make_redis_store()
    fetch = ScriptedFetch(monitors(1), monitors(2))
    register(first, fetch)
    register(second, fetch)
    first_poller = Poller(first, clock=clock.wall, lead_s=5)
    second_poller = Poller(second, clock=clock.wall, lead_s=5)

    await first_poller.run_once(clock.wall())
    await second_poller.run_once(clock.wall())
    calls_after_start = fetch.calls
    clock.advance(55)
    await asyncio.gather(first_poller.run_once(clock.wall()), second_poller.run_once(clock.wall()))

    assert calls_after_start == 1
    assert fetch.calls == 2
    assert (await second.read(KEY)).value == monitors(2)


# --- locks -------------------------------------------------------------------------------------


async def test_crashed_lock_holder_taken_over_after_lease(
    make_redis_store: RedisStoreFactory, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = make_redis_store(lease_s=0.4, fetch_timeout_s=0.05)
    successor = make_redis_store(lease_s=0.4, fetch_timeout_s=3)
    hung_fetch = ScriptedFetch(monitors(1), gate=asyncio.Event())
    successor_fetch = ScriptedFetch(monitors(2))
    register(holder, hung_fetch)
    register(successor, successor_fetch)

    async def crash_without_release(lock_key: str, token: str) -> None:
        return None

    await holder.read(KEY)
    await hung_fetch.started.wait()
    monkeypatch.setattr(holder, "_release_lock", crash_without_release)
    await holder.close()
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    lease_left_ms = await client.pttl(f"{redis_prefix}:v1:lock:{KEY}")
    await client.aclose()

    started = time.perf_counter()
    read = await successor.read(KEY)
    elapsed_s = time.perf_counter() - started

    assert lease_left_ms > 0
    assert read.value == monitors(2)
    assert successor_fetch.calls == 1
    assert elapsed_s < 2


async def test_waiting_replica_wakes_on_notification(
    make_redis_store: RedisStoreFactory,
) -> None:
    # A poll interval and lease far longer than the fetch, so only the event can end the wait.
    holder = make_redis_store(lease_s=10, poll_interval_s=5)
    waiter = make_redis_store(lease_s=10, poll_interval_s=5)
    gate = asyncio.Event()
    fetch = ScriptedFetch(monitors(1), gate=gate)
    register(holder, fetch)
    register(waiter, fetch)
    await waiter.wait_for_change(waiter.version, timeout_s=0.05)

    holding = asyncio.create_task(holder.read(KEY))
    await fetch.started.wait()
    waiting = asyncio.create_task(waiter.read(KEY))
    await asyncio.sleep(0.05)
    gate.set()
    started = time.perf_counter()
    read = await waiting
    elapsed_s = time.perf_counter() - started
    await holding

    assert read.value == monitors(1)
    assert fetch.calls == 1
    assert elapsed_s < 1


async def test_lease_renewed_while_fetch_runs(make_redis_store: RedisStoreFactory) -> None:
    first = make_redis_store(lease_s=0.15, fetch_timeout_s=3)
    second = make_redis_store(lease_s=0.15, fetch_timeout_s=3)
    calls = 0

    async def slow_fetch() -> MonitorsSnapshot:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.5)
        return monitors(1)

    for store in (first, second):
        store.register(KEY, slow_fetch, ttl_s=60, upstream="uptimerobot", model=MonitorsSnapshot)

    first_read = asyncio.create_task(first.read(KEY))
    await asyncio.sleep(0.05)
    second_read = await second.read(KEY)

    assert (await first_read).value == monitors(1)
    assert second_read.value == monitors(1)
    assert calls == 1


# --- stale values, rate limits and marks across replicas ---------------------------------------


async def test_failed_refresh_serves_stale_on_every_replica(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    first, second = make_redis_store(), make_redis_store()
    fetch = ScriptedFetch(monitors(1), SourceUnavailable("uptimerobot", "HTTP 503"))
    register(first, fetch)
    register(second, fetch)
    await first.read(KEY)
    clock.advance(60)

    await first.refresh(KEY)
    read = await second.read(KEY)

    assert read.value == monitors(1)
    assert read.freshness.stale is True
    assert read.freshness.last_error == "unavailable"
    assert fetch.calls == 2


async def test_value_past_max_stale_unavailable(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    store = make_redis_store(max_stale_s=600)
    fetch = ScriptedFetch(monitors(1), SourceUnavailable("uptimerobot", "HTTP 503"))
    register(store, fetch)
    await store.read(KEY)

    clock.advance(600)
    read = await store.read(KEY)

    assert read.available is False
    assert read.value is None
    assert read.freshness.last_error == "unavailable"


async def test_429_blocks_upstream_on_every_replica(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    first, second = make_redis_store(), make_redis_store()
    limited = ScriptedFetch(SourceRateLimited("sentry", "HTTP 429", retry_after_s=30))
    sibling = ScriptedFetch(monitors(5))
    register(first, limited, "sentry:issues:backend")
    register(first, sibling, "sentry:stats:backend")
    register(second, limited, "sentry:issues:backend")
    register(second, sibling, "sentry:stats:backend")

    await first.read("sentry:issues:backend")
    blocked = await second.read("sentry:stats:backend")
    blocked_until = second.blocked_until("sentry")
    clock.advance(30)
    allowed = await second.read("sentry:stats:backend")

    assert blocked.available is False
    assert blocked.freshness.last_error == "rate_limited"
    assert blocked_until == clock.wall()
    assert allowed.value == monitors(5)
    assert sibling.calls == 1


async def test_mark_stale_refreshes_on_other_replica(
    make_redis_store: RedisStoreFactory,
) -> None:
    marker, reader = make_redis_store(), make_redis_store()
    fetch = ScriptedFetch(monitors(1), monitors(2))
    register(marker, fetch)
    register(reader, fetch)
    await marker.read(KEY)

    marker.mark_stale(KEY)
    await marker.wait_idle()
    marked = await reader.read(KEY)
    await reader.wait_idle()
    refreshed = await reader.read(KEY)

    assert marked.value == monitors(1)
    assert marked.freshness.stale is True
    assert refreshed.value == monitors(2)
    assert refreshed.freshness.stale is False
    assert fetch.calls == 2


async def test_refresh_skips_value_another_replica_fetched(
    make_redis_store: RedisStoreFactory, clock: FakeClock
) -> None:
    first, second = make_redis_store(), make_redis_store()
    fetch = ScriptedFetch(monitors(1), monitors(2))
    register(first, fetch)
    register(second, fetch)
    await first.read(KEY)
    clock.advance(10)

    read = await second.refresh(KEY, min_age_s=55)

    assert read.value == monitors(1)
    assert fetch.calls == 1


async def test_put_wakes_waiter_on_other_replica(make_redis_store: RedisStoreFactory) -> None:
    writer, watcher = make_redis_store(), make_redis_store()
    register(writer, ScriptedFetch(monitors(1)))
    register(watcher, ScriptedFetch(monitors(1)))
    await watcher.wait_for_change(watcher.version, timeout_s=0.05)
    before = watcher.version

    waiting = asyncio.create_task(watcher.wait_for_change(before, timeout_s=5))
    await asyncio.sleep(0.05)
    await writer.put(KEY, monitors(9))
    after = await asyncio.wait_for(waiting, timeout=2)
    read = await watcher.read(KEY)

    assert after > before
    assert read.value == monitors(9)


# --- Redis outages -----------------------------------------------------------------------------


async def test_unreachable_redis_falls_back_to_memory(
    make_redis_store: RedisStoreFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_redis_store(url=f"redis://127.0.0.1:{closed_port()}/0", redis_retry_s=5)
    fetch = ScriptedFetch(monitors(1))
    register(store, fetch)

    with caplog.at_level(logging.WARNING, logger="app.store.redis_store"):
        reads = [await store.read(KEY) for _ in range(3)]
        clock.advance(5)
        reads.append(await store.read(KEY))

    outage_logs = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert all(read.value == monitors(1) for read in reads)
    assert fetch.calls == 1
    assert store.redis_down is True
    assert len(outage_logs) == 1


async def test_redis_outage_mid_run_keeps_reads_answering(
    make_redis_store: RedisStoreFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy()
    await proxy.start()
    store = make_redis_store(url=f"redis://127.0.0.1:{proxy.port}/0", redis_retry_s=5)
    fetch = ScriptedFetch(monitors(1), monitors(2))
    register(store, fetch)

    with caplog.at_level(logging.INFO, logger="app.store.redis_store"):
        before_outage = await store.read(KEY)
        await proxy.stop()
        during_outage = await store.read(KEY)
        await proxy.start()
        clock.advance(5)
        after_outage = await store.read(KEY)
    await store.close()
    await proxy.stop()

    messages = [record.getMessage() for record in caplog.records]
    assert before_outage.value == monitors(1)
    assert during_outage.available is True
    assert during_outage.value == monitors(2)
    assert after_outage.value == monitors(1)
    assert fetch.calls == 2
    assert sum("Redis is unreachable" in message for message in messages) == 1
    assert sum("Redis is reachable again" in message for message in messages) == 1


async def test_store_from_settings_builds_redis_store(redis_prefix: str) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, poller_enabled=False, redis_url=REDIS_URL
    )

    store = store_from_settings(settings, key_prefix=redis_prefix)

    assert isinstance(store, RedisSnapshotStore)
    await store.close()


# --- shared claims ---------------------------------------------------------------------------


async def test_claim_is_shared_between_replicas(make_redis_store: RedisStoreFactory) -> None:
    first, second = make_redis_store(), make_redis_store()

    assert await first.claim_once(["webhook-delivery:req-1"], 300) is True
    assert await second.claim_once(["webhook-delivery:req-1"], 300) is False
    assert await second.claim_once(["webhook-delivery:req-2"], 300) is True


async def test_claim_of_several_names_is_all_or_none(
    make_redis_store: RedisStoreFactory,
) -> None:
    first, second = make_redis_store(), make_redis_store()
    await first.claim_once(["request-1"], 300)

    assert await second.claim_once(["body-1", "request-1"], 300) is False
    assert await second.claim_once(["body-1"], 300) is True


async def test_concurrent_claims_of_one_delivery_have_one_winner(
    make_redis_store: RedisStoreFactory,
) -> None:
    replicas = [make_redis_store() for _ in range(4)]
    deliveries = [[f"body-{number}", f"request-{number}"] for number in range(50)]

    results = await asyncio.gather(
        *(
            replica.claim_once(names if index % 2 == 0 else names[::-1], 300)
            for names in deliveries
            for index, replica in enumerate(replicas)
        )
    )

    wins_per_delivery = [sum(results[index : index + 4]) for index in range(0, len(results), 4)]
    assert wins_per_delivery == [1] * len(deliveries)


async def test_claim_expires_after_its_ttl(make_redis_store: RedisStoreFactory) -> None:
    store = make_redis_store()

    assert await store.claim_once(["short"], 0.05) is True
    await asyncio.sleep(0.2)

    assert await store.claim_once(["short"], 0.05) is True


async def test_claim_without_redis_is_left_to_caller(make_redis_store: RedisStoreFactory) -> None:
    store = make_redis_store(f"redis://127.0.0.1:{closed_port()}/0", redis_timeout_s=0.2)

    assert await store.claim_once(["webhook-delivery:req-1"], 300) is True
    assert await store.claim_once(["webhook-delivery:req-1"], 300) is True
