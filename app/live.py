"""Keeping the public status live: webhook effects, their refreshes and the status broadcaster.

A verified webhook updates or marks stale the snapshot keys it concerns, and ``KeyRefresher``
refreshes them through the store in tasks this module owns, so the webhook returns at once.
``StatusBroadcaster`` is the one producer per process behind ``GET /api/v1/status/stream``: it
waits for the store to change, re-reads the public status and fans each new body out to
bounded per-connection queues. ``LiveUpdates`` contains all three for the app's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache

from app.config import Settings
from app.errors import DataUnavailable
from app.models.upstream import MonitorsSnapshot
from app.services.webhooks import (
    SentryResource,
    UptimeRobotAlert,
    WebhookReceipt,
    apply_alert,
    projects_to_refresh,
    uptimerobot_delivery_id,
)
from app.store.base import SnapshotStore
from app.store.fanout import issues_key, stats_key
from app.views import MONITORS_KEY, StatusViews

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 8
DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_RECHECK_S = 5.0
DEFAULT_RETRY_MS = 5000
MAX_DELIVERIES = 10_000
REJECTION_LOG_INTERVAL_S = 60.0
# Sentry's ``action`` is logged only when it looks like one, so a body cannot forge log lines.
_ACTION = re.compile(r"[a-z_]{1,40}")


# --- webhook deliveries and refreshes ----------------------------------------------------------


class DeliveryLog:
    """Delivery ids seen within the replay window, so a redelivered webhook has no second effect.

    The ids are checked in this process's log, then claimed together in the snapshot store.
    With Redis that store is shared by every replica, so a redelivery to another replica is a
    duplicate too. Two replicas that receive one delivery at once accept it once.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        store: SnapshotStore | None = None,
        max_entries: int = MAX_DELIVERIES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._store = store
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=max_entries, ttl=ttl_s, timer=timer)

    async def record(self, delivery_ids: Sequence[str]) -> bool:
        """Record a delivery's ids and return False when any was seen within the window."""
        duplicate = any(delivery_id in self._seen for delivery_id in delivery_ids)
        for delivery_id in delivery_ids:
            self._seen[delivery_id] = True
        if duplicate or self._store is None:
            return not duplicate

        names = [f"webhook-delivery:{delivery_id}" for delivery_id in delivery_ids]
        return await self._store.claim_once(names, self._ttl_s)


