"""Derived views of the snapshots, computed once per snapshot and shared by every endpoint.

``StatusViews.current()`` reads every snapshot key through the store (which refreshes what is
stale in the background), evaluates the monitoring rules once, and serialises the public status
once. Until a key's data changes or expires, every request gets the same precomputed bytes and
ETag, so a busy public endpoint costs no more than serving a constant.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from app.config import Settings
from app.errors import DataUnavailable
from app.models.api import PublicStatus
from app.models.snapshot import Freshness, SnapshotRead, SystemSnapshot
from app.models.status import SystemStatus
from app.models.upstream import ErrorStats, IssuesSnapshot, MonitorsSnapshot, PerformanceStats
from app.services.public_view import to_public_status
from app.services.status import evaluate
from app.sources.sentry import SentrySource
from app.sources.uptimerobot import UptimeRobotSource
from app.store.base import SnapshotStore
from app.store.fanout import MONITORS_KEY as MONITORS_KEY
from app.store.fanout import (
    ReadObserver,
    build_system_snapshot,
    issues_key,
    performance_key,
    read_many,
    stats_key,
)

logger = logging.getLogger(__name__)

# Keys under this prefix hold weekly report data (see app.reports), fetched on demand; the
# status never reads them.
REPORT_KEY_PREFIX = "report:"

# A view is rebuilt at least this often, so running incident durations and ages move on.
MAX_VIEW_AGE = timedelta(seconds=15)


def register_snapshot_keys(
    store: SnapshotStore,
    settings: Settings,
    uptimerobot: UptimeRobotSource,
    sentry: SentrySource,
) -> None:
    """Register one snapshot key per upstream resource the services need."""
    store.register(
        MONITORS_KEY,
        uptimerobot.fetch_monitors,
        ttl_s=settings.cache_ttl_monitors,
        upstream="uptimerobot",
        model=MonitorsSnapshot,
    )
    for project in settings.sentry_projects:
        store.register(
            issues_key(project),
            partial(sentry.fetch_issues, project),
            ttl_s=settings.cache_ttl_sentry_issues,
            upstream="sentry",
            model=IssuesSnapshot,
        )
        store.register(
            stats_key(project),
            partial(sentry.fetch_error_stats, project),
            ttl_s=settings.cache_ttl_sentry_stats,
            upstream="sentry",
            model=ErrorStats,
        )
        store.register(
            performance_key(project),
            partial(sentry.fetch_performance, project),
            ttl_s=settings.cache_ttl_sentry_performance,
            upstream="sentry",
            model=PerformanceStats,
        )


Fingerprint = tuple[tuple[str, datetime | None, bool, bool, str | None], ...]


@dataclass(frozen=True)
class StatusView:
    """One evaluation of the rules and the public body serialised from it."""

    fingerprint: Fingerprint
    snapshot: SystemSnapshot
    status: SystemStatus
    public: PublicStatus
    public_body: bytes
    public_etag: str
    valid_until: datetime


def _fingerprint(reads: dict[str, SnapshotRead]) -> Fingerprint:
    return tuple(
        (
            key,
            read.freshness.fetched_at,
            read.freshness.available,
            read.freshness.stale,
            read.freshness.last_error,
        )
        for key, read in sorted(reads.items())
    )


def _valid_until(reads: dict[str, SnapshotRead], now: datetime) -> datetime:
    """Return the first moment a key may need a refresh; the view is rebuilt from then on."""
    limit = now + MAX_VIEW_AGE
    for read in reads.values():
        due = read.freshness.next_refresh_at
        if read.available and not read.freshness.stale and due is not None:
            limit = min(limit, due)
        else:
            # A stale or missing key is being refreshed; look again soon.
            limit = min(limit, now + timedelta(seconds=1))
    return limit


def etag_of(body: bytes) -> str:
    """Return a strong ETag for ``body``."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class StatusViews:
    """Caches the evaluated status per snapshot so endpoints share one calculation."""

    def __init__(
        self,
        store: SnapshotStore,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        read_observer: ReadObserver | None = None,
    ) -> None:
        self._store = store
        self._read_observer = read_observer
        self._settings = settings
        self._clock = clock
        self._view: StatusView | None = None
        self._store_version = -1
        self._rebuilding: asyncio.Task[StatusView] | None = None

    def keys(self) -> list[str]:
        """List the store keys the status is built from, leaving out report keys."""
        return [key for key in self._store.keys() if not key.startswith(REPORT_KEY_PREFIX)]

    def now(self) -> datetime:
        """Read the clock the views use (the app's clock, which tests freeze)."""
        return self._clock()

    async def refresh_all(self) -> list[Freshness]:
        """Refresh every status key now, concurrently; each joins a fetch already in flight."""
        keys = self.keys()
        reads = await asyncio.gather(*(self._store.refresh(key) for key in keys))
        self._view = None
        return [read.freshness for read in reads]

    def peek(self) -> StatusView | None:
        """Return the cached view while it is still valid, without reading the store."""
        view = self._view
        if (
            view is not None
            and self._clock() < view.valid_until
            and self._store_version == self._store.version
        ):
            return view
        return None

    async def current(self) -> StatusView:
        """Return the view for the current snapshots, rebuilding it only when they changed.

        Concurrent callers share one rebuild, so a burst of requests arriving as the view
        expires evaluates the rules once, not once per request. Raises ``DataUnavailable``
        when no key has any usable data (a cold start with every upstream failing); with some
        data, the missing parts show as unknown instead.
        """
        view = self.peek()
        if view is not None:
            return view

        rebuilding = self._rebuilding
        if rebuilding is None:
            rebuilding = asyncio.create_task(self._rebuild(), name="status-view-rebuild")
            self._rebuilding = rebuilding
            rebuilding.add_done_callback(self._rebuild_done)
        # A caller that gives up (a client that disconnects) must not cancel the shared rebuild.
        return await asyncio.shield(rebuilding)

    def _rebuild_done(self, rebuilding: asyncio.Task[StatusView]) -> None:
        if self._rebuilding is rebuilding:
            self._rebuilding = None
        if not rebuilding.cancelled():
            # Marks the error as seen when every caller that waited has gone.
            rebuilding.exception()

    async def _rebuild(self) -> StatusView:
        view = self._view
        version = self._store.version
        reads = await read_many(self._store, self.keys(), observer=self._read_observer)
        if reads and not any(read.available for read in reads.values()):
            raise DataUnavailable(
                "No upstream data is available yet: the sources are being fetched or failing.",
                retry_after_s=5,
            )
        fingerprint = _fingerprint(reads)
        now = self._clock()
        if (
            view is not None
            and view.fingerprint == fingerprint
            and now < (view.status.generated_at + MAX_VIEW_AGE)
        ):
            view = replace(view, valid_until=_valid_until(reads, now))
        else:
            # Evaluating 1,000 monitors takes most of a second of pure Python. In a worker
            # thread it shares the interpreter with the event loop, so other requests, timers
            # and lease renewals go on meanwhile. Readers of the status still wait for it.
            view = await asyncio.to_thread(self._build, reads, fingerprint, now, previous=view)
        self._view = view
        self._store_version = version
        return view

    def _build(
        self,
        reads: dict[str, SnapshotRead],
        fingerprint: Fingerprint,
        now: datetime,
        *,
        previous: StatusView | None,
    ) -> StatusView:
        snapshot = build_system_snapshot(reads, taken_at=now)
        status = evaluate(snapshot, self._settings, now)
        public = to_public_status(status, snapshot, now)
        if previous is not None and public == previous.public.model_copy(
            update={"generated_at": now}
        ):
            # Only the generation time moved: keep the published body, so its ETag still
            # matches clients' copies and event streams see no change.
            public, body, etag = previous.public, previous.public_body, previous.public_etag
        else:
            body = public.model_dump_json().encode()
            etag = etag_of(body)
        return StatusView(
            fingerprint=fingerprint,
            snapshot=snapshot,
            status=status,
            public=public,
            public_body=body,
            public_etag=etag,
            valid_until=_valid_until(reads, now),
        )
