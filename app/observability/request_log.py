"""Request log lines of the cached status path, written in batches.

Through stdlib ``logging`` one request line costs about 12 µs here (a record, the caller's
frame, the formatter, then one write and flush per line), several times what serving the cached
status costs. ``CachedStatusResponder`` hands each request to a ``RequestLineBatch`` as a tuple
instead. ``flush`` formats the batch in the layout of Lookout's log handler, text or JSON, and
writes it in one call. Each line keeps the time of its request; it reaches the log at most
``FLUSH_INTERVAL_S`` later, or at shutdown. The lines read exactly like the request lines of
the rest of the app (a test compares them with the handler's own formatter).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from app.observability.logging import (
    REQUEST_LINE,
    JsonFormatter,
    TextFormatter,
    format_timestamp,
    lookout_handler,
    request_line_extra,
)

FLUSH_INTERVAL_S = 1.0
# A batch this long is written at once, so the lines of a burst between flushes stay bounded.
MAX_PENDING_LINES = 4096

# When a request was served (epoch seconds), its request id, status and duration.
PendingLine = tuple[float, bytes, int, float]
LineFormat = Callable[[PendingLine], str]


class RequestLineBatch:
    """Collects the request lines of one method and route and writes them in batches."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        method: str,
        route: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._logger = logger
        self._method = method
        self._route = route
        self._clock = clock
        self._pending: list[PendingLine] = []
        self._timestamp_ms = -1
        self._timestamp = ""
        # The handlers' layouts as %-templates with the constant fields in place, so a line is
        # one formatting operation. Request ids hold only [A-Za-z0-9._-] (the fast path checks
        # them), so they need no JSON escaping.
        message = _message_template(method, route)
        self._text_template = f"%s INFO {_escaped(logger.name)} [%s] {message}\n"
        self._json_template = (
            '{"time": "%s", "level": "INFO", "logger": '
            + _json_literal(logger.name)
            + ', "message": '
            + json.dumps(message, ensure_ascii=False)
            + ', "request_id": "%s", "method": '
            + _json_literal(method)
            + ', "route": '
            + _json_literal(route)
            + ', "status": %d, "duration_ms": %r}\n'
        )

    def add(self, request_id: bytes, status: int, duration_s: float) -> None:
        """Note one request; nothing is kept while the logger is above INFO."""
        if not self._logger.isEnabledFor(logging.INFO):
            return
        self._pending.append((self._clock(), request_id, status, duration_s))
        if len(self._pending) >= MAX_PENDING_LINES:
            self.flush()

    def __len__(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        """Write every pending line now."""
        pending, self._pending = self._pending, []
        if not pending:
            return

        handler = lookout_handler()
        line_format = self._line_format(handler)
        if handler is None or line_format is None:
            # No handler of Lookout's (an embedding app, a test's log capture): hand each line
            # to logging as a record, slower but wherever logging is configured to go.
            for line in pending:
                self._emit_record(line)
            return

        text = "".join(map(line_format, pending))
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        except (OSError, ValueError):
            # The stream is gone (closed at exit, a broken pipe); as logging itself does, the
            # lines are dropped rather than failing the request path.
            pass
        finally:
            handler.release()

    async def flush_periodically(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        """Flush every ``interval_s`` seconds until cancelled, then flush what is left."""
        try:
            while True:
                await asyncio.sleep(interval_s)
                self.flush()
        finally:
            self.flush()

    def _line_format(self, handler: logging.StreamHandler[Any] | None) -> LineFormat | None:
        formatter = handler.formatter if handler is not None else None
        if type(formatter) is TextFormatter:
            return self._text_line
        if type(formatter) is JsonFormatter:
            return self._json_line
        return None

    def _timestamp_of(self, created: float) -> str:
        # Lines of one batch mostly share a millisecond, so its text is made once.
        millisecond = int(created * 1000)
        if millisecond != self._timestamp_ms:
            self._timestamp_ms = millisecond
            self._timestamp = format_timestamp(created)
        return self._timestamp

    def _text_line(self, line: PendingLine) -> str:
        created, request_id, status, duration_s = line
        return self._text_template % (
            self._timestamp_of(created),
            request_id.decode(),
            status,
            duration_s * 1000,
        )

    def _json_line(self, line: PendingLine) -> str:
        created, request_id, status, duration_s = line
        duration_ms = duration_s * 1000
        return self._json_template % (
            self._timestamp_of(created),
            status,
            duration_ms,
            request_id.decode(),
            status,
            round(duration_ms, 1),
        )

    def _emit_record(self, line: PendingLine) -> None:
        created, request_id, status, duration_s = line
        record = self._logger.makeRecord(
            self._logger.name,
            logging.INFO,
            __file__,
            0,
            REQUEST_LINE,
            (self._method, self._route, status, duration_s * 1000),
            None,
            extra=request_line_extra(
                request_id.decode(), self._method, self._route, status, duration_s
            ),
        )
        record.created = created
        record.msecs = (created - int(created)) * 1000
        with contextlib.suppress(Exception):
            self._logger.handle(record)


def _escaped(value: str) -> str:
    """Return ``value`` escaped for use inside a %-format template."""
    return value.replace("%", "%%")


def _json_literal(value: str) -> str:
    """Return ``value`` as a JSON string, escaped for use inside a %-format template."""
    return _escaped(json.dumps(value, ensure_ascii=False))


def _message_template(method: str, route: str) -> str:
    """Return ``REQUEST_LINE`` with the method and route in place, status and duration left."""
    before_method, before_route, rest = REQUEST_LINE.split("%s", 2)
    return before_method + _escaped(method) + before_route + _escaped(route) + rest
