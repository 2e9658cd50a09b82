"""The Redis snapshot store: replicas share snapshots, a refresh lock and rate-limit blocks.

Redis keys live under ``<prefix>:v1:``. The ``v1`` is the schema version of the stored values,
so a deploy that changes their shape moves to new keys instead of reading what it cannot parse.

- ``snapshot:<key>``: a hash with the value as compact JSON, its stamp and fetch time, the last
  error and a counter of finished fetches (``outcome``).
- ``lock:<key>``: the refresh lock, a random token set with NX and a lease. The holder renews
  the lease while it fetches and deletes the lock only if it still holds the token.
- ``block:<upstream>``: ``"<until> <since>"`` in epoch seconds after a 429, expiring with it.
- ``version``: a counter increased whenever a value is stored.
- ``events``: a pub/sub channel telling every replica that a key changed or an upstream was
  blocked, so waiters wake at once and ``version`` is shared across replicas.

Each replica keeps a mirror of every key's metadata and decoded value, updated on reads and
events, so ``freshness()`` and ``blocked_until()`` make no Redis call. Ages come from the wall
clock because replicas share no monotonic clock. When Redis cannot be reached, the store serves
from an in-process ``MemorySnapshotStore`` and tries Redis again after ``redis_retry_s``.

NOTE: ages and TTLs are only as exact as the replicas' clocks agree with each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

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
from app.store.memory import MemorySnapshotStore
from app.store.ratelimit import UpstreamBlock, clamp_wait_s

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0

SCHEMA_VERSION: Final = "v1"
DEFAULT_KEY_PREFIX: Final = "lookout"
DEFAULT_LEASE_S = 10.0
DEFAULT_POLL_INTERVAL_S = 0.1
DEFAULT_REDIS_TIMEOUT_S = 1.0
DEFAULT_REDIS_RETRY_S = 5.0
# Connections per process. A burst of readers beyond it waits up to the Redis timeout for a free
# connection. redis-py's default pool raises past 100 instead, and the store took that for Redis
# being down.
MAX_REDIS_CONNECTIONS = 50

# Connection failures, timeouts and error replies all mean "serve without Redis for now".
# OSError covers socket errors that redis-py does not wrap.
REDIS_ERRORS: Final = (RedisError, OSError)

_META_FIELDS: Final = (
    "stamp",
    "fetched_at",
    "outcome",
    "failures",
    "error_kind",
    "error_at",
    "stale_mark",
)

# Stores a value unless a newer one (fetched after this fetch started) is already there.
# KEYS: snapshot hash, version counter. ARGV: value, stamp, fetched_at, started_at, expiry ms.
_STORE_VALUE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'fetched_at')
local stored = 0
if (not current) or tonumber(current) <= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'value', ARGV[1], 'stamp', ARGV[2], 'fetched_at', ARGV[3])
  stored = 1
end
local mark = redis.call('HGET', KEYS[1], 'stale_mark')
if mark and tonumber(mark) <= tonumber(ARGV[4]) then
  redis.call('HDEL', KEYS[1], 'stale_mark')
end
redis.call('HSET', KEYS[1], 'failures', 0)
redis.call('HINCRBY', KEYS[1], 'outcome', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
if stored == 1 then
  version = redis.call('INCR', KEYS[2])
end
return {stored, version}
"""

# KEYS: lock. ARGV: token, lease ms.
_RENEW_LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lock. ARGV: token.
_RELEASE_LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Keeps the later of the current and the new block. KEYS: block. ARGV: until, since, wait ms.
_BLOCK_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current then
  local current_until = tonumber(string.match(current, '^(%S+)'))
  if current_until and current_until >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return 1
