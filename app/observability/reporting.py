"""Reporting Lookout's own errors to Sentry, scrubbed of every configured secret.

Only errors that are Lookout's bugs are reported. Upstream failures (``SourceError``) are
handled by serving stale data, and API errors below 500 or a 503 for missing upstream data are
expected answers, so neither becomes an event.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.transport import Transport

from app.config import Settings
from app.errors import DataUnavailable, LookoutError
from app.observability.logging import FILTERED, SecretRedactor, secret_values
from app.sources.errors import SourceError

logger = logging.getLogger(__name__)

# Loggers that record upstream calls and their handled failures. Their lines would only crowd
# the breadcrumbs, which the httpx integration already fills with each upstream call.
HANDLED_FAILURE_LOGGERS = ("app.sources.*", "app.store.ratelimit")

# Keys whose value is replaced whole, wherever they appear in an event (headers, frame
# variables, extra data), compared after lower-casing and turning ``-`` into ``_``.
_SENSITIVE_KEY_PARTS = (
    "api_key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "credential",
    "signature",
    "dsn",
    "private_key",
    "sentry_key",
    "x_sentry_auth",
)

# A query string: a "?" right after a URL or path character, followed by name=value pairs.
_URL_QUERY = re.compile(r"(?<=[^\s?])\?[^\s#\"'<>]*=[^\s#\"'<>]*")
_QUERY_VALUE = re.compile(r"([?&][^=&#\s]*=)[^&#\s]*")
# Fields that contain a bare query string, without the "?".
_QUERY_STRING_KEYS = frozenset({"query_string", "http.query"})

Event = dict[str, Any]
Hint = dict[str, Any]


def is_sensitive_key(key: str) -> bool:
    """Tell whether a field named ``key`` may contain a credential."""
    normalized = key.lower().replace("-", "_")
    return any(part in normalized for part in _SENSITIVE_KEY_PARTS)


def mask_query_values(text: str) -> str:
    """Replace every value in the query strings within ``text``, keeping the parameter names."""
    if "?" not in text:
        return text
    return _URL_QUERY.sub(lambda match: _QUERY_VALUE.sub(rf"\1{FILTERED}", match.group(0)), text)


def _mask_query_string(query: str) -> str:
    return _QUERY_VALUE.sub(rf"\1{FILTERED}", f"?{query}")[1:] if query else query


class EventScrubber:
    """Removes credentials from a Sentry event: sensitive keys, known secret values, request
    bodies, query values and credential-shaped text anywhere in it."""

    def __init__(self, redactor: SecretRedactor) -> None:
        self._redactor = redactor

    def scrub(self, event: Event) -> Event:
        """Scrub ``event`` (its request fields in place) and return the scrubbed event."""
        request = event.get("request")
        if isinstance(request, dict):
            # Lookout's request bodies are webhook payloads, and a body is never needed to debug.
            for field in ("data", "cookies"):
                if request.get(field):
                    request[field] = FILTERED
        scrubbed: Event = self._walk(event)
        return scrubbed

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask_query_values(self._redactor.redact(value))
        if isinstance(value, dict):
            return {key: self._walk_field(key, item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            # Some integrations send headers as [name, value] pairs.
            if len(value) == 2 and isinstance(value[0], str) and is_sensitive_key(value[0]):
                return [value[0], FILTERED]
            return [self._walk(item) for item in value]
        return value

    def _walk_field(self, key: Any, value: Any) -> Any:
        if not isinstance(key, str) or value in (None, ""):
            return self._walk(value)
        if is_sensitive_key(key):
            return FILTERED
        if key in _QUERY_STRING_KEYS and isinstance(value, str):
            return _mask_query_string(self._redactor.redact(value))
        return self._walk(value)


def is_expected_error(error: BaseException) -> bool:
    """Tell whether ``error`` is a handled condition rather than a Lookout bug.

    Upstream failures, API errors below 500 and a 503 for missing upstream data are expected.
    """
    if isinstance(error, SourceError | DataUnavailable):
        return True
    return isinstance(error, LookoutError) and error.status_code < 500


def build_before_send(scrubber: EventScrubber) -> Callable[[Event, Hint], Event | None]:
    """Build Sentry's ``before_send``: drop expected errors, scrub everything else."""

    def before_send(event: Event, hint: Hint) -> Event | None:
        exc_info = hint.get("exc_info")
        if exc_info and isinstance(exc_info[1], BaseException) and is_expected_error(exc_info[1]):
            return None
        return scrubber.scrub(event)

    return before_send


def init_error_reporting(settings: Settings, transport: Transport | None = None) -> bool:
    """Start reporting errors to Sentry when ``SENTRY_DSN`` is set; return whether it started.

    ``transport`` replaces the HTTP transport, so tests capture events in memory. Personal data
    is off, and no trace headers are added to upstream calls.
    """
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False

    scrubber = EventScrubber(SecretRedactor(secret_values(settings)))
    before_send = build_before_send(scrubber)

    for name in HANDLED_FAILURE_LOGGERS:
        ignore_logger(name)
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport

    def scrub_event(event: Any, hint: Any) -> Any:
        return scrubber.scrub(event)

    # send_default_pii is left unset: it defaults to off, and sentry-sdk 2.76 deprecates it.
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        # sentry_sdk types events as a TypedDict; the scrubber works on plain dicts.
        before_send=before_send,  # type: ignore[arg-type]
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_event,
        trace_propagation_targets=[],
        max_request_body_size="never",
        **options,
    )
    logger.info("error reporting started")
    return True
