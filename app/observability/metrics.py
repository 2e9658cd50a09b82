"""Lookout's own Prometheus metrics: requests, upstream calls, cache reads and upstream state.

Each app gets its own ``CollectorRegistry``, so several apps in one process (tests, benchmarks)
never share or collide on counters. Labels are bounded: requests are labelled by route template,
never by raw path, and cache reads by key kind, never by full key.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Literal, get_args

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from app.sources.base import SourceHealth

logger = logging.getLogger(__name__)

CacheOutcome = Literal["hit", "stale", "miss", "unavailable"]
CACHE_OUTCOMES: frozenset[str] = frozenset(get_args(CacheOutcome))

HealthReader = Callable[[], list[SourceHealth]]
SnapshotAgeReader = Callable[[], dict[str, float]]

UNMATCHED_ROUTE = "unmatched"
OTHER_METHOD = "OTHER"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Seconds; public reads are served from memory (milliseconds), cold reads wait on an upstream.
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds; upstream calls take hundreds of milliseconds and time out after at most a minute.
UPSTREAM_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)


def snapshot_key_kind(key: str) -> str:
    """Return the kind of a snapshot key, such as ``sentry:issues`` for ``sentry:issues:web``.

    Metrics use the kind so that the number of label values stays fixed however many Sentry
    projects are configured.
    """
    return ":".join(key.split(":")[:2])


def metric_method(method: str) -> str:
    """Return ``method`` as a label value, folding non-standard methods into ``OTHER``."""
    upper = method.upper()
    return upper if upper in _KNOWN_METHODS else OTHER_METHOD


class RequestSeries:
    """The count and durations of the requests of one method, route template and status."""

    __slots__ = ("bounds_s", "bucket_counts", "count", "duration_sum_s")

    def __init__(self, bounds_s: tuple[float, ...]) -> None:
        self.bounds_s = bounds_s
        # One count per bucket, not cumulative; the last one is for durations above every bound.
        self.bucket_counts = [0] * (len(bounds_s) + 1)
        self.count = 0
        self.duration_sum_s = 0.0

    def observe(self, duration_s: float) -> None:
        """Count one request that took ``duration_s`` seconds."""
        self.count += 1
        self.duration_sum_s += duration_s
        self.bucket_counts[bisect_left(self.bounds_s, duration_s)] += 1


class RequestTally:
    """Requests served, by method, route template and status, exported at scrape time.

    The counts are plain attributes updated on the event loop. A prometheus_client child takes a
    lock on every update, and a counter and a histogram cost about 0.8 µs a request, more than
    the app spends serving the cached status itself.
    """

    def __init__(self, bounds_s: tuple[float, ...] = REQUEST_BUCKETS_S) -> None:
        self._bounds_s = bounds_s
        self._series: dict[tuple[str, str, str], RequestSeries] = {}

    def series(self, method: str, route: str, status: int) -> RequestSeries:
        """Return the series of ``method``, ``route`` and ``status``, creating it on first use."""
        key = (method, route, str(status))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = RequestSeries(self._bounds_s)
        return series

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        requests, durations = self._families()
        per_route: dict[tuple[str, str], tuple[list[int], float]] = {}
        for (method, route, status), series in sorted(self._series.items()):
            requests.add_metric([method, route, status], series.count)
            counts, total_s = per_route.get((method, route), ([0] * len(series.bucket_counts), 0))
            counts = [a + b for a, b in zip(counts, series.bucket_counts, strict=True)]
            per_route[(method, route)] = (counts, total_s + series.duration_sum_s)

        bounds = [_bucket_label(bound) for bound in self._bounds_s] + ["+Inf"]
        for labels, (counts, total_s) in per_route.items():
            cumulative = list(zip(bounds, accumulate(counts), strict=True))
            durations.add_metric(list(labels), cumulative, total_s)
        return [requests, durations]

    def _families(self) -> tuple[CounterMetricFamily, HistogramMetricFamily]:
        return (
            CounterMetricFamily(
                "lookout_http_requests",
                "HTTP requests served, by method, route template and status.",
                labels=["method", "route", "status"],
            ),
            HistogramMetricFamily(
                "lookout_http_request_duration_seconds",
                "Time to serve an HTTP request, by method and route template.",
                labels=["method", "route"],
            ),
        )


def _bucket_label(bound_s: float) -> str:
    """Return a bucket's ``le`` label as prometheus_client writes it (``0.005``, ``30.0``)."""
    return repr(float(bound_s))