class RejectionLog:
    """Logs rejected webhook calls at most once per interval for each source and reason.

    Every line carries the number of rejections since the last one, so a flood of bad calls
    (a guessed token, a wrong secret) costs one log line a minute and still shows its size.
    """

    def __init__(
        self,
        interval_s: float = REJECTION_LOG_INTERVAL_S,
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_s = interval_s
        self._timer = timer
        self._state: dict[tuple[str, str], tuple[int, float | None]] = {}

    def note(self, source: str, reason: str) -> None:
        """Count one rejection, logging it unless this reason was logged within the interval."""
        now = self._timer()
        count, logged_at = self._state.get((source, reason), (0, None))
        count += 1
        if logged_at is not None and now - logged_at < self._interval_s:
            self._state[(source, reason)] = (count, logged_at)
            return
        logger.warning("webhook rejected source=%s reason=%s count=%d", source, reason, count)
        self._state[(source, reason)] = (0, now)


class KeyRefresher:
    """Refreshes snapshot keys in tasks it owns: at most one running and one queued per key.

    A burst of webhooks for one key therefore costs at most two upstream calls, and the store's
    single flight and rate-limit blocks still apply to each.
    """

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._queued: set[str] = set()
        self._closed = False

    def request(self, keys: Iterable[str]) -> None:
        """Refresh ``keys`` soon. A key already refreshing is refreshed once more afterwards."""
        if self._closed:
            return
        for key in keys:
            if key in self._tasks:
                self._queued.add(key)
            else:
                self._tasks[key] = asyncio.create_task(
                    self._refresh(key), name=f"webhook-refresh {key}"
                )

    async def _refresh(self, key: str) -> None:
        try:
            while True:
                self._queued.discard(key)
                read = await self._store.refresh(key)
                logger.info(
                    "webhook refresh finished key=%s available=%s stale=%s error=%s",
                    key,
                    read.freshness.available,
                    read.freshness.stale,
                    read.freshness.last_error,
                )
                if key not in self._queued:
                    break
        except Exception:
            # The store reports upstream trouble in the read, so only a bug gets here.
            logger.exception("webhook refresh failed key=%s", key)
        finally:
            self._tasks.pop(key, None)

    async def wait_idle(self) -> None:
        """Wait until no refresh is running, so a caller sees the outcome of each."""
        while self._tasks:
            await asyncio.wait(set(self._tasks.values()))

    async def close(self) -> None:
        """Cancel the refreshes still running and start no new ones."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- the status broadcaster ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEvent:
    """One public status body as a Server-Sent Event, with an ``id`` unique to that body."""

    id: str
    body: bytes

    def encode(self) -> bytes:
        """Format the event as an SSE frame: ``id``, ``event: status``, ``data`` lines."""
        lines = [f"id: {self.id}", "event: status"]
        lines += [f"data: {line}" for line in self.body.decode().splitlines() or [""]]
        return ("\n".join(lines) + "\n\n").encode()


class Subscription:
    """One stream's view of the broadcaster: a first event and a bounded queue of later ones.

    ``initial`` is the latest event when the stream subscribed, or ``None`` when the next event
    in the queue is the first one. The queue yields ``None`` when the subscription has ended.
    """

    def __init__(self, initial: StatusEvent | None, queue_size: int) -> None:
        self.initial = initial
        self.ended = False
        self._queue: asyncio.Queue[StatusEvent | None] = asyncio.Queue(maxsize=queue_size)

    def offer(self, event: StatusEvent) -> bool:
        """Queue ``event``, returning False when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        """End the subscription: drop what is queued and queue the end marker."""
        self.ended = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next_event(self, timeout_s: float) -> StatusEvent | None:
        """Wait for the next event, or ``None`` once the subscription has ended.

        Raises ``TimeoutError`` when nothing arrives within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            return await self._queue.get()


class StatusBroadcaster:
    """The one producer of status events in this process, and the subscriptions it feeds.

    The producer starts with the first subscription and pauses while there is none, so an idle
    process makes no upstream calls for it. A subscriber whose queue is full is dropped and its
    stream ends, so a slow client never makes memory grow. ``heartbeat_s`` and ``retry_ms`` are
    read by the stream endpoint; tests may change them.
    """

    def __init__(
        self,
        store: SnapshotStore,
        views: StatusViews,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        recheck_s: float = DEFAULT_RECHECK_S,
        retry_ms: int = DEFAULT_RETRY_MS,
    ) -> None:
        self._store = store
        self._views = views
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self.recheck_s = recheck_s
        self.retry_ms = retry_ms
        # Event ids start with a per-process prefix, so a client reconnecting to a restarted
        # process never mistakes an old id for the current one.
        self._id_prefix = secrets.token_hex(4)
        self._count = 0
        self._latest: StatusEvent | None = None
        self._subscribers: set[Subscription] = set()
        self._needs_fresh_read = True
        self._has_subscribers = asyncio.Event()
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def latest(self) -> StatusEvent | None:
        return self._latest

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        """Add a subscription, starting the producer if it is not running."""
        if self._closed:
            subscription = Subscription(None, 1)
            subscription.end()
            return subscription
        if not self._subscribers:
            # After a pause the latest event may be out of date, so the first subscriber waits
            # for a fresh read instead.
            self._needs_fresh_read = True
            self._poke.set()
        initial = None if self._needs_fresh_read else self._latest
        subscription = Subscription(initial, self.queue_size)
        self._subscribers.add(subscription)
        self._has_subscribers.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._produce(), name="status-broadcaster")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription. The producer pauses when none is left."""
        self._subscribers.discard(subscription)
        if not self._subscribers:
            self._has_subscribers.clear()

    def publish(self, body: bytes) -> StatusEvent:
        """Make ``body`` the latest event and queue it for every subscriber."""
        self._count += 1
        event = StatusEvent(id=f"{self._id_prefix}-{self._count}", body=body)
        self._latest = event
        self._needs_fresh_read = False
        self._deliver(event)
        return event

    def end_streams(self) -> None:
        """End every subscription and reject new ones, so open streams finish now."""
        self._closed = True
        for subscription in list(self._subscribers):
            subscription.end()
        self._subscribers.clear()
        self._has_subscribers.clear()

    async def close(self) -> None:
        """Stop the producer and end every subscription, so open streams finish."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.end_streams()

    def _deliver(self, event: StatusEvent) -> None:
        for subscription in list(self._subscribers):
            if not subscription.offer(event):
                logger.info("status stream dropped a slow client queue_size=%d", self.queue_size)
                self._subscribers.discard(subscription)
                subscription.end()
        if not self._subscribers:
            self._has_subscribers.clear()

    async def _produce(self) -> None:
        failing = False
        while True:
            await self._has_subscribers.wait()
            self._poke.clear()
            version = self._store.version
            body: bytes | None = None
            try:
                body = (await self._views.current()).public_body
            except DataUnavailable:
                pass
            except Exception:
                if not failing:
                    logger.exception("status broadcaster failed to read the status")
                failing = True
            else:
                if failing:
                    logger.info("status broadcaster recovered")
                failing = False

            if body is not None:
                latest = self._latest
                if latest is None or body != latest.body:
                    self.publish(body)
                elif self._needs_fresh_read:
                    self._needs_fresh_read = False
                    self._deliver(latest)
            await self._wait_for_change(version)

    async def _wait_for_change(self, version: int) -> None:
        """Wait until the store changes, a first subscriber arrives or ``recheck_s`` passes.

        The recheck lets time-based changes through (ages, expiring values) that bump no
        store version.
        """
        change = asyncio.create_task(self._store.wait_for_change(version, self.recheck_s))
        poke = asyncio.create_task(self._poke.wait())
        try:
            await asyncio.wait({change, poke}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (change, poke):
                task.cancel()
            await asyncio.gather(change, poke, return_exceptions=True)


# --- the app's live-update state -----------------------------------------------------------------


class LiveUpdates:
    """The webhook logs, the refresher and the broadcaster of one app, with the webhook effects."""

    def __init__(
        self,
        store: SnapshotStore,
        views: StatusViews,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self.deliveries = DeliveryLog(ttl_s=settings.webhook_replay_window_seconds, store=store)
        self.rejections = RejectionLog()
        self.refresher = KeyRefresher(store)
        self.broadcaster = StatusBroadcaster(store, views)

    def now(self) -> datetime:
        """Return the app's current time, used to check webhook timestamps."""
        return self._clock()

    async def accept_uptimerobot_alert(self, alert: UptimeRobotAlert) -> WebhookReceipt:
        """Apply a verified alert: set the monitor down or up at once, then refresh monitors.

        The refresh then confirms or corrects the webhook's news with UptimeRobot's own data.
        """
        if not await self.deliveries.record([uptimerobot_delivery_id(alert)]):
            described = f"monitor_id={alert.monitor_id} alert_type={int(alert.alert_type)}"
            self._log_outcome("uptimerobot", described, "duplicate")
            return WebhookReceipt(status="duplicate")

        changed = False
        if self._store.freshness(MONITORS_KEY).available:
            read = await self._store.read(MONITORS_KEY)
            if isinstance(read.value, MonitorsSnapshot):
                updated = apply_alert(read.value, alert)
                if updated is not None:
                    await self._store.put(MONITORS_KEY, updated)
                    changed = True
        # Marked after the put, which clears the mark, so a refresh that a rate-limit block
        # rejects now still happens on the next read.
        self._store.mark_stale(MONITORS_KEY)
        self.refresher.request([MONITORS_KEY])
        logger.info(
            "webhook accepted source=uptimerobot monitor_id=%d alert_type=%d snapshot_changed=%s",
            alert.monitor_id,
            int(alert.alert_type),
            changed,
        )
        return WebhookReceipt(status="accepted", refreshing=[MONITORS_KEY])

    async def accept_sentry_hook(
        self,
        resource: SentryResource | None,
        payload: dict[str, Any],
        delivery_ids: Sequence[str],
    ) -> WebhookReceipt:
        """Apply a verified Sentry delivery: refresh the issues and error counts it concerns."""
        action = payload.get("action")
        described = f"resource={resource or 'unknown'}"
        if isinstance(action, str) and _ACTION.fullmatch(action):
            described += f" action={action}"
        if not await self.deliveries.record(delivery_ids):
            self._log_outcome("sentry", described, "duplicate")
            return WebhookReceipt(status="duplicate")

        registered = set(self._store.keys())
        projects = projects_to_refresh(resource, payload, self._settings.sentry_projects)
        keys = [
            key
            for project in projects
            for key in (issues_key(project), stats_key(project))
            if key in registered
        ]
        if not keys:
            self._log_outcome("sentry", described, "ignored")
            return WebhookReceipt(status="ignored")

        for key in keys:
            self._store.mark_stale(key)
        self.refresher.request(keys)
        self._log_outcome("sentry", described, "accepted", keys)
        return WebhookReceipt(status="accepted", refreshing=keys)

    async def close(self) -> None:
        """Stop the broadcaster and the refreshes when the app shuts down."""
        await self.broadcaster.close()
        await self.refresher.close()

    def _log_outcome(
        self, source: str, described: str, outcome: str, keys: Sequence[str] = ()
    ) -> None:
        logger.info(
            "webhook %s source=%s %s refreshing=%s", outcome, source, described, ",".join(keys)
        )
