"""Errors Lookout's own API answers with; one handler turns each into ``{"detail", "code"}``.

The tree::

    LookoutError                 500 internal_error (never raised for upstream trouble)
    ├── NotAuthenticated         401 not_authenticated / invalid_token (+ WWW-Authenticate)
    ├── Forbidden                403 forbidden
    ├── NotFound                 404 not_found
    ├── InvalidParameter         422 invalid_parameter
    ├── PayloadTooLarge          413 payload_too_large
    ├── RateLimited              429 rate_limited (+ Retry-After)
    └── DataUnavailable          503 data_unavailable (+ Retry-After)
"""

from __future__ import annotations


class LookoutError(Exception):
    """An error with an HTTP status, a stable ``code`` and a message safe to show anyone."""

    status_code = 500
    code = "internal_error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class NotAuthenticated(LookoutError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, detail: str, *, token_given: bool = False) -> None:
        challenge = 'Bearer error="invalid_token"' if token_given else "Bearer"
        super().__init__(detail, headers={"WWW-Authenticate": challenge})
        if token_given:
            self.code = "invalid_token"


class Forbidden(LookoutError):
    status_code = 403
    code = "forbidden"


class NotFound(LookoutError):
    status_code = 404
    code = "not_found"


class InvalidParameter(LookoutError):
    status_code = 422
    code = "invalid_parameter"


class PayloadTooLarge(LookoutError):
    status_code = 413
    code = "payload_too_large"


class RateLimited(LookoutError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(retry_after_s, 1))})
        self.retry_after_s = retry_after_s


class DataUnavailable(LookoutError):
    status_code = 503
    code = "data_unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(retry_after_s, 1))})
