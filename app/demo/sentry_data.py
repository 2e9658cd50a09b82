"""The demo organization behind the fake Sentry: issues, error counts and transactions.

Everything derives from one ``DemoWorld``, so the same anchor always gives the same data. Each
project has generated issues and a few errors an hour. The backend also gets a burst of errors
during the world's spike, slower transactions during its slow period and failed ones during its
outage. ``app.demo.sentry_sim`` renders this data in Sentry's wire format.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.demo.world import DemoProject, DemoWorld

# Error model: a few errors an hour per project, more in working hours, and a burst in the
# backend during the world's spike (30 a minute, so a 5-minute alert of 50 fires).
SPIKE_ERRORS_PER_MINUTE = 30
SPIKE_PROJECT = "backend"
SPIKE_ISSUE_SHARES = (0.5, 0.3, 0.2)

# Transaction model per project slug: transactions an hour, base failure rate (0..1), average
# and p95 duration in ms when normal and during the world's slow period, and LCP p75 in ms.
TRANSACTIONS_PER_HOUR = {"backend": 1200, "frontend": 900}
DEFAULT_TRANSACTIONS_PER_HOUR = 600
BASE_FAILURE_RATE = {"backend": 0.004, "frontend": 0.002}
OUTAGE_FAILURE_RATE = 0.92
DURATION_MS = {"backend": (210.0, 430.0), "frontend": (340.0, 820.0)}
SLOW_DURATION_MS = (950.0, 2150.0)
LCP_P75_MS = 2100.0
TRANSACTIONS = {
    "backend": (("GET /api/orders", 0.5, 1.0), ("POST /api/checkout", 0.3, 1.6)),
    "frontend": (("/dashboard", 0.6, 1.0), ("/checkout", 0.4, 1.3)),
}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def floor_time(value: datetime, step: timedelta) -> datetime:
    return EPOCH + step * ((value - EPOCH) // step)


def ceil_time(value: datetime, step: timedelta) -> datetime:
    floored = floor_time(value, step)
    return floored if floored == value else floored + step


def overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> timedelta:
    return max(min(a[1], b[1]) - max(a[0], b[0]), timedelta(0))


def spread_count(
    total: int, span: tuple[datetime, datetime], start: datetime, end: datetime
) -> int:
    """Count how many of ``total`` events, spread evenly over ``span``, fall in ``[start, end)``.

    Event ``k`` sits at ``span[0] + k * length / total``. Integer microseconds keep the counts of
    adjacent buckets exactly additive.
    """
    length = (span[1] - span[0]) // timedelta(microseconds=1)
    if total <= 0 or length <= 0:
        return 0
    low = max((start - span[0]) // timedelta(microseconds=1), 0)
    high = min((end - span[0]) // timedelta(microseconds=1), length)
    if high <= low:
        return 0
    first = -((-low * total) // length)
    past = -((-high * total) // length)
    return min(past, total) - min(first, total)


# --- The demo data -------------------------------------------------------------------------------

_TITLES = {
    "php-laravel": (
        ("QueryException", "SQLSTATE[HY000] [2002] Connection refused", "DatabaseManager.php"),
        ("RuntimeException", "Redis connection timed out", "PhpRedisConnector.php"),
        ("ErrorException", 'Undefined array key "total"', "app/Services/Checkout.php"),
        (
            "TypeError",
            "Checkout::total(): Argument #1 must be of type int, null given",
            "Checkout.php",
        ),
        (
            "ModelNotFoundException",
            "No query results for model [App\\Models\\Order]",
            "Builder.php",
        ),
        (
            "ValidationException",
            "The given data was invalid.",
            "app/Http/Requests/OrderRequest.php",
        ),
        ("ThrottleRequestsException", "Too Many Attempts.", "ThrottleRequests.php"),
        ("TokenMismatchException", "CSRF token mismatch.", "VerifyCsrfToken.php"),
    ),
    "javascript-nextjs": (
        ("AxiosError", "Request failed with status code 502", "lib/api.ts"),
        ("TypeError", "Cannot read properties of undefined (reading 'map')", "app/orders/page.tsx"),
        ("ChunkLoadError", "Loading chunk 412 failed.", "webpack/runtime.js"),
        ("Error", "Hydration failed because the initial UI does not match", "react-dom.js"),
        ("ResizeObserver", "loop completed with undelivered notifications.", "<anonymous>"),
        ("SyntaxError", "Unexpected token '<', \"<!DOCTYPE \" is not valid JSON", "lib/fetch.ts"),
        ("NotAllowedError", "play() failed because the user didn't interact first", "video.tsx"),
        ("RangeError", "Invalid time value", "components/DateLabel.tsx"),
    ),
}
_LEVELS = (("error", 70), ("warning", 15), ("fatal", 5), ("info", 10))
_STATUSES = (("unresolved", 70), ("resolved", 20), ("ignored", 10))
_UNRESOLVED_SUBSTATUS = ("ongoing", "new", "regressed", "escalating")
_PRIORITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class DemoIssue:
    """One generated issue, rendered to Sentry's JSON shape per request."""

    id: str
    number: int
    project: DemoProject
    exception: str
    message: str
    filename: str
    level: str
    status: str
    substatus: str | None
    priority: str
    count: int
    user_count: int
    first_seen: datetime
    last_seen: datetime
    micro: bool
    unhandled: bool
    assigned: bool

    @property
    def title(self) -> str:
        return f"{self.exception}: {self.message}"

    @property
    def short_id(self) -> str:
        return f"{self.project.slug.upper()}-{_base36(self.number)}"


