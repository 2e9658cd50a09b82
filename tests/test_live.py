"""The live-update parts on their own: delivery log, key refresher and status broadcaster."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from app.config import Settings
from app.errors import DataUnavailable
from app.live import (
    DeliveryLog,
    KeyRefresher,
    LiveUpdates,
    RejectionLog,
    StatusBroadcaster,
    StatusEvent,
)
from app.store.memory import MemorySnapshotStore

KEY = "uptimerobot:monitors"
WAIT_S = 1.0


class FakeViews:
    """Stands in for ``StatusViews``: returns ``body`` as the public status and counts reads."""

    def __init__(self, body: bytes = b'{"status":"a"}') -> None:
        self.body = body
        self.error: Exception | None = None
        self.reads = 0

    async def current(self) -> Any:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return SimpleNamespace(public_body=self.body)


class GatedFetch:
    """A fetch that counts its calls and waits for ``gate`` before it returns."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        await self.gate.wait()
        return self.calls


def _store(fetch: Any = None) -> MemorySnapshotStore:
    store = MemorySnapshotStore(max_stale_s=600, fetch_timeout_s=WAIT_S)
    store.register(KEY, fetch or GatedFetch(), ttl_s=60, upstream="uptimerobot")
    return store


def _broadcaster(store: MemorySnapshotStore, views: FakeViews, **options: Any) -> StatusBroadcaster:
    return StatusBroadcaster(store, views, **options)  # type: ignore[arg-type]


# --- delivery log ----------------------------------------------------------------------------


async def test_delivery_log_detects_duplicate() -> None:
    log = DeliveryLog(ttl_s=300)

    assert await log.record(["a"]) is True
    assert await log.record(["a"]) is False


async def test_delivery_log_matches_any_id() -> None:
    log = DeliveryLog(ttl_s=300)
    await log.record(["body-hash", "request-1"])

    assert await log.record(["other-hash", "request-1"]) is False
    assert await log.record(["body-hash", "request-2"]) is False


async def test_delivery_log_forgets_after_ttl() -> None:
    now = [1000.0]
    log = DeliveryLog(ttl_s=300, timer=lambda: now[0])
    await log.record(["a"])

    now[0] += 301

    assert await log.record(["a"]) is True


async def test_delivery_log_is_bounded() -> None:
    log = DeliveryLog(ttl_s=300, max_entries=3)

    for index in range(10):
        await log.record([str(index)])

    assert await log.record(["9"]) is False
    assert await log.record(["0"]) is True


class SharedClaims:
    """A stand-in for a store shared by replicas: names are claimed all together, once."""

    def __init__(self) -> None:
        self.claimed: dict[str, float] = {}

    async def claim_once(self, names: list[str], ttl_s: float) -> bool:
        if any(name in self.claimed for name in names):
            return False
        self.claimed.update(dict.fromkeys(names, ttl_s))
        return True


async def test_delivery_seen_by_another_replica_is_duplicate() -> None:
    shared = SharedClaims()
    first = DeliveryLog(ttl_s=300, store=shared)  # type: ignore[arg-type]
    second = DeliveryLog(ttl_s=300, store=shared)  # type: ignore[arg-type]

    assert await first.record(["request-1"]) is True
    assert await second.record(["request-1"]) is False
    assert shared.claimed == {"webhook-delivery:request-1": 300}


async def test_delivery_duplicate_in_process_skips_shared_claim() -> None:
    shared = SharedClaims()
    log = DeliveryLog(ttl_s=300, store=shared)  # type: ignore[arg-type]
    await log.record(["a"])
    shared.claimed.clear()

    assert await log.record(["a"]) is False
    assert shared.claimed == {}


class SharedMemoryStore(MemorySnapshotStore):
    """A store of one process that claims names in a dict shared with other instances."""

    def __init__(self, claims: SharedClaims) -> None:
        super().__init__(max_stale_s=600, fetch_timeout_s=1.0)
        self._claims = claims

    async def claim_once(self, names: Sequence[str], ttl_s: float) -> bool:
        return await self._claims.claim_once(list(names), ttl_s)


async def test_sentry_redelivery_to_other_replica_is_duplicate() -> None:
    claims = SharedClaims()
    replicas = [
        LiveUpdates(
            SharedMemoryStore(claims),
            FakeViews(),  # type: ignore[arg-type]
            Settings(_env_file=None, demo_mode=True),  # type: ignore[call-arg]
            clock=lambda: datetime(2026, 12, 4, tzinfo=UTC),
        )
        for _ in range(2)
    ]

    first = await replicas[0].accept_sentry_hook("issue", {"action": "created"}, ["req-9"])
    again = await replicas[1].accept_sentry_hook("issue", {"action": "created"}, ["req-9"])
    for replica in replicas:
        await replica.close()

    # The stores register no keys, so the first delivery has nothing to refresh.
    assert first.status == "ignored"
    assert again.status == "duplicate"


