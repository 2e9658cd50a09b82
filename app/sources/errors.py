"""Errors raised by the upstream sources.

Everything a source can fail with is a ``SourceError``; raw httpx, JSON and validation errors
never escape ``app.sources``. The tree::

    SourceError
    ├── SourceTimeout          connect, read or pool timeout
    ├── SourceUnavailable      network error or HTTP 5xx
    ├── SourceRateLimited      HTTP 429 (carries ``retry_after_s``)
    ├── SourceAuthError        rejected credentials or missing scope
    └── SourceBadResponse      invalid JSON, unexpected shape, other 4xx

Messages name the source and what happened; they never contain an API key or token.
"""

from __future__ import annotations


class SourceError(Exception):
    """Base class of every upstream failure; ``kind`` is a stable label for responses."""

    kind = "error"

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


class SourceTimeout(SourceError):
    """The upstream did not respond within the configured timeout."""

    kind = "timeout"


class SourceUnavailable(SourceError):
    """The upstream could not be reached or returned a server error."""

    kind = "unavailable"


class SourceRateLimited(SourceError):
    """The upstream refused the call for rate limiting; wait ``retry_after_s`` seconds."""

    kind = "rate_limited"

    def __init__(self, source: str, message: str, retry_after_s: float) -> None:
        super().__init__(source, message)
        self.retry_after_s = retry_after_s


class SourceAuthError(SourceError):
    """The upstream rejected the configured credentials or they lack a scope."""

    kind = "auth_failed"


class SourceBadResponse(SourceError):
    """The upstream returned a response the client cannot use."""

    kind = "bad_response"