class _UpstreamStateCollector:
    """Reads rate-limit headroom and snapshot ages at scrape time, so they are never out of date."""

    def __init__(
        self, health: HealthReader | None, snapshot_ages: SnapshotAgeReader | None
    ) -> None:
        self._health = health
        self._snapshot_ages = snapshot_ages

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        remaining, limit, ages = self._families()
        for health in self._read_health():
            headroom = health.headroom
            if headroom.remaining is not None:
                remaining.add_metric([health.source], headroom.remaining)
            if headroom.limit is not None:
                limit.add_metric([health.source], headroom.limit)
        for key, age_s in sorted(self._read_snapshot_ages().items()):
            ages.add_metric([key], age_s)
        return [remaining, limit, ages]

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "lookout_upstream_ratelimit_remaining",
                "Calls left in the upstream's current rate-limit window, from its last response.",
                labels=["source"],
            ),
            GaugeMetricFamily(
                "lookout_upstream_ratelimit_limit",
                "Calls allowed per rate-limit window by the upstream, from its last response.",
                labels=["source"],
            ),
            GaugeMetricFamily(
                "lookout_snapshot_age_seconds",
                "Age of the value stored for each snapshot key.",
                labels=["key"],
            ),
        ]

    def _read_health(self) -> list[SourceHealth]:
        if self._health is None:
            return []
        try:
            return self._health()
        except Exception as exc:
            # A scrape must still return the other metrics, so this one family stays empty.
            logger.warning("metrics health reader failed error=%s", type(exc).__name__)
            return []

    def _read_snapshot_ages(self) -> dict[str, float]:
        if self._snapshot_ages is None:
            return {}
        try:
            return self._snapshot_ages()
        except Exception as exc:
            logger.warning("metrics snapshot age reader failed error=%s", type(exc).__name__)
            return {}


class Metrics:
    """The metrics of one Lookout app, in a registry of their own.

    ``health`` and ``snapshot_ages`` are called at each scrape. They may be late-bound, for
    example reading a runtime that only exists once the app's lifespan has started.
    """

    def __init__(
        self,
        *,
        health: HealthReader | None = None,
        snapshot_ages: SnapshotAgeReader | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestTally()
        self.registry.register(self.requests)
        self.upstream_calls = Counter(
            "lookout_upstream_calls",
            "Calls to UptimeRobot and Sentry, by source and outcome (ok or the error kind).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.upstream_duration = Histogram(
            "lookout_upstream_call_duration_seconds",
            "Duration of upstream calls, by source.",
            ["source"],
            buckets=UPSTREAM_BUCKETS_S,
            registry=self.registry,
        )
        self.cache_reads = Counter(
            "lookout_cache_reads",
            "Snapshot reads, by key kind and outcome (hit, stale, miss, unavailable).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.registry.register(_UpstreamStateCollector(health, snapshot_ages))

    def observe_request(self, method: str, route: str, status: int, duration_s: float) -> None:
        """Count one served request and its duration."""
        self.requests.series(metric_method(method), route, status).observe(duration_s)

    def observe_upstream_call(self, source: str, key: str, outcome: str, duration_s: float) -> None:
        """Count one upstream call; the signature matches ``CallRecorder.add_observer``.

        ``key`` is accepted for that signature but not used as a label.
        """
        self.upstream_calls.labels(source, outcome).inc()
        self.upstream_duration.labels(source).observe(duration_s)

    def record_cache_read(self, kind: str, outcome: CacheOutcome) -> None:
        """Count one snapshot read of key kind ``kind`` (see ``snapshot_key_kind``)."""
        if outcome not in CACHE_OUTCOMES:
            raise ValueError(
                f"cache read outcome {outcome!r} is invalid; expected one of "
                f"{', '.join(sorted(CACHE_OUTCOMES))}"
            )
        self.cache_reads.labels(kind, outcome).inc()

    def render(self) -> bytes:
        """Render every metric in the Prometheus text exposition format."""
        return generate_latest(self.registry)


def metrics_router(metrics: Metrics) -> APIRouter:
    """Build the router that serves ``GET /metrics`` for a Prometheus scraper."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}}},
    )
    async def read_metrics() -> Response:
        """Lookout's own metrics in the Prometheus text format: requests, upstream calls, cache
        reads, upstream rate-limit headroom and snapshot ages."""
        return Response(
            metrics.render(),
            media_type=CONTENT_TYPE_PLAIN_0_0_4,
            headers={"Cache-Control": "no-store"},
        )

    return router
