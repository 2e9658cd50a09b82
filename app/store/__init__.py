"""Snapshot store: keeps the last good value of each upstream resource and refreshes it."""

from typing import TYPE_CHECKING, Any

from app.store.base import Fetch, Registration, SnapshotStore, unavailable_read
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
from app.store.poller import Poller

if TYPE_CHECKING:
    from app.store.redis_store import RedisSnapshotStore

__all__ = [
    "MONITORS_KEY",
    "Fetch",
    "MemorySnapshotStore",
    "Poller",
    "RedisSnapshotStore",
    "Registration",
    "SnapshotStore",
    "build_system_snapshot",
    "issues_key",
    "performance_key",
    "read_many",
    "stats_key",
    "store_from_settings",
    "system_keys",
    "unavailable_read",
]


def __getattr__(name: str) -> Any:
    # The Redis client adds about 7 MB to a process, so it is imported on first use only.
    if name == "RedisSnapshotStore":
        from app.store.redis_store import RedisSnapshotStore

        return RedisSnapshotStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