# --- key refresher ---------------------------------------------------------------------------


async def test_refresher_refreshes_requested_key() -> None:
    fetch = GatedFetch()
    fetch.gate.set()
    store = _store(fetch)
    refresher = KeyRefresher(store)

    refresher.request([KEY])
    await refresher.wait_idle()

    assert fetch.calls == 1
    assert (await store.read(KEY)).value == 1


async def test_refresher_coalesces_burst_into_two() -> None:
    fetch = GatedFetch()
    refresher = KeyRefresher(_store(fetch))

    for _ in range(5):
        refresher.request([KEY])
        await asyncio.sleep(0)
    fetch.gate.set()
    await refresher.wait_idle()

    assert fetch.calls == 2


async def test_refresher_close_cancels_running_refresh() -> None:
    fetch = GatedFetch()
    store = _store(fetch)
    refresher = KeyRefresher(store)
    refresher.request([KEY])
    await asyncio.sleep(0.01)

    await refresher.close()
    refresher.request([KEY])
    await store.close()

    assert fetch.calls == 1
    assert not [task for task in asyncio.all_tasks() if "webhook-refresh" in task.get_name()]


# --- status events ---------------------------------------------------------------------------


def test_event_encodes_as_sse_frame() -> None:
    event = StatusEvent(id="ab12-3", body=b'{"indicator":"none"}')

    assert event.encode() == b'id: ab12-3\nevent: status\ndata: {"indicator":"none"}\n\n'


def test_event_multiline_body_data_lines() -> None:
    event = StatusEvent(id="ab12-4", body=b"{\n}")

    assert event.encode() == b"id: ab12-4\nevent: status\ndata: {\ndata: }\n\n"


# --- broadcaster -----------------------------------------------------------------------------


async def test_first_subscriber_gets_current_status() -> None:
    views = FakeViews(b'{"status":"a"}')
    broadcaster = _broadcaster(_store(), views)

    subscription = broadcaster.subscribe()
    event = await subscription.next_event(WAIT_S)
    await broadcaster.close()

    assert subscription.initial is None
    assert event is not None
    assert event.body == b'{"status":"a"}'


async def test_change_published_to_every_subscriber() -> None:
    store, views = _store(), FakeViews(b'{"status":"a"}')
    broadcaster = _broadcaster(store, views)
    first = broadcaster.subscribe()
    await first.next_event(WAIT_S)
    second = broadcaster.subscribe()

    views.body = b'{"status":"b"}'
    await store.put(KEY, 1)
    seen = [await first.next_event(WAIT_S), await second.next_event(WAIT_S)]
    await broadcaster.close()

    assert [event.body for event in seen if event] == [b'{"status":"b"}'] * 2
    assert second.initial is not None
    assert second.initial.body == b'{"status":"a"}'


async def test_event_ids_increase_per_body() -> None:
    store, views = _store(), FakeViews(b'{"status":"a"}')
    broadcaster = _broadcaster(store, views)
    subscription = broadcaster.subscribe()
    first = await subscription.next_event(WAIT_S)

    views.body = b'{"status":"b"}'
    await store.put(KEY, 1)
    second = await subscription.next_event(WAIT_S)
    await broadcaster.close()

    assert first is not None
    assert second is not None
    prefix, number = first.id.rsplit("-", 1)
    assert second.id == f"{prefix}-{int(number) + 1}"


async def test_unchanged_body_not_published_again() -> None:
    store, views = _store(), FakeViews()
    broadcaster = _broadcaster(store, views)
    subscription = broadcaster.subscribe()
    await subscription.next_event(WAIT_S)

    await store.put(KEY, 1)
    with pytest.raises(TimeoutError):
        await subscription.next_event(0.1)
    reads = views.reads
    await broadcaster.close()

    assert reads == 2


async def test_slow_subscriber_dropped_when_queue_full() -> None:
    views = FakeViews()
    views.error = DataUnavailable("no data yet")
    broadcaster = _broadcaster(_store(), views, queue_size=2)
    slow = broadcaster.subscribe()
    fast = broadcaster.subscribe()

    for index in range(3):
        broadcaster.publish(f'{{"n":{index}}}'.encode())
        assert await fast.next_event(WAIT_S) is not None
    ended = await slow.next_event(WAIT_S)
    count = broadcaster.subscriber_count
    await broadcaster.close()

    assert slow.ended is True
    assert ended is None
    assert count == 1


