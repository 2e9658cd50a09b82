"""The snapshot store interface that services and routers read upstream data through.

A store keeps one snapshot per key (for example ``uptimerobot:monitors``): the last good value,
when it was fetched and the last error. Reads never raise for upstream trouble. They return the
value with its ``Freshness``, or an unavailable read that says why.
"""

from __future__ import annotations

import abc
import enum
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.models.snapshot import Freshness, SnapshotRead

Fetch = Callable[[], Awaitable[Any]]
"""Fetches one key's value from its upstream, raising ``SourceError`` on failure."""

# Error kinds the store reports besides ``SourceError.kind``.
ERROR_KIND_TIMEOUT: Final = "timeout"
ERROR_KIND_RATE_LIMITED: Final = "rate_limited"
ERROR_KIND_UNEXPECTED: Final = "error"


# The first retry after a failed background refresh waits this long, then each failure in a
# row doubles the wait, up to the key's TTL. A read of a key without a usable value retries at
# once instead.
DEFAULT_ERROR_RETRY_S = 5.0
_MAX_RETRY_DOUBLINGS = 10


class _NoValue(enum.Enum):
    NO_VALUE = enum.auto()


NO_VALUE: Final = _NoValue.NO_VALUE
"""Sentinel for a key that has no value yet, because ``None`` and ``[]`` are real values."""


@dataclass(frozen=True)
class Registration:
    """Fetch function, TTL, upstream and value type of one key.

    ``model`` is the value's type (a pydantic model or any type ``pydantic.TypeAdapter``
    accepts). Backends that serialise values need it to rebuild them, and the memory store
    ignores it.
    """

    key: str
    fetch: Fetch
    ttl_s: float
    upstream: str
    model: Any = None
    poll: bool = True


def error_retry_delay_s(failures: int, first_retry_s: float, ttl_s: float) -> float:
    """Return how long to wait before refreshing a key again after ``failures`` in a row."""
    doublings = min(max(failures - 1, 0), _MAX_RETRY_DOUBLINGS)
    return min(first_retry_s * 2.0**doublings, ttl_s)


def reject_awaitable(value: Any, key: str) -> None:
    """Raise ``TypeError`` for a coroutine or task, which must never be stored as a value."""
    if not inspect.isawaitable(value):
        return
    if inspect.iscoroutine(value):
        value.close()
    raise TypeError(
        f"the fetch for snapshot key {key!r} returned an awaitable; await it inside the fetch"
    )


def unavailable_read(
    key: str, *, last_error: str | None = None, last_error_at: datetime | None = None
) -> SnapshotRead:
    """Build the read of a key that has no usable value."""
    freshness = Freshness(
        key=key,
        available=False,
        stale=True,
        last_error=last_error,
        last_error_at=last_error_at,
    )
    return SnapshotRead(key=key, value=None, freshness=freshness)


class SnapshotStore(abc.ABC):
    """Keeps the last good value of each registered key, refreshing it from its upstream.

    A fresh value (age below the key's TTL) is returned as is. A stale value is returned at once
    while one background refresh runs. A key without a value waits for the single in-flight
    fetch, for at most the store's fetch timeout. A failed refresh keeps the last good value,
    marked stale, until it is older than the store's maximum staleness.
    """

    @abc.abstractmethod
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
        """Register ``key``, fetched by ``fetch`` and fresh for ``ttl_s`` seconds.

        ``upstream`` groups keys that share a rate limit (for example ``uptimerobot``).
        ``poll=False`` keeps the poller away from the key: it is refreshed only when read.
        Registering a key again replaces how it is fetched and keeps its value.
        """

    @abc.abstractmethod
    def registration(self, key: str) -> Registration:
        """Return the registration of ``key``, raising ``KeyError`` if it is not registered."""

    @abc.abstractmethod
    async def read(self, key: str) -> SnapshotRead:
        """Read ``key``, refreshing it as its freshness requires.

        Upstream trouble comes back as a stale or unavailable read, never as an exception.
        """

    @abc.abstractmethod
    async def refresh(self, key: str, *, min_age_s: float | None = None) -> SnapshotRead:
        """Fetch ``key`` now, joining a fetch already in flight.

        Nothing is fetched while the key's upstream is rate limited, or when ``min_age_s`` is
        given and the value is younger than that, which happens when another replica refreshed
        it first.
        """

    @abc.abstractmethod
    def mark_stale(self, key: str) -> None:
        """Mark ``key`` stale, so that its next read refreshes it in the background."""

    @abc.abstractmethod
    async def put(self, key: str, value: Any) -> None:
        """Store ``value`` for ``key`` as fetched now (for example from a webhook body)."""

    @abc.abstractmethod
    def freshness(self, key: str) -> Freshness:
        """Describe how fresh ``key`` is, without starting a fetch."""

    @abc.abstractmethod
    def keys(self) -> list[str]:
        """List the registered keys in registration order."""

    @abc.abstractmethod
    def blocked_until(self, upstream: str) -> datetime | None:
        """Return when ``upstream`` may be called again after a 429.

        Returns ``None`` when it may be called now.
        """

    @property
    @abc.abstractmethod
    def version(self) -> int:
        """Counter that increases whenever a value is stored, by a fetch or by ``put``."""

    @abc.abstractmethod
    async def wait_for_change(self, after_version: int, timeout_s: float) -> int:
        """Wait until ``version`` exceeds ``after_version`` or ``timeout_s`` passes.

        Returns the version at that moment.
        """

    async def claim_once(self, names: Sequence[str], ttl_s: float) -> bool:
        """Claim every name in ``names`` for ``ttl_s`` seconds, unless one is already claimed.

        Returns whether the names were claimed: all of them or none. A store shared by several
        processes makes the claim there, at once, so that one webhook delivery has one effect
        whichever replica it reaches. A store of one process claims nothing and returns True:
        its callers keep their own log of what they saw.
        """
        return True

    @abc.abstractmethod
    async def close(self) -> None:
        """Cancel the fetches in flight and stop starting new ones."""