"""

# Claims every key (KEYS) for ARGV[1] ms, or none when one exists: two replicas that receive
# the same delivery at once cannot each win one of its ids.
_CLAIM_SCRIPT = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, '1', 'PX', ARGV[1])
end
return 1
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_datetime(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, tz=UTC)


def _to_float(text: str | None) -> float | None:
    return None if text is None else float(text)


@dataclass(frozen=True)
class _Meta:
    """Fields of a snapshot hash other than the value, with times in epoch seconds."""

    stamp: str | None = None
    fetched_at: float | None = None
    outcome: int = 0
    failures: int = 0
    error_kind: str | None = None
    error_at: float | None = None
    stale_mark: float | None = None

    @classmethod
    def parse(cls, fields: Sequence[Any]) -> _Meta:
        stamp, fetched_at, outcome, failures, error_kind, error_at, stale_mark = fields
        return cls(
            stamp=stamp,
            fetched_at=_to_float(fetched_at),
            outcome=int(outcome or 0),
            failures=int(failures or 0),
            error_kind=error_kind,
            error_at=_to_float(error_at),
            stale_mark=_to_float(stale_mark),
        )


@dataclass
class _Mirror:
    """This replica's copy of one key: its metadata, its decoded value and its flight."""

    registration: Registration
    adapter: TypeAdapter[Any]
    meta: _Meta = field(default_factory=_Meta)
    value: Any = NO_VALUE
    value_stamp: str | None = None
    # The outcome count when this replica marked the key stale, until Redis shows the mark.
    pending_mark_outcome: int | None = None
    flight: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _adapter_for(model: Any) -> TypeAdapter[Any]:
    if model is None:
        # Without a model, values come back as plain JSON types (dicts, lists, numbers).
        return TypeAdapter(Any)
    return TypeAdapter(model | None)