@dataclass(frozen=True)
class _IssueIdentity:
    """The fields of a generated issue that follow from its project and number alone."""

    id: str
    number: int
    project: DemoProject
    exception: str
    message: str
    filename: str

    def fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "project": self.project,
            "exception": self.exception,
            "message": self.message,
            "filename": self.filename,
        }


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in weighted], [weight for _, weight in weighted])[0]


class SentryData:
    """Everything about the demo organization that does not depend on "now", built once.

    Each project has ``world.issues_per_project`` issues; ``world.extra_issues`` more are dealt
    round-robin over the projects. The backend's first issues are the ones first seen during
    the world's error spike.
    """

    def __init__(self, world: DemoWorld) -> None:
        self.world = world
        self.projects = list(world.projects)
        self.by_slug = {project.slug: project for project in self.projects}
        self.by_id = {project.id: project for project in self.projects}
        self.issues: dict[str, list[DemoIssue]] = {project.slug: [] for project in self.projects}
        for index, project in enumerate(self.projects):
            extra, remainder = divmod(world.extra_issues, len(self.projects))
            total = world.issues_per_project + extra + (1 if index < remainder else 0)
            # Seeded per project so the demo data is the same on every run; not security related.
            rng = random.Random(project.slug)  # noqa: S311
            self.issues[project.slug] = [
                self._issue(project, index, number, rng) for number in range(1, total + 1)
            ]

    def _issue(
        self, project: DemoProject, project_index: int, number: int, rng: random.Random
    ) -> DemoIssue:
        titles = _TITLES.get(project.platform, _TITLES["php-laravel"])
        exception, message, filename = titles[(number - 1) % len(titles)]
        identity = _IssueIdentity(
            id=str(4_600_000_000 + project_index * 10_000_000 + number),
            number=number,
            project=project,
            exception=exception,
            message=message,
            filename=filename,
        )
        spike_rank = number - 1
        if project.slug == SPIKE_PROJECT and spike_rank < len(SPIKE_ISSUE_SHARES):
            return self._spike_issue(identity, spike_rank)
        return self._everyday_issue(identity, rng)

    def _spike_issue(self, identity: _IssueIdentity, rank: int) -> DemoIssue:
        """Build one of the backend issues first seen during the spike, with its share of it."""
        spike_start, spike_end = self.world.spike
        spike_total = (spike_end - spike_start) // MINUTE * SPIKE_ERRORS_PER_MINUTE
        count = int(spike_total * SPIKE_ISSUE_SHARES[rank])
        return DemoIssue(
            **identity.fields(),
            level="fatal" if rank == 0 else "error",
            status="unresolved",
            substatus="escalating" if rank == 0 else "new",
            priority="high",
            count=count,
            user_count=count // 4,
            first_seen=spike_start + timedelta(seconds=20 + 37 * rank, microseconds=412_345),
            last_seen=spike_end - timedelta(seconds=41 + 13 * rank),
            micro=True,
            unhandled=True,
            assigned=rank == 0,
        )

    def _everyday_issue(self, identity: _IssueIdentity, rng: random.Random) -> DemoIssue:
        """Build an issue first seen up to 30 days ago, usually still seen in the last day."""
        anchor = self.world.anchor
        status = _pick(rng, _STATUSES)
        substatus: str | None = None
        if status == "unresolved":
            substatus = rng.choice(_UNRESOLVED_SUBSTATUS)
        elif status == "ignored":
            substatus = "archived_until_escalating"

        age = timedelta(seconds=rng.randrange(3600, 30 * 86_400))
        recent_limit = min(age, timedelta(days=1)) if rng.random() < 0.6 else age
        since = timedelta(seconds=rng.randrange(60, int(recent_limit.total_seconds())))
        micro = identity.number % 3 == 0
        first_seen = (anchor - age).replace(microsecond=rng.randrange(1, 1_000_000) if micro else 0)

        # Below the biggest spike issue's count, so the spike leads a report sorted by frequency.
        count = rng.randrange(1, 600)
        return DemoIssue(
            **identity.fields(),
            level=_pick(rng, _LEVELS),
            status=status,
            substatus=substatus,
            priority=rng.choice(_PRIORITIES),
            count=count,
            user_count=rng.randrange(0, count + 1),
            first_seen=first_seen,
            last_seen=(anchor - since).replace(microsecond=0),
            micro=micro,
            unhandled=rng.random() < 0.4,
            assigned=rng.random() < 0.2,
        )

    # --- Error and transaction models ----------------------------------------------------------

    def base_errors_in_hour(self, project: DemoProject, hour: datetime) -> int:
        """Return the error count of the hour starting at ``hour``, before any spike."""
        number = (hour - EPOCH) // HOUR
        salt = int(project.id) % 7
        busy = 2 if 9 <= hour.hour < 18 else 0
        return max(project.errors_per_hour + busy + (number * 7 + salt) % 5 - 2, 0)

    def errors(self, project: DemoProject, start: datetime, end: datetime) -> int:
        """Count the accepted error events of ``project`` in ``[start, end)``."""
        total = 0
        hour = floor_time(start, HOUR)
        while hour < end:
            count = self.base_errors_in_hour(project, hour)
            if start <= hour and hour + HOUR <= end:
                total += count
            else:
                total += spread_count(count, (hour, hour + HOUR), start, end)
            hour += HOUR
        if project.slug == SPIKE_PROJECT:
            spike = self.world.spike
            spike_total = (spike[1] - spike[0]) // MINUTE * SPIKE_ERRORS_PER_MINUTE
            total += spread_count(spike_total, spike, start, end)
        return total

    def rate_limited(self, project: DemoProject, start: datetime, end: datetime) -> int:
        """Count the error events dropped for quota, which happens during the spike only."""
        if project.slug != SPIKE_PROJECT:
            return 0
        return spread_count(120, self.world.spike, start, end)

    def transactions(self, project: DemoProject, start: datetime, end: datetime) -> int:
        """Count the transactions of ``project`` in ``[start, end)``, at a steady rate."""
        per_hour = TRANSACTIONS_PER_HOUR.get(project.slug, DEFAULT_TRANSACTIONS_PER_HOUR)
        return round(per_hour * max(end - start, timedelta(0)) / HOUR)


