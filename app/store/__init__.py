"""Snapshot store: keeps the last good value of each upstream resource and refreshes it."""

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
