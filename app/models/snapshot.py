"""Snapshot store reads, and the whole picture the services work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models.upstream import ErrorStats, IssuesSnapshot, MonitorsSnapshot, PerformanceStats


class Freshness(BaseModel):
    """How fresh one snapshot key is, as shown in responses.

    ``available`` is false when there is no value at all or the last good value is older than
    ``MAX_STALE``; ``last_error`` is the ``SourceError`` kind of the most recent failed fetch.
    """

    key: str = Field(description="Snapshot key, for example `uptimerobot:monitors`.")
    available: bool = Field(description="Whether a usable value exists.")
    stale: bool = Field(description="Whether the value is older than its TTL.")
    fetched_at: datetime | None = Field(default=None, description="When the value was fetched.")
    age_s: float | None = Field(default=None, description="Age of the value in seconds.")
    last_error: str | None = Field(default=None, description="Kind of the last failed fetch.")
    last_error_at: datetime | None = Field(default=None, description="When that fetch failed.")
    next_refresh_at: datetime | None = Field(
        default=None, description="When the next refresh is due."
    )


@dataclass(frozen=True)
class SnapshotRead:
    """One key's value (``None`` is a legitimate value) and its freshness."""

    key: str
    value: Any
    freshness: Freshness

    @property
    def available(self) -> bool:
        return self.freshness.available


@dataclass(frozen=True)
class SystemSnapshot:
    """Everything the services need at one moment; a missing source is absent, not empty.

    ``monitors`` is ``None`` and a project is missing from the dicts when that data is
    unavailable. ``freshness`` contains every key that was read, available or not.
    """

    taken_at: datetime
    monitors: MonitorsSnapshot | None = None
    issues: dict[str, IssuesSnapshot] = field(default_factory=dict)
    error_stats: dict[str, ErrorStats] = field(default_factory=dict)
    performance: dict[str, PerformanceStats] = field(default_factory=dict)
    freshness: dict[str, Freshness] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        """Whether any source this snapshot is built on is stale or unavailable."""
        return any(item.stale or not item.available for item in self.freshness.values())