# --- Transaction figures -------------------------------------------------------------------------

_PERCENTILE_FACTORS = {"p50": 0.8, "p75": 0.9, "p95": 1.0, "p99": 1.6}


def performance_figures(
    data: SentryData, project: DemoProject, start: datetime, end: datetime, now: datetime
) -> dict[str, float | int | None]:
    """Compute the transaction figures of one project over ``[start, end)``, cut at ``now``.

    Keys are Discover field strings. A window without transactions has counts of 0 only.
    """
    end = min(end, now)
    window = (start, end)
    length = max(end - start, timedelta(0))
    count = data.transactions(project, start, end)
    if count == 0 or not length:
        return {"count()": 0, "count_unique(user)": 0, "epm()": 0.0}

    world = data.world
    backend = project.slug == SPIKE_PROJECT
    slow_share = overlap(window, world.slow) / length if backend else 0.0
    outage_share = overlap(window, world.outage) / length if backend else 0.0
    avg_normal, p95_normal = DURATION_MS.get(project.slug, (250.0, 600.0))
    avg_slow, p95_slow = SLOW_DURATION_MS
    base_failure = BASE_FAILURE_RATE.get(project.slug, 0.003)

    avg = avg_normal + (avg_slow - avg_normal) * slow_share
    # Once more than 5 % of the window's transactions are slow, p95 lands among the slow ones.
    p95 = p95_normal + (p95_slow - p95_normal) * min(slow_share / 0.05, 1.0)
    lcp: float | None = None
    if project.has_web_vitals:
        lcp = LCP_P75_MS + ((end - EPOCH) // HOUR * 37) % 80 - 40
    figures: dict[str, float | int | None] = {
        "count()": count,
        "count_unique(user)": count // 12,
        "epm()": round(count / (length / MINUTE), 4),
        "failure_rate()": round(
            base_failure * (1 - outage_share) + OUTAGE_FAILURE_RATE * outage_share, 6
        ),
        "avg(transaction.duration)": round(avg, 3),
        "p75(measurements.lcp)": lcp,
    }
    for name, factor in _PERCENTILE_FACTORS.items():
        figures[f"{name}(transaction.duration)"] = round(p95 * factor, 3)
    return figures
