"""Per-upstream rate-limit blocks: after a 429 no key of that upstream is fetched until it ends."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)

# The maximum block one 429 can cause, so that a garbage Retry-After cannot stop a source for good.
MAX_BLOCK_S = 3600.0
# The block used when the wait given is not a number.
DEFAULT_BLOCK_S = 60.0


def clamp_wait_s(retry_after_s: float) -> float:
    """Bound a ``Retry-After`` wait to ``0..MAX_BLOCK_S`` seconds, using the default for NaN."""
    if math.isnan(retry_after_s):
        return DEFAULT_BLOCK_S
    return min(max(retry_after_s, 0.0), MAX_BLOCK_S)


@dataclass(frozen=True)
class UpstreamBlock:
    """A period during which one upstream must not be called.

    ``until_monotonic`` is a reading of the store's monotonic clock, ``until_at`` the same moment
    as an aware UTC datetime, and ``since_at`` when the 429 arrived.
    """

    upstream: str
    until_monotonic: float
    until_at: datetime
    since_at: datetime


class UpstreamBlocks:
    """The active rate-limit blocks of every upstream, on injected clocks."""

    def __init__(self, clock: Callable[[], float], wall_clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._blocks: dict[str, UpstreamBlock] = {}

    def block(
        self, upstream: str, retry_after_s: float, *, since_at: datetime | None = None
    ) -> UpstreamBlock:
        """Block ``upstream`` for ``retry_after_s`` seconds, keeping a longer block in force.

        ``since_at`` is when the 429 arrived, if that was before now (another replica's 429).
        """
        wait_s = clamp_wait_s(retry_after_s)
        now_at = self._wall_clock()
        candidate = UpstreamBlock(
            upstream=upstream,
            until_monotonic=self._clock() + wait_s,
            until_at=now_at + timedelta(seconds=wait_s),
            since_at=since_at or now_at,
        )
        current = self.active(upstream)
        if current is not None and current.until_monotonic >= candidate.until_monotonic:
            return current
        self._blocks[upstream] = candidate
        logger.warning("upstream rate limited upstream=%s retry_after_s=%.1f", upstream, wait_s)
        return candidate

    def active(self, upstream: str) -> UpstreamBlock | None:
        """Return the block of ``upstream`` still in force, or ``None``."""
        block = self._blocks.get(upstream)
        if block is None:
            return None
        if self._clock() >= block.until_monotonic:
            del self._blocks[upstream]
            return None
        return block