class RedisSnapshotStore(SnapshotStore):
    """Snapshot store shared by every replica through Redis, so N replicas make the upstream
    calls of one.

    ``register`` takes the value's ``model`` so values round-trip through JSON. ``version`` is
    the shared Redis counter plus this process's fallback counter, so it is comparable only
    within one process, and ``wait_for_change`` wakes when any replica stores a value.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        max_stale_s: float,
        fetch_timeout_s: float,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
        lease_s: float = DEFAULT_LEASE_S,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        redis_timeout_s: float = DEFAULT_REDIS_TIMEOUT_S,
        redis_retry_s: float = DEFAULT_REDIS_RETRY_S,
        error_retry_s: float = DEFAULT_ERROR_RETRY_S,
        flight_timeout_s: float | None = None,
    ) -> None:
        if lease_s <= 0 or poll_interval_s <= 0 or redis_timeout_s <= 0 or redis_retry_s < 0:
            raise ValueError(
                "lease_s, poll_interval_s and redis_timeout_s must be positive and "
                "redis_retry_s not negative"
            )
        self._fallback = MemorySnapshotStore(
            max_stale_s=max_stale_s,
            fetch_timeout_s=fetch_timeout_s,
            clock=clock,
            wall_clock=wall_clock,
            error_retry_s=error_retry_s,
            flight_timeout_s=flight_timeout_s,
        )
        pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=MAX_REDIS_CONNECTIONS,
            timeout=redis_timeout_s,
            decode_responses=True,
            socket_connect_timeout=redis_timeout_s,
            socket_timeout=redis_timeout_s,
            # No retries: a failed command falls back to memory at once instead of waiting.
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = Redis.from_pool(pool)
        self._store_value_script = self._redis.register_script(_STORE_VALUE_SCRIPT)
        self._renew_lock_script = self._redis.register_script(_RENEW_LOCK_SCRIPT)
        self._release_lock_script = self._redis.register_script(_RELEASE_LOCK_SCRIPT)
        self._block_script = self._redis.register_script(_BLOCK_SCRIPT)
        self._claim_script = self._redis.register_script(_CLAIM_SCRIPT)

        self._namespace = f"{key_prefix}:{SCHEMA_VERSION}"
        self._channel = f"{self._namespace}:events"
        self._max_stale_s = max_stale_s
        self._fetch_timeout_s = fetch_timeout_s
        self._flight_timeout_s = flight_timeout_s or 4 * fetch_timeout_s
        self._error_retry_s = error_retry_s
        self._lease_s = lease_s
        self._poll_interval_s = poll_interval_s
        self._redis_retry_s = redis_retry_s
        # A snapshot hash outlives max_stale, so an unusable value still shows its fetch time.
        self._expire_ms = int(2 * max_stale_s * 1000)
        self._clock = clock
        self._wall_clock = wall_clock

        self._mirrors: dict[str, _Mirror] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._redis_version = 0
        self._changed = asyncio.Event()
        self._redis_down = False
        self._redis_retry_at = 0.0
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
        self._fallback.register(key, fetch, ttl_s=ttl_s, upstream=upstream, model=model, poll=poll)
        registration = self._fallback.registration(key)
        mirror = self._mirrors.get(key)
        if mirror is None:
            self._mirrors[key] = _Mirror(registration=registration, adapter=_adapter_for(model))
        else:
            mirror.registration = registration
            mirror.adapter = _adapter_for(model)

    def registration(self, key: str) -> Registration:
        return self._mirror(key).registration

    def keys(self) -> list[str]:
        return list(self._mirrors)

    def freshness(self, key: str) -> Freshness:
        if self._redis_down:
            return self._fallback.freshness(key)
        return self._describe(self._mirror(key)).freshness

    def blocked_until(self, upstream: str) -> datetime | None:
        return self._fallback.blocked_until(upstream)

    @property
    def version(self) -> int:
        # Both parts only grow, so their sum grows whenever either store keeps a value.
        return self._redis_version + self._fallback.version

    @property
    def redis_down(self) -> bool:
        """Whether the store is serving from memory because Redis could not be reached."""
        return self._redis_down

    # --- reads and writes ----------------------------------------------------------------------

    async def read(self, key: str) -> SnapshotRead:
        mirror = self._mirror(key)
        if not self._redis_ready():
            return await self._fallback.read(key)
        try:
            await self._load(mirror)
            self._redis_reachable()
            read = await self._read_from_mirror(mirror)
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            return await self._fallback.read(key)
        if self._redis_down:
            return await self._fallback.read(key)
        return read

    async def refresh(self, key: str, *, min_age_s: float | None = None) -> SnapshotRead:
        mirror = self._mirror(key)
        if not self._redis_ready():
            return await self._fallback.refresh(key, min_age_s=min_age_s)
        try:
            await self._load(mirror)
            self._redis_reachable()
            if self._younger_than(mirror, min_age_s):
                return self._describe(mirror)
            read = await self._await_flight(mirror)
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            return await self._fallback.refresh(key, min_age_s=min_age_s)
        if self._redis_down:
            return await self._fallback.refresh(key, min_age_s=min_age_s)
        return read

    def mark_stale(self, key: str) -> None:
        mirror = self._mirror(key)
        self._fallback.mark_stale(key)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Without an event loop the mark cannot reach Redis and stays in this process.
            mirror.pending_mark_outcome = mirror.meta.outcome
            return
        if self._redis_down:
            return
        mirror.pending_mark_outcome = mirror.meta.outcome
        self._spawn(self._write_stale_mark(mirror, self._wall_clock().timestamp()))

    async def put(self, key: str, value: Any) -> None:
        mirror = self._mirror(key)
        reject_awaitable(value, key)
        value = mirror.adapter.validate_python(value)
        payload = mirror.adapter.dump_json(value).decode()
        if not self._redis_ready():
            await self._fallback.put(key, value)
            return
        try:
            await self._store_value(mirror, value, payload, self._wall_clock().timestamp())
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            await self._fallback.put(key, value)

    async def claim_once(self, names: Sequence[str], ttl_s: float) -> bool:
        if not names or not self._redis_ready():
            # Without Redis the caller's own log of this process is all there is.
            return True
        keys = [
            f"{self._namespace}:claim:{hashlib.sha256(name.encode()).hexdigest()}" for name in names
        ]
        try:
            claimed = await self._claim_script(keys=keys, args=[max(1, round(ttl_s * 1000))])
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            return True
        self._redis_reachable()
        return bool(claimed)

    async def wait_for_change(self, after_version: int, timeout_s: float) -> int:
        self._redis_ready()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.version <= after_version:
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                break
            waits = {
                asyncio.ensure_future(self._changed.wait()),
                asyncio.ensure_future(
                    self._fallback.wait_for_change(self._fallback.version, remaining_s)
                ),
            }
            try:
                await asyncio.wait(waits, timeout=remaining_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
                await asyncio.gather(*waits, return_exceptions=True)
        return self.version

    async def wait_idle(self) -> None:
        """Wait until this replica has no fetch or Redis write in flight, here or in memory."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self._fallback.wait_idle()

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._fallback.close()
        # The client's close can wait on a connection the cancelled listener still holds; a
        # bounded wait keeps shutdown from hanging on it (seen in about one run in fifteen).
        with contextlib.suppress(TimeoutError, *REDIS_ERRORS):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._redis.aclose()

    # --- Redis reachability --------------------------------------------------------------------

    def _redis_ready(self) -> bool:
        """Return whether to try Redis now, starting the event listener on first use."""
        if self._closed:
            return False
        if self._redis_down and self._clock() < self._redis_retry_at:
            return False
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="snapshot-events")
        return True

    def _redis_failed(self, error: BaseException) -> None:
        self._redis_retry_at = self._clock() + self._redis_retry_s
        if self._redis_down:
            return
        self._redis_down = True
        logger.warning(
            "Redis is unreachable, serving snapshots from process memory retry_s=%.1f error=%s: %s",
            self._redis_retry_s,
            type(error).__name__,
            error,
        )

    def _redis_reachable(self) -> None:
        if self._redis_down:
            self._redis_down = False
            logger.info("Redis is reachable again, serving snapshots from Redis")

    # --- Redis keys, loading and the mirror ----------------------------------------------------

    def _mirror(self, key: str) -> _Mirror:
        try:
            return self._mirrors[key]
        except KeyError:
            raise KeyError(f"snapshot key {key!r} is not registered") from None

    def _snapshot_key(self, key: str) -> str:
        return f"{self._namespace}:snapshot:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self._namespace}:lock:{key}"

    def _block_key(self, upstream: str) -> str:
        return f"{self._namespace}:block:{upstream}"

    def _version_key(self) -> str:
        return f"{self._namespace}:version"

    async def _load(self, mirror: _Mirror) -> None:
        """Update the mirror from Redis, reading the value only when its stamp changed."""
        snapshot_key = self._snapshot_key(mirror.registration.key)
        meta = _Meta.parse(await self._redis.hmget(snapshot_key, _META_FIELDS))
        if meta.stamp is None:
            mirror.value, mirror.value_stamp = NO_VALUE, None
        elif meta.stamp != mirror.value_stamp:
            # Read the metadata again with the value, in one command, so the two match.
            fields = await self._redis.hmget(snapshot_key, [*_META_FIELDS, "value"])
            meta = _Meta.parse(fields[:-1])
            self._decode(mirror, meta.stamp, fields[-1])
        pending = mirror.pending_mark_outcome
        if pending is not None and (meta.stale_mark is not None or meta.outcome != pending):
            mirror.pending_mark_outcome = None
        mirror.meta = meta

    def _decode(self, mirror: _Mirror, stamp: str | None, raw: Any) -> None:
        mirror.value_stamp = stamp
        if raw is None:
            mirror.value = NO_VALUE
            return
        try:
            mirror.value = mirror.adapter.validate_json(raw)
        except ValidationError as exc:
            # Remembering the stamp means one warning per stored value, not one per read.
            mirror.value = NO_VALUE
            logger.warning(
                "snapshot value in Redis does not match its model key=%s errors=%d",
                mirror.registration.key,
                exc.error_count(),
            )

    def _notify(self, mirror: _Mirror) -> None:
        mirror.changed.set()
        mirror.changed = asyncio.Event()

    def _note_version(self, version: int) -> None:
        if version > self._redis_version:
            self._redis_version = version
            self._changed.set()
            self._changed = asyncio.Event()

    async def _publish(self, event: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, json.dumps(event))

    # --- freshness rules -----------------------------------------------------------------------

    def _usable(self, mirror: _Mirror, now: float) -> bool:
        fetched_at = mirror.meta.fetched_at
        if mirror.value is NO_VALUE or fetched_at is None:
            return False
        return now - fetched_at < self._max_stale_s

    def _younger_than(self, mirror: _Mirror, min_age_s: float | None) -> bool:
        fetched_at = mirror.meta.fetched_at
        if min_age_s is None or fetched_at is None or mirror.value is NO_VALUE:
            return False
        return self._wall_clock().timestamp() - fetched_at < min_age_s

    def _due(self, mirror: _Mirror, now: float) -> bool:
        meta = mirror.meta
        if meta.fetched_at is None or meta.failures or meta.stale_mark is not None:
            return True
        if mirror.pending_mark_outcome is not None:
            return True
        return now - meta.fetched_at >= mirror.registration.ttl_s

    def _retry_delay_s(self, mirror: _Mirror) -> float:
        ttl_s = mirror.registration.ttl_s
        return error_retry_delay_s(mirror.meta.failures, self._error_retry_s, ttl_s)

    def _may_refresh_in_background(self, mirror: _Mirror, now: float) -> bool:
        if mirror.flight is not None or self._closed:
            return False
        if self._fallback.active_block(mirror.registration.upstream) is not None:
            return False
        meta = mirror.meta
        if meta.failures and meta.error_at is not None:
            return now - meta.error_at >= self._retry_delay_s(mirror)
        return True

    def _describe(self, mirror: _Mirror) -> SnapshotRead:
        now_at = self._wall_clock()
        now = now_at.timestamp()
        meta = mirror.meta
        key = mirror.registration.key
        usable = self._usable(mirror, now)
        due = self._due(mirror, now)
        block = self._fallback.active_block(mirror.registration.upstream)

        last_error, last_error_at = meta.error_kind, _to_datetime(meta.error_at)
        if block is not None and (due or not usable):
            last_error, last_error_at = ERROR_KIND_RATE_LIMITED, block.since_at
        age_s = None if meta.fetched_at is None else now - meta.fetched_at

        freshness = Freshness(
            key=key,
            available=usable,
            stale=due or not usable,
            fetched_at=_to_datetime(meta.fetched_at),
            age_s=age_s,
            last_error=last_error,
            last_error_at=last_error_at,
            next_refresh_at=self._next_refresh_at(mirror, now_at, block),
        )
        return SnapshotRead(key=key, value=mirror.value if usable else None, freshness=freshness)

    def _next_refresh_at(
        self, mirror: _Mirror, now_at: datetime, block: UpstreamBlock | None
    ) -> datetime | None:
        meta = mirror.meta
        due_at: datetime | None = None
        if meta.failures and meta.error_at is not None:
            due_at = _to_datetime(meta.error_at + self._retry_delay_s(mirror))
        elif meta.stale_mark is not None or mirror.pending_mark_outcome is not None:
            due_at = now_at
        elif meta.fetched_at is not None:
            due_at = _to_datetime(meta.fetched_at + mirror.registration.ttl_s)
        if block is not None:
            due_at = block.until_at if due_at is None else max(due_at, block.until_at)
        return due_at

    # --- flights -------------------------------------------------------------------------------

    async def _read_from_mirror(self, mirror: _Mirror) -> SnapshotRead:
        now = self._wall_clock().timestamp()
        if self._usable(mirror, now):
            if self._due(mirror, now) and self._may_refresh_in_background(mirror, now):
                self._start_flight(mirror)
            return self._describe(mirror)
        return await self._await_flight(mirror)

    async def _await_flight(self, mirror: _Mirror) -> SnapshotRead:
        """Wait for this replica's flight of the key, starting one unless its upstream is
        blocked."""
        flight = mirror.flight
        if flight is None:
            blocked = self._fallback.active_block(mirror.registration.upstream) is not None
            if self._closed or blocked:
                return self._describe(mirror)
            flight = self._start_flight(mirror)

        done, _ = await asyncio.wait({flight}, timeout=self._fetch_timeout_s)
        read = self._describe(mirror)
        if done or read.available:
            return read
        freshness = read.freshness.model_copy(
            update={"last_error": ERROR_KIND_TIMEOUT, "last_error_at": self._wall_clock()}
        )
        return dataclasses.replace(read, freshness=freshness)

    def _start_flight(self, mirror: _Mirror) -> asyncio.Task[None]:
        flight = self._spawn(self._run_flight(mirror, mirror.meta.outcome))
        mirror.flight = flight

        def finish(done: asyncio.Task[None]) -> None:
            if mirror.flight is done:
                mirror.flight = None

        flight.add_done_callback(finish)
        return flight

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_flight(self, mirror: _Mirror, seen_outcome: int) -> None:
        """Fetch the key once across replicas: take the lock and fetch, or wait for the holder.

        ``seen_outcome`` is the outcome count this flight was started on. When it has changed,
        another replica finished a fetch meanwhile and this flight ends without fetching.
        """
        key = mirror.registration.key
        deadline = asyncio.get_running_loop().time() + self._flight_timeout_s
        try:
            while True:
                await self._load(mirror)
                if mirror.meta.outcome != seen_outcome:
                    return
                if await self._load_block(mirror.registration.upstream):
                    return
                token = uuid.uuid4().hex
                lease_ms = int(self._lease_s * 1000)
                if await self._redis.set(self._lock_key(key), token, nx=True, px=lease_ms):
                    await self._fetch_as_holder(mirror, seen_outcome, token)
                    return
                if asyncio.get_running_loop().time() >= deadline:
                    logger.warning("snapshot refresh lock wait timed out key=%s", key)
                    return
                # A notification from the holder ends the wait early. Polling covers a lost
                # message and a holder whose lease expired.
                changed = mirror.changed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval_s):
                        await changed.wait()
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)

    async def _fetch_as_holder(self, mirror: _Mirror, seen_outcome: int, token: str) -> None:
        lock_key = self._lock_key(mirror.registration.key)
        renewal = asyncio.create_task(self._renew_lease(lock_key, token))
        try:
            # Another replica may have finished between our load and taking the lock.
            await self._load(mirror)
            if mirror.meta.outcome == seen_outcome:
                await self._fetch_and_record(mirror)
        finally:
            renewal.cancel()
            await asyncio.wait({renewal})
            await self._release_lock(lock_key, token)

    async def _renew_lease(self, lock_key: str, token: str) -> None:
        lease_ms = int(self._lease_s * 1000)
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                renewed = await self._renew_lock_script(keys=[lock_key], args=[token, lease_ms])
            except REDIS_ERRORS:
                return
            if not renewed:
                logger.warning("snapshot refresh lock lost during the fetch lock=%s", lock_key)
                return

    async def _release_lock(self, lock_key: str, token: str) -> None:
        try:
            await self._release_lock_script(keys=[lock_key], args=[token])
        except REDIS_ERRORS as exc:
            # The lease expires on its own, so another replica can take over after it.
            logger.info("snapshot refresh lock not released lock=%s error=%s", lock_key, exc)

    async def _fetch_and_record(self, mirror: _Mirror) -> None:
        registration = mirror.registration
        started = self._clock()
        started_at = self._wall_clock().timestamp()
        try:
            async with asyncio.timeout(self._flight_timeout_s):
                value = await registration.fetch()
            reject_awaitable(value, registration.key)
            # A value that does not match the model would never decode on another replica.
            value = mirror.adapter.validate_python(value)
            payload = mirror.adapter.dump_json(value).decode()
        except SourceRateLimited as exc:
            await self._block(registration.upstream, exc.retry_after_s)
            await self._record_failure(mirror, exc.kind, started, exc)
        except SourceError as exc:
            await self._record_failure(mirror, exc.kind, started, exc)
        except TimeoutError as exc:
            await self._record_failure(mirror, ERROR_KIND_TIMEOUT, started, exc)
        except Exception as exc:
            await self._record_failure(mirror, ERROR_KIND_UNEXPECTED, started, exc)
        else:
            try:
                await self._store_value(mirror, value, payload, started_at)
            except REDIS_ERRORS as exc:
                # Keep what was fetched: readers fall back to memory while Redis is away.
                self._redis_failed(exc)
                await self._fallback.put(registration.key, value)
            logger.debug(
                "snapshot refreshed key=%s upstream=%s duration_ms=%.1f",
                registration.key,
                registration.upstream,
                (self._clock() - started) * 1000,
            )

    async def _store_value(
        self, mirror: _Mirror, value: Any, payload: str, started_at: float
    ) -> None:
        key = mirror.registration.key
        stamp = uuid.uuid4().hex
        fetched_at = self._wall_clock().timestamp()
        stored, version = await self._store_value_script(
            keys=[self._snapshot_key(key), self._version_key()],
            args=[payload, stamp, repr(fetched_at), repr(started_at), self._expire_ms],
        )
        if stored:
            mirror.value, mirror.value_stamp = value, stamp
        else:
            logger.debug("snapshot fetch result dropped, a newer value was stored key=%s", key)
        await self._load(mirror)
        self._note_version(int(version))
        self._notify(mirror)
        await self._publish({"key": key, "version": int(version)})

    async def _record_failure(
        self, mirror: _Mirror, kind: str, started: float, error: Exception
    ) -> None:
        registration = mirror.registration
        logger.warning(
            "snapshot fetch failed key=%s upstream=%s kind=%s duration_ms=%.1f error=%s",
            registration.key,
            registration.upstream,
            kind,
            (self._clock() - started) * 1000,
            error if isinstance(error, SourceError) else type(error).__name__,
            exc_info=kind == ERROR_KIND_UNEXPECTED,
        )
        snapshot_key = self._snapshot_key(registration.key)
        async with self._redis.pipeline(transaction=True) as pipeline:
            pipeline.hset(
                snapshot_key,
                mapping={"error_kind": kind, "error_at": repr(self._wall_clock().timestamp())},
            )
            pipeline.hincrby(snapshot_key, "failures", 1)
            pipeline.hincrby(snapshot_key, "outcome", 1)
            pipeline.pexpire(snapshot_key, self._expire_ms)
            await pipeline.execute()
        await self._load(mirror)
        self._notify(mirror)
        await self._publish({"key": registration.key})

    async def _write_stale_mark(self, mirror: _Mirror, marked_at: float) -> None:
        key = mirror.registration.key
        snapshot_key = self._snapshot_key(key)
        try:
            async with self._redis.pipeline(transaction=True) as pipeline:
                pipeline.hset(snapshot_key, "stale_mark", repr(marked_at))
                pipeline.pexpire(snapshot_key, self._expire_ms)
                await pipeline.execute()
            await self._publish({"key": key})
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)

    # --- rate-limit blocks ---------------------------------------------------------------------

    async def _block(self, upstream: str, retry_after_s: float) -> None:
        """Block ``upstream`` here at once, then in Redis and on every replica."""
        wait_s = clamp_wait_s(retry_after_s)
        self._fallback.block_upstream(upstream, wait_s)
        since = self._wall_clock().timestamp()
        until = since + wait_s
        wait_ms = max(int(wait_s * 1000), 1)
        await self._block_script(
            keys=[self._block_key(upstream)], args=[repr(until), repr(since), wait_ms]
        )
        await self._publish({"upstream": upstream, "until": until, "since": since})

    async def _load_block(self, upstream: str) -> bool:
        """Copy the Redis block of ``upstream`` here and return whether it is blocked."""
        raw = await self._redis.get(self._block_key(upstream))
        if raw is not None:
            until_text, _, since_text = str(raw).partition(" ")
            self._mirror_block(upstream, float(until_text), _to_float(since_text or None))
        return self._fallback.active_block(upstream) is not None

    def _mirror_block(self, upstream: str, until: float, since: float | None) -> None:
        remaining_s = until - self._wall_clock().timestamp()
        if remaining_s > 0:
            self._fallback.block_upstream(upstream, remaining_s, since_at=_to_datetime(since))

    # --- events --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        """Apply the events of every replica, subscribing again a while after a failure."""
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._redis_reachable()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        await self._apply_event(message["data"])
            except REDIS_ERRORS as exc:
                self._redis_failed(exc)
            finally:
                with contextlib.suppress(TimeoutError, *REDIS_ERRORS):
                    async with asyncio.timeout(CLOSE_TIMEOUT_S):
                        await pubsub.aclose()
            await asyncio.sleep(self._redis_retry_s)

    async def _apply_event(self, data: Any) -> None:
        try:
            event = json.loads(data)
        except (TypeError, ValueError):
            logger.warning("snapshot event is not JSON, ignored channel=%s", self._channel)
            return
        if not isinstance(event, dict):
            return
        key = event.get("key")
        if isinstance(key, str) and key in self._mirrors:
            mirror = self._mirrors[key]
            await self._load(mirror)
            self._notify(mirror)
        version = event.get("version")
        if isinstance(version, int):
            self._note_version(version)
        upstream, until = event.get("upstream"), event.get("until")
        if isinstance(upstream, str) and isinstance(until, int | float):
            since = event.get("since")
            self._mirror_block(upstream, until, since if isinstance(since, int | float) else None)
