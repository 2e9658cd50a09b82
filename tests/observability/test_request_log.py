"""Batched request lines: the same text as the log handler writes, written once per batch."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from app.observability.logging import (
    REQUEST_LINE,
    configure_logging,
    lookout_handler,
    request_line_extra,
)
from app.observability.request_log import MAX_PENDING_LINES, RequestLineBatch
from tests.observability.conftest import make_settings

LOGGER = logging.getLogger("tests.request_log")
ROUTE = "/api/v1/status"
SERVED_AT = 1_796_400_000.1234


class CountingStream(io.StringIO):
    """A text stream that counts its write calls."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _batch(route: str = ROUTE) -> RequestLineBatch:
    return RequestLineBatch(LOGGER, method="GET", route=route, clock=lambda: SERVED_AT)


def _formatted_by_handler(
    request_id: str, status: int, duration_s: float, route: str = ROUTE
) -> str:
    """Format the record the full stack would log for this request with Lookout's handler."""
    record = LOGGER.makeRecord(
        LOGGER.name,
        logging.INFO,
        __file__,
        1,
        REQUEST_LINE,
        ("GET", route, status, duration_s * 1000),
        None,
        extra=request_line_extra(request_id, "GET", route, status, duration_s),
    )
    record.created = SERVED_AT
    record.msecs = (SERVED_AT - int(SERVED_AT)) * 1000
    handler = lookout_handler()
    assert handler is not None
    return handler.format(record) + "\n"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_batched_line_matches_handler_format(
    restore_root_logger: logging.Logger, log_format: str
) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format=log_format), stream=stream)
    batch = _batch()

    batch.add(b"req.42", 200, 0.000_347)
    batch.flush()

    assert stream.getvalue() == _formatted_by_handler("req.42", 200, 0.000_347)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_route_with_percent_and_quote_formatted_like_handler(
    restore_root_logger: logging.Logger, log_format: str
) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format=log_format), stream=stream)
    route = '/odd/100%s/"quoted"'
    batch = _batch(route)

    batch.add(b"req-9", 200, 0.25)
    batch.flush()

    assert stream.getvalue() == _formatted_by_handler("req-9", 200, 0.25, route)


def test_json_line_is_valid_json_without_internal_flag(
    restore_root_logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format="json"), stream=stream)
    batch = _batch()

    batch.add(b"abc", 304, 0.0021)
    batch.flush()

    entry = json.loads(stream.getvalue())
    assert entry["request_id"] == "abc"
    assert entry["status"] == 304
    assert entry["duration_ms"] == 2.1
    assert "redaction_exempt" not in entry


def test_lines_wait_for_flush(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()

    batch.add(b"one", 200, 0.001)
    batch.add(b"two", 200, 0.001)

    assert stream.getvalue() == ""
    assert len(batch) == 2


def test_flush_writes_batch_in_one_call(restore_root_logger: logging.Logger) -> None:
    stream = CountingStream()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()
    for number in range(50):
        batch.add(f"req-{number}".encode(), 200, 0.001)

    batch.flush()

    assert stream.writes == 1
    lines = stream.getvalue().splitlines()
    assert len(lines) == 50
    assert "[req-0]" in lines[0]
    assert "[req-49]" in lines[-1]


def test_full_batch_is_written_without_waiting(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()

    for _ in range(MAX_PENDING_LINES):
        batch.add(b"burst", 200, 0.001)

    assert len(stream.getvalue().splitlines()) == MAX_PENDING_LINES
    assert len(batch) == 0


def test_nothing_kept_above_info(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_level="WARNING"), stream=stream)
    batch = _batch()

    batch.add(b"quiet", 200, 0.001)
    batch.flush()

    assert len(batch) == 0
    assert stream.getvalue() == ""


def test_closed_stream_drops_lines_without_raising(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()
    batch.add(b"late", 200, 0.001)
    stream.close()

    batch.flush()

    assert len(batch) == 0


def test_without_lookout_handler_lines_go_through_logging(
    restore_root_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    restore_root_logger.handlers[:] = [caplog.handler]
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    batch = _batch()

    batch.add(b"req-7", 429, 0.0005)
    batch.flush()

    [record] = [r for r in caplog.records if r.name == LOGGER.name]
    assert record.getMessage() == "request method=GET route=/api/v1/status status=429 " + (
        "duration_ms=0.5"
    )
    assert record.request_id == "req-7"  # type: ignore[attr-defined]
    assert record.created == SERVED_AT


class SignallingStream(io.StringIO):
    """A text stream that sets an event on its first write."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


async def test_periodic_flush_writes_pending_lines(restore_root_logger: logging.Logger) -> None:
    stream = SignallingStream()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()
    flusher = asyncio.create_task(batch.flush_periodically(interval_s=0.01))
    batch.add(b"tick", 200, 0.001)

    async with asyncio.timeout(2):
        await stream.written.wait()
    flusher.cancel()

    assert "[tick]" in stream.getvalue()


async def test_cancelled_flusher_writes_what_is_left(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(), stream=stream)
    batch = _batch()
    flusher = asyncio.create_task(batch.flush_periodically(interval_s=3600))
    await asyncio.sleep(0)
    batch.add(b"last", 200, 0.001)

    flusher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flusher

    assert "[last]" in stream.getvalue()
