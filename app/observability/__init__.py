"""Operating Lookout: its own metrics, logs, error reports and per-client rate limits.

``install_observability(app, settings)`` is the one call that wires the request middleware,
the rate limits and ``GET /metrics`` into an app. ``configure_logging`` and
``init_error_reporting`` act on the whole process, so the command that serves the app calls them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI

from app.config import Settings
from app.observability.logging import configure_logging
from app.observability.metrics import (
    CACHE_OUTCOMES,
    CacheOutcome,
    HealthReader,
    Metrics,
    SnapshotAgeReader,
    metrics_router,
    snapshot_key_kind,
)
from app.observability.middleware import RequestObservationMiddleware
from app.observability.ratelimit import (
    RateLimitMiddleware,
    RuleName,
    TokenBucketLimiter,
    build_limiters,
)
from app.observability.reporting import init_error_reporting
from app.sources.base import SourceHealth

__all__ = [
    "Observability",
    "configure_logging",
    "init_error_reporting",
    "install_observability",
    "snapshot_key_kind",
]


@dataclass
class Observability:
    """The metrics and limiters of one app, and the hooks other layers report through."""

    metrics: Metrics
    limiters: dict[RuleName, TokenBucketLimiter]

    def upstream_observer(self, source: str, key: str, outcome: str, duration_s: float) -> None:
        """Count one upstream call; pass this to ``CallRecorder.add_observer``."""
        self.metrics.observe_upstream_call(source, key, outcome, duration_s)

    def record_cache_read(self, kind: str, outcome: CacheOutcome) -> None:
        """Count one snapshot read; ``kind`` is ``snapshot_key_kind(key)``."""
        self.metrics.record_cache_read(kind, outcome)

    def snapshot_read_observer(self, key: str, outcome: str) -> None:
        """Count one snapshot read of ``key``; pass this to ``read_many`` as its observer."""
        if outcome in CACHE_OUTCOMES:
            self.metrics.record_cache_read(snapshot_key_kind(key), cast(CacheOutcome, outcome))


def install_observability(
    app: FastAPI,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    health: HealthReader | None = None,
    snapshot_ages: SnapshotAgeReader | None = None,
) -> Observability:
    """Add the request middleware, the rate limits and ``GET /metrics`` to ``app``.

    ``clock`` returns monotonic seconds for the rate limits. Without ``health`` and
    ``snapshot_ages``, the metrics read ``app.state.runtime`` at scrape time, because the
    runtime only exists once the lifespan has started. Call it before the app starts.
    """
    metrics = Metrics(
        health=health or _runtime_health(app),
        snapshot_ages=snapshot_ages or _runtime_snapshot_ages(app),
    )
    limiters = build_limiters(settings, clock=clock)

    # Starlette runs the middleware added last first, so requests rejected with 429 are still
    # logged, counted and given a request id.
    app.add_middleware(RateLimitMiddleware, limiters=limiters)
    app.add_middleware(RequestObservationMiddleware, metrics=metrics)
    app.include_router(metrics_router(metrics))

    observability = Observability(metrics=metrics, limiters=limiters)
    app.state.observability = observability
    return observability


def _runtime_health(app: FastAPI) -> HealthReader:
    def read_health() -> list[SourceHealth]:
        runtime = getattr(app.state, "runtime", None)
        if runtime is None:
            return []
        health: list[SourceHealth] = runtime.recorder.all_health()
        return health

    return read_health


def _runtime_snapshot_ages(app: FastAPI) -> SnapshotAgeReader:
    def read_snapshot_ages() -> dict[str, float]:
        runtime = getattr(app.state, "runtime", None)
        if runtime is None:
            return {}
        store = runtime.store
        ages: dict[str, float] = {}
        keys: list[str] = store.keys()
        for key in keys:
            age_s = store.freshness(key).age_s
            if age_s is not None:
                ages[key] = float(age_s)
        return ages

    return read_snapshot_ages