async def test_no_reads_without_subscribers() -> None:
    store, views = _store(), FakeViews()
    broadcaster = _broadcaster(store, views)

    await store.put(KEY, 1)
    await asyncio.sleep(0.05)
    await broadcaster.close()

    assert views.reads == 0


async def test_producer_pauses_after_last_unsubscribe() -> None:
    store, views = _store(), FakeViews()
    broadcaster = _broadcaster(store, views)
    subscription = broadcaster.subscribe()
    await subscription.next_event(WAIT_S)

    broadcaster.unsubscribe(subscription)
    await store.put(KEY, 1)
    await asyncio.sleep(0.05)
    await broadcaster.close()

    assert views.reads == 1


async def test_subscriber_after_pause_gets_fresh_read() -> None:
    views = FakeViews(b'{"status":"a"}')
    broadcaster = _broadcaster(_store(), views)
    first = broadcaster.subscribe()
    await first.next_event(WAIT_S)
    broadcaster.unsubscribe(first)

    views.body = b'{"status":"b"}'
    second = broadcaster.subscribe()
    event = await second.next_event(WAIT_S)
    await broadcaster.close()

    assert second.initial is None
    assert event is not None
    assert event.body == b'{"status":"b"}'


async def test_subscriber_after_pause_gets_unchanged_status() -> None:
    views = FakeViews(b'{"status":"a"}')
    broadcaster = _broadcaster(_store(), views)
    first = broadcaster.subscribe()
    before = await first.next_event(WAIT_S)
    broadcaster.unsubscribe(first)

    second = broadcaster.subscribe()
    event = await second.next_event(WAIT_S)
    await broadcaster.close()

    assert event is not None
    assert event == before


async def test_producer_survives_view_error(caplog: pytest.LogCaptureFixture) -> None:
    store, views = _store(), FakeViews(b'{"status":"a"}')
    views.error = RuntimeError("bug in a service")
    broadcaster = _broadcaster(store, views)
    subscription = broadcaster.subscribe()

    with caplog.at_level(logging.ERROR, logger="app.live"):
        await asyncio.sleep(0.05)
    views.error = None
    await store.put(KEY, 1)
    event = await subscription.next_event(WAIT_S)
    await broadcaster.close()

    assert event is not None
    assert event.body == b'{"status":"a"}'
    assert "failed to read the status" in caplog.text


async def test_close_ends_streams_and_producer() -> None:
    broadcaster = _broadcaster(_store(), FakeViews())
    subscription = broadcaster.subscribe()
    await subscription.next_event(WAIT_S)

    await broadcaster.close()

    assert await subscription.next_event(WAIT_S) is None
    assert broadcaster.subscriber_count == 0
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "status-broadcaster"]


async def test_subscribe_after_close_ends_at_once() -> None:
    broadcaster = _broadcaster(_store(), FakeViews())
    await broadcaster.close()

    subscription = broadcaster.subscribe()

    assert await subscription.next_event(WAIT_S) is None
    assert broadcaster.subscriber_count == 0


async def test_end_streams_ends_subscriptions_at_once() -> None:
    broadcaster = _broadcaster(_store(), FakeViews())
    subscription = broadcaster.subscribe()
    await subscription.next_event(WAIT_S)

    broadcaster.end_streams()

    assert await subscription.next_event(WAIT_S) is None
    assert broadcaster.subscriber_count == 0
    await broadcaster.close()


async def test_subscribe_after_end_streams_ends_at_once() -> None:
    broadcaster = _broadcaster(_store(), FakeViews())
    broadcaster.end_streams()

    subscription = broadcaster.subscribe()

    assert await subscription.next_event(WAIT_S) is None
    await broadcaster.close()


# --- rejection log ---------------------------------------------------------------------------


def test_rejection_log_counts_repeats(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    rejections = RejectionLog(60.0, timer=lambda: now[0])

    with caplog.at_level(logging.WARNING, logger="app.live"):
        for _ in range(5):
            rejections.note("sentry", "invalid signature")
        now[0] += 61
        rejections.note("sentry", "invalid signature")
        rejections.note("uptimerobot", "unknown token")

    assert [record.getMessage() for record in caplog.records] == [
        "webhook rejected source=sentry reason=invalid signature count=1",
        "webhook rejected source=sentry reason=invalid signature count=5",
        "webhook rejected source=uptimerobot reason=unknown token count=1",
    ]
