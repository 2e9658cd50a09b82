"""Log set-up: readable text or one JSON object per line, request ids, and secret redaction.

``configure_logging(settings)`` installs one handler on the root logger. Its filters add the
current request id to every record and mask secrets in every record, whichever logger emitted
it. Redaction is a last line of defence: code must still never log a secret.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, urlsplit

from pydantic import SecretStr

from app.config import Settings

FILTERED = "[Filtered]"
NO_REQUEST_ID = "-"

# Shorter secret values are not masked, because masking every occurrence of a two- or
# three-character string would garble ordinary text. Real keys and tokens are far longer.
MIN_SECRET_LENGTH = 4

request_id_var: ContextVar[str | None] = ContextVar("lookout_request_id", default=None)
"""The id of the HTTP request being served; set by the request middleware."""

_CREDENTIAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A bearer token, as in an Authorization header.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {FILTERED}"),
    # A JSON Web Token anywhere, for example one pasted into a message.
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), FILTERED),
    # Credentials in a URL's user info, such as a Sentry DSN's public key.
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@"),
        rf"\1{FILTERED}@",
    ),
    # key=value, key: value and "key": "value" pairs whose key names a credential.
    (
        re.compile(
            r"(?i)([\w-]*(?:api[_-]?key|token|secret|password|passwd|authorization|"
            r"signature|cookie|dsn|credential)[\w-]*[\"']?\s*[=:]\s*[\"']?)"
            r"(?!\[Filtered\])(?:(?:basic|bearer|digest)\s+)?[^\s\"'&,;]+"
        ),
        rf"\1{FILTERED}",
    ),
)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "request_id"}


def secret_values(settings: Settings) -> list[str]:
    """Collect every secret in ``settings``: each ``SecretStr`` value and its URL-encoded forms.

    A secret that is a URL (a DSN, a webhook URL) also contributes its user name and password,
    which can appear on their own, for example in an ``X-Sentry-Auth`` header.
    """
    values: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if not isinstance(value, SecretStr):
            continue
        secret = value.get_secret_value()
        parts = [secret, *_url_credentials(secret)]
        for part in parts:
            values.update({part, quote(part, safe=""), quote_plus(part)})
    return sorted(value for value in values if len(value) >= MIN_SECRET_LENGTH)


def _url_credentials(value: str) -> list[str]:
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
        return [part for part in (parts.username, parts.password) if part]
    except ValueError:
        return []


class SecretRedactor:
    """Masks known secret values and credential-shaped text (bearer tokens, ``api_key=…``)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longer secrets come first, so that a secret containing another is masked whole.
        known = sorted(
            {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH},
            key=len,
            reverse=True,
        )
        self._known = re.compile("|".join(map(re.escape, known))) if known else None

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret and credential-shaped value masked."""
        if self._known is not None:
            text = self._known.sub(FILTERED, text)
        for pattern, replacement in _CREDENTIAL_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


# Set to True in ``extra`` by a log call whose message and fields are built only from values the
# code controls (the request line: method, route template, status, duration), so scanning it for
# secrets on every request is wasted work.
REDACTION_EXEMPT = "redaction_exempt"

# The message of the one log line per request.
REQUEST_LINE = "request method=%s route=%s status=%d duration_ms=%.1f"


def request_line_extra(
    request_id: str, method: str, route: str, status: int, duration_s: float
) -> dict[str, Any]:
    """Build the ``extra`` fields of a request line; it is exempt from redaction."""
    return {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_s * 1000, 1),
        REDACTION_EXEMPT: True,
    }


class RedactionFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, traceback and extra fields.

    Attach it to a handler, not a logger: a logger's filters see only the records created on
    that logger, while a handler's filters see every record the handler writes.
    """

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, REDACTION_EXEMPT, False):
            return True
        message = _render_message(record)
        redacted = self._redactor.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, self._redactor.redact(value))
        return True


def _render_message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        # Arguments that do not fit the format string: logging reports that error itself when
        # the record is formatted, so only the template is checked here.
        return str(record.msg)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record: the id of the request being served, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or NO_REQUEST_ID
        return True


def format_timestamp(created: float) -> str:
    """Format epoch seconds as the log lines' UTC time, to the millisecond."""
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """One readable line: UTC time, level, logger, request id in brackets, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return format_timestamp(record.created)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = NO_REQUEST_ID
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": format_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST_ID),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD_RECORD_ATTRIBUTES and name not in entry:
                entry[name] = value
        entry.pop(REDACTION_EXEMPT, None)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _is_lookout_handler(handler: logging.Handler) -> bool:
    return getattr(handler, "lookout_handler", False) is True


def lookout_handler() -> logging.StreamHandler[Any] | None:
    """Return the handler ``configure_logging`` installed on the root logger, if any."""
    for handler in logging.getLogger().handlers:
        if _is_lookout_handler(handler) and isinstance(handler, logging.StreamHandler):
            return handler
    return None


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr by default) as text or JSON lines.

    Calling it again replaces the handler it installed before. uvicorn's loggers are made to
    propagate to the root logger, so their lines are redacted and formatted the same way.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if _is_lookout_handler(handler):
            root.removeHandler(handler)

    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.lookout_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(RedactionFilter(SecretRedactor(secret_values(settings))))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
