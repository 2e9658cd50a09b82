"""Tests of error reporting to Sentry: what is sent, what is dropped and what is scrubbed.

Events go to an in-memory transport; the DSN points at a closed loopback port and is never
contacted.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import sentry_sdk
from fastapi import FastAPI

from app.errors import DataUnavailable, LookoutError, NotFound
from app.observability.logging import FILTERED, SecretRedactor
from app.observability.middleware import RequestObservationMiddleware
from app.observability.reporting import (
    EventScrubber,
    init_error_reporting,
    is_expected_error,
    mask_query_values,
)
from app.sources.errors import SourceTimeout, SourceUnavailable
from tests.observability.conftest import (
    DSN,
    DSN_KEY,
    JWT_SECRET,
    SECRETS,
    SENTRY_TOKEN,
    UPTIMEROBOT_KEY,
    WEBHOOK_TOKEN,
    MemoryTransport,
    make_settings,
)


def report(error: BaseException) -> None:
    try:
        raise error
    except BaseException as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()


def assert_no_secret(transport: MemoryTransport) -> None:
    sent = transport.serialized()
    for secret in (*SECRETS, DSN):
        assert secret not in sent, f"{secret[:4]}… reached the Sentry transport"


def test_no_dsn_starts_nothing(sentry_transport: MemoryTransport) -> None:
    started = init_error_reporting(make_settings(sentry_dsn=None), transport=sentry_transport)

    assert started is False
    assert sentry_sdk.get_client().is_active() is False


def test_dsn_starts_reporting(sentry_transport: MemoryTransport) -> None:
    started = init_error_reporting(make_settings(), transport=sentry_transport)
    report(RuntimeError("a Lookout bug"))

    assert started is True
    assert len(sentry_transport.events) == 1
    assert sentry_transport.events[0]["exception"]["values"][0]["type"] == "RuntimeError"


def test_personal_data_off(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    client = sentry_sdk.get_client()
    assert client.should_send_default_pii() is False
    assert client.options["trace_propagation_targets"] == []


def test_source_error_not_reported(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    report(SourceTimeout("uptimerobot", "uptimerobot:monitors timed out"))
    report(SourceUnavailable("sentry", "sentry:issues:web answered HTTP 502"))

    assert sentry_transport.events == []


def test_expected_api_errors_not_reported(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    report(DataUnavailable("No monitor data yet; retry shortly."))
    report(NotFound("No such monitor"))

    assert sentry_transport.events == []


def test_is_expected_error_classifies() -> None:
    assert is_expected_error(SourceTimeout("sentry", "timed out"))
    assert is_expected_error(DataUnavailable("no data"))
    assert is_expected_error(NotFound("missing"))
    assert not is_expected_error(LookoutError("internal"))
    assert not is_expected_error(KeyError("bug"))


def test_upstream_logger_errors_not_reported(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    logging.getLogger("app.sources.base").error("upstream call failed source=sentry")
    logging.getLogger("app.store.ratelimit").error("upstream rate limited upstream=sentry")
    logging.getLogger("app.api.errors").error("unhandled error method=GET")
    sentry_sdk.flush()

    loggers = [event.get("logger") for event in sentry_transport.events]
    assert loggers == ["app.api.errors"]


def test_secret_in_local_variable_scrubbed(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    def call_upstream() -> None:
        api_key = UPTIMEROBOT_KEY
        form = {"api_key": api_key, "format": "json"}
        header = f"Bearer {SENTRY_TOKEN}"
        raise RuntimeError(f"failed with form {form} and {header}")

    report_via(call_upstream)

    event = sentry_transport.events[0]
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["vars"]["api_key"] == FILTERED
    assert_no_secret(sentry_transport)


def report_via(function: Any) -> None:
    try:
        function()
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()


def test_secret_in_message_and_extra_scrubbed(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    with sentry_sdk.new_scope() as scope:
        scope.set_extra("config", {"jwt": JWT_SECRET, "note": f"webhook {WEBHOOK_TOKEN}"})
        scope.set_tag("dsn_host", DSN)
        sentry_sdk.capture_message(f"odd upstream answer for key {UPTIMEROBOT_KEY}")
    sentry_sdk.flush()

    assert len(sentry_transport.events) == 1
    assert_no_secret(sentry_transport)


def test_breadcrumb_with_secret_scrubbed(sentry_transport: MemoryTransport) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)

    logging.getLogger("app.store.memory").warning("fetch failed token=%s", SENTRY_TOKEN)
    sentry_sdk.add_breadcrumb(
        category="httplib",
        data={"url": "https://sentry.example/api/0/", "http.query": f"key={DSN_KEY}&cursor=1"},
    )
    report(RuntimeError("bug after upstream trouble"))

    crumbs = sentry_transport.events[0]["breadcrumbs"]["values"]
    assert crumbs[-1]["data"]["http.query"] == f"key={FILTERED}&cursor={FILTERED}"
    assert_no_secret(sentry_transport)


def build_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/webhooks/uptimerobot/{token}")
    async def webhook(token: str) -> None:
        raise RuntimeError("webhook handler bug")

    app.add_middleware(RequestObservationMiddleware)
    return app


async def test_request_headers_body_and_query_scrubbed(
    sentry_transport: MemoryTransport,
) -> None:
    init_error_reporting(make_settings(), transport=sentry_transport)
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            f"/api/v1/webhooks/uptimerobot/{WEBHOOK_TOKEN}?api_key={UPTIMEROBOT_KEY}&x=1",
            headers={
                "Authorization": f"Bearer {SENTRY_TOKEN}",
                "Cookie": f"session={JWT_SECRET}",
                "X-Request-ID": "hook-1",
            },
            content=json.dumps({"secret": UPTIMEROBOT_KEY}),
        )
    sentry_sdk.flush()

    assert response.status_code == 500
    assert len(sentry_transport.events) == 1
    request = sentry_transport.events[0]["request"]
    assert request["headers"].get("authorization", FILTERED) == FILTERED
    assert request["query_string"] == f"api_key={FILTERED}&x={FILTERED}"
    assert request.get("data") in (None, "", FILTERED)
    assert sentry_transport.events[0]["tags"]["request_id"] == "hook-1"
    assert_no_secret(sentry_transport)


def test_scrubber_masks_header_pairs() -> None:
    scrubber = EventScrubber(SecretRedactor())

    event = scrubber.scrub({"request": {"headers": [["X-Api-Key", "k-123456"], ["Accept", "*"]]}})

    assert event["request"]["headers"] == [["X-Api-Key", FILTERED], ["Accept", "*"]]


def test_scrubber_masks_known_secret_deep_inside() -> None:
    scrubber = EventScrubber(SecretRedactor([UPTIMEROBOT_KEY]))

    event = scrubber.scrub({"contexts": {"a": [{"b": ("x", f"prefix-{UPTIMEROBOT_KEY}")}]}})

    assert event == {"contexts": {"a": [{"b": ["x", f"prefix-{FILTERED}"]}]}}


def test_mask_query_values_keeps_names() -> None:
    masked = mask_query_values("GET https://api.example/v2/x?api_key=abc&format=json done")

    assert masked == f"GET https://api.example/v2/x?api_key={FILTERED}&format={FILTERED} done"


def test_mask_query_values_leaves_questions() -> None:
    assert mask_query_values("is it down? yes") == "is it down? yes"
