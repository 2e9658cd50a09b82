"""Tests of log set-up: text and JSON lines, request ids and secret redaction."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from app.observability.logging import (
    FILTERED,
    RedactionFilter,
    RequestIdFilter,
    SecretRedactor,
    configure_logging,
    request_id_var,
    secret_values,
)
from tests.observability.conftest import (
    DSN,
    DSN_KEY,
    JWT_SECRET,
    SECRETS,
    SENTRY_TOKEN,
    UPTIMEROBOT_KEY,
    WEBHOOK_SECRET,
    WEBHOOK_TOKEN,
    make_settings,
)


def make_record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tests", logging.INFO, __file__, 1, msg, args or None, None)
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_secret_values_collects_every_secret_field() -> None:
    values = secret_values(make_settings())

    for secret in (UPTIMEROBOT_KEY, SENTRY_TOKEN, JWT_SECRET, WEBHOOK_TOKEN, WEBHOOK_SECRET, DSN):
        assert secret in values


def test_secret_values_include_dsn_key() -> None:
    assert DSN_KEY in secret_values(make_settings())


def test_secret_values_include_url_encoded_form() -> None:
    settings = make_settings(uptimerobot_api_key="key+with/slash=")

    values = secret_values(settings)

    assert "key%2Bwith%2Fslash%3D" in values


def test_secret_values_skip_unset_fields() -> None:
    settings = make_settings(sentry_dsn=None, sentry_webhook_secret=None)

    values = secret_values(settings)

    assert DSN not in values
    assert WEBHOOK_SECRET not in values


def test_redactor_masks_known_secret() -> None:
    redactor = SecretRedactor([UPTIMEROBOT_KEY])

    text = redactor.redact(f"form body was api={UPTIMEROBOT_KEY}&format=json")

    assert UPTIMEROBOT_KEY not in text
    assert FILTERED in text


def test_redactor_masks_longest_secret_whole() -> None:
    redactor = SecretRedactor(["abcd", "abcdefgh"])

    assert redactor.redact("x abcdefgh y") == f"x {FILTERED} y"


def test_redactor_ignores_very_short_secret() -> None:
    redactor = SecretRedactor(["abc"])

    assert redactor.redact("abc def") == "abc def"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("POST api_key=u777777-zzzz&format=json", "u777777-zzzz"),
        ("POST apiKey=u777777-zzzz", "u777777-zzzz"),
        ('{"auth_token": "sntrys_abc123"}', "sntrys_abc123"),
        ("{'password': 'hunter22'}", "hunter22"),
        ("secret=s3cr3t-value", "s3cr3t-value"),
        ("X-Signature: 9f86d081884c7d65", "9f86d081884c7d65"),
        ("Cookie: session=deadbeef", "deadbeef"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl pasted", "c2lnbmF0dXJl"),
        ("dsn is https://abc123key@o1.ingest.example.com/42", "abc123key"),
        ("proxy http://user:pa55word@proxy.local:3128", "pa55word"),
    ],
)
def test_redactor_masks_credential_shapes(text: str, leaked: str) -> None:
    redacted = SecretRedactor().redact(text)

    assert leaked not in redacted
    assert FILTERED in redacted


def test_redactor_leaves_plain_text() -> None:
    text = "upstream call source=sentry key=sentry:issues:web status=200 outcome=auth_failed"

    assert SecretRedactor().redact(text) == text


def test_filter_masks_secret_in_args() -> None:
    record = make_record("calling with key %s", UPTIMEROBOT_KEY)

    RedactionFilter(SecretRedactor([UPTIMEROBOT_KEY])).filter(record)

    assert UPTIMEROBOT_KEY not in record.getMessage()
    assert record.getMessage() == f"calling with key {FILTERED}"


def test_filter_keeps_clean_record_untouched() -> None:
    record = make_record("fetched %d monitors", 4)

    RedactionFilter(SecretRedactor([UPTIMEROBOT_KEY])).filter(record)

    assert record.msg == "fetched %d monitors"
    assert record.args == (4,)


def test_filter_masks_secret_in_traceback() -> None:
    try:
        raise ValueError(f"bad key {SENTRY_TOKEN}")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    RedactionFilter(SecretRedactor([SENTRY_TOKEN])).filter(record)
    output = logging.Formatter().format(record)

    assert SENTRY_TOKEN not in output
    assert "ValueError: bad key [Filtered]" in output


def test_filter_masks_secret_in_extra_field() -> None:
    record = make_record("webhook received", path=f"/api/v1/webhooks/uptimerobot/{WEBHOOK_TOKEN}")

    RedactionFilter(SecretRedactor([WEBHOOK_TOKEN])).filter(record)

    assert record.path == f"/api/v1/webhooks/uptimerobot/{FILTERED}"  # type: ignore[attr-defined]


def test_filter_survives_mismatched_args() -> None:
    record = make_record("two %s %s", "only-one")

    assert RedactionFilter(SecretRedactor()).filter(record) is True


def test_request_id_filter_uses_current_request() -> None:
    record = make_record("inside a request")
    token = request_id_var.set("abc-123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)

    assert record.request_id == "abc-123"  # type: ignore[attr-defined]


def test_request_id_filter_outside_request() -> None:
    record = make_record("at start-up")

    RequestIdFilter().filter(record)

    assert record.request_id == "-"  # type: ignore[attr-defined]


def test_text_format_is_one_readable_line(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format="text"), stream=stream)

    logging.getLogger("app.test").warning("snapshot fetch failed key=%s", "uptimerobot:monitors")

    line = stream.getvalue().strip()
    assert "\n" not in line
    assert line.endswith("WARNING app.test [-] snapshot fetch failed key=uptimerobot:monitors")
    assert line[:24].endswith("Z")


def test_json_format_is_one_object_per_line(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format="json"), stream=stream)
    token = request_id_var.set("req-9")
    try:
        logging.getLogger("app.test").info("served %s", "status", extra={"status": 200})
        logging.getLogger("app.test").info("second line")
    finally:
        request_id_var.reset(token)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["message"] == "served status"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "app.test"
    assert entry["request_id"] == "req-9"
    assert entry["status"] == 200
    assert entry["time"].endswith("Z")


def test_json_format_includes_traceback(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format="json"), stream=stream)

    try:
        raise RuntimeError("exploded")
    except RuntimeError:
        logging.getLogger("app.test").exception("handler failed")

    entry = json.loads(stream.getvalue())
    assert "RuntimeError: exploded" in entry["exc_info"]


def test_configured_handler_masks_every_secret(restore_root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(log_format="json"), stream=stream)

    for secret in SECRETS:
        logging.getLogger("app.test").error("leaking %s", secret)
    logging.getLogger("app.test").error("dsn %s", DSN)

    output = stream.getvalue()
    for secret in (*SECRETS, DSN):
        assert secret not in output


def test_configure_logging_replaces_own_handler(restore_root_logger: logging.Logger) -> None:
    first = configure_logging(make_settings())
    second = configure_logging(make_settings())

    assert second in restore_root_logger.handlers
    assert first not in restore_root_logger.handlers


def test_configure_logging_sets_level(restore_root_logger: logging.Logger) -> None:
    configure_logging(make_settings(log_level="WARNING"))

    assert restore_root_logger.level == logging.WARNING


def test_uvicorn_loggers_propagate_to_root(restore_root_logger: logging.Logger) -> None:
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.NullHandler())
    uvicorn_error.propagate = False

    configure_logging(make_settings())

    assert uvicorn_error.handlers == []
    assert uvicorn_error.propagate is True
