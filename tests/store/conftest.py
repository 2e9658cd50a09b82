"""Fixtures for the snapshot store tests: a fake clock, scripted fetches and a memory store."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.store.memory import MemorySnapshotStore
from app.store.redis_store import RedisSnapshotStore

START_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class FakeClock:
    """A monotonic clock and a matching UTC wall clock that only move when a test advances them."""

    def __init__(self, start: float = 1000.0) -> None:
        self._start = start
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return START_AT + timedelta(seconds=self.now - self._start)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedFetch:
    """A fetch function that returns or raises the next outcome of its script.

    The last outcome repeats once the script is used up. With ``gate`` set, every call waits
    for the gate before it returns, so a test controls when a fetch completes.
    """

    def __init__(self, *outcomes: Any, gate: asyncio.Event | None = None) -> None:
        self._outcomes = outcomes or (None,)
        self.gate = gate
        self.calls = 0
        self.started = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        outcome = self._outcomes[min(self.calls, len(self._outcomes)) - 1]
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def settle(rounds: int = 20) -> None:
    """Let tasks that need no I/O run to their next real wait."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_store(clock: FakeClock) -> AsyncIterator[Callable[..., MemorySnapshotStore]]:
    """Build memory stores on the fake clock; every store is closed after the test."""
    stores: list[MemorySnapshotStore] = []

    def build(**options: Any) -> MemorySnapshotStore:
        settings: dict[str, Any] = {"max_stale_s": 3600.0, "fetch_timeout_s": 1.0}
        settings.update(options)
        store = MemorySnapshotStore(clock=clock.monotonic, wall_clock=clock.wall, **settings)
        stores.append(store)
        return store

    yield build
    for store in stores:
        await store.close()


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """Return a key prefix of its own for one test and delete its keys afterwards.

    Skips the test when Redis is not reachable, unless ``CI`` is set, where it fails.
    """
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        reason = (
            f"Redis at 127.0.0.1:6379 is not reachable ({type(exc).__name__}); "
            "start redis-server on 127.0.0.1:6379 to run the Redis store tests"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}. CI is set, so this fails instead of skipping")
        pytest.skip(reason)

    prefix = f"lookout-test-{uuid.uuid4().hex}"
    yield prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def make_redis_store(
    redis_prefix: str, clock: FakeClock
) -> AsyncIterator[Callable[..., RedisSnapshotStore]]:
    """Build Redis stores that share the test's prefix; every store is closed after the test."""
    stores: list[RedisSnapshotStore] = []

    def build(url: str = REDIS_URL, **options: Any) -> RedisSnapshotStore:
        settings: dict[str, Any] = {
            "max_stale_s": 3600.0,
            "fetch_timeout_s": 2.0,
            "lease_s": 1.0,
            "poll_interval_s": 0.02,
            "key_prefix": redis_prefix,
        }
        settings.update(options)
        store = RedisSnapshotStore(url, clock=clock.monotonic, wall_clock=clock.wall, **settings)
        stores.append(store)
        return store

    yield build
    for store in stores:
        await store.close()
