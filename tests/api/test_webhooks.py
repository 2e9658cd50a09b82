"""Webhook endpoints against the demo app: authentication, parsing, effects and idempotency."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.live import LiveUpdates
from app.models.upstream import MonitorsSnapshot, MonitorStatus
from app.views import MONITORS_KEY
from tests.api.conftest import FROZEN_NOW, Harness

TOKEN = "ur-hook-token-7c2f91d04e6a"
SECRET = "sentry-client-secret-a83b5e"
MAX_BODY_BYTES = 2048
WINDOW_S = 300
NOW_S = int(FROZEN_NOW.timestamp())
BACKEND_MONITOR_ID = 790000002
UPTIMEROBOT_PATH = f"/api/v1/webhooks/uptimerobot/{TOKEN}"
SENTRY_PATH = "/api/v1/webhooks/sentry"
ALERT = {
    "monitorID": str(BACKEND_MONITOR_ID),
    "alertType": "1",
    "alertDateTime": str(NOW_S),
    "alertDetails": "Connection Timeout",
    "monitorFriendlyName": "Backend API",
}
ISSUE_BODY = json.dumps(
    {
        "action": "created",
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        "data": {
            "issue": {
                "id": "1170820242",
                "title": "ValueError: Ungültige Größe für Überweisung €",
                "project": {"id": "1", "slug": "backend"},
            }
        },
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode()


@pytest.fixture
async def hooks(make_harness: Callable[..., Any]) -> AsyncIterator[Harness]:
    """A harness with both webhooks configured; no snapshot key is fetched yet."""
    async with make_harness(
        uptimerobot_webhook_token=TOKEN,
        sentry_webhook_secret=SECRET,
        webhook_max_body_bytes=MAX_BODY_BYTES,
        webhook_replay_window_seconds=WINDOW_S,
    ) as harness:
        yield harness


async def _warm(harness: Harness) -> None:
    """Fetch every snapshot key, as a running app has, so a test can compare before and after."""
    response = await harness.client.get("/api/v1/status")
    assert response.status_code == 200


def _live(harness: Harness) -> LiveUpdates:
    live: LiveUpdates = harness.app.state.live
    return live


async def _settle(harness: Harness) -> None:
    await _live(harness).refresher.wait_idle()


async def _monitor_status(harness: Harness, monitor_id: int) -> MonitorStatus:
    read = await harness.app.state.runtime.store.read(MONITORS_KEY)
    assert isinstance(read.value, MonitorsSnapshot)
    statuses = {monitor.id: monitor.status for monitor in read.value.monitors}
    return statuses[monitor_id]


async def _api_component_status(harness: Harness) -> str:
    body = (await harness.client.get("/api/v1/status")).json()
    statuses = {component["name"]: component["status"] for component in body["components"]}
    return str(statuses["API"])


def _signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sentry_headers(
    body: bytes,
    *,
    resource: str = "issue",
    timestamp: int = NOW_S,
    request_id: str | None = "0b6f2a52-2d5c-4a8e-9d5e-3c1f0a7b9e11",
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(timestamp),
        "Sentry-Hook-Signature": _signature(body),
    }
    if request_id is not None:
        headers["Request-ID"] = request_id
    return headers


class CountingBody:
    """A chunked request body that counts how many of its chunks the server read."""

    def __init__(self, chunks: int, chunk_bytes: int) -> None:
        self.chunks = chunks
        self.chunk_bytes = chunk_bytes
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b"x" * self.chunk_bytes


# --- UptimeRobot -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "delivery",
    [{"data": ALERT}, {"json": ALERT}, {"params": ALERT}],
    ids=["form", "json", "query"],
)
async def test_uptimerobot_down_alert_marks_monitor_down(
    hooks: Harness, delivery: dict[str, Any]
) -> None:
    await _warm(hooks)
    # The refresh fails, so the webhook's news is what the snapshot keeps.
    hooks.faults["uptimerobot"].error_status = 503
    calls_before = hooks.calls["uptimerobot:getMonitors"]

    response = await hooks.client.post(UPTIMEROBOT_PATH, **delivery)
    await _settle(hooks)

    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "refreshing": [MONITORS_KEY]}
    assert await _monitor_status(hooks, BACKEND_MONITOR_ID) is MonitorStatus.DOWN
    assert await _api_component_status(hooks) == "major_outage"
    assert hooks.calls["uptimerobot:getMonitors"] == calls_before + 1


async def test_uptimerobot_down_alert_changes_status_before_refresh(hooks: Harness) -> None:
    await _warm(hooks)
    hooks.faults["uptimerobot"].latency_ms = 200

    response = await hooks.client.post(UPTIMEROBOT_PATH, data=ALERT)
    status_before_refresh = await _api_component_status(hooks)
    await _settle(hooks)

    assert response.status_code == 202
    assert status_before_refresh == "major_outage"
    assert await _api_component_status(hooks) == "operational"


async def test_uptimerobot_up_alert_marks_monitor_up(hooks: Harness) -> None:
    await _warm(hooks)
    hooks.faults["uptimerobot"].error_status = 503
    await hooks.client.post(UPTIMEROBOT_PATH, data=ALERT)
    await _settle(hooks)
    up = {**ALERT, "alertType": "2", "alertDateTime": str(NOW_S + 120), "alertDuration": "120"}

    response = await hooks.client.post(UPTIMEROBOT_PATH, data=up)
    await _settle(hooks)

    assert response.status_code == 202
    assert await _monitor_status(hooks, BACKEND_MONITOR_ID) is MonitorStatus.UP
    assert await _api_component_status(hooks) == "operational"


@pytest.mark.parametrize(
    "fields",
    [{**ALERT, "alertType": "3"}, {**ALERT, "monitorID": "123"}],
    ids=["expiry alert", "unknown monitor"],
)
async def test_uptimerobot_alert_without_status_refreshes(
    hooks: Harness, fields: dict[str, str]
) -> None:
    await _warm(hooks)
    version = hooks.app.state.runtime.store.version
    calls_before = hooks.calls["uptimerobot:getMonitors"]
    hooks.faults["uptimerobot"].error_status = 503

    response = await hooks.client.post(UPTIMEROBOT_PATH, data=fields)
    await _settle(hooks)

    assert response.status_code == 202
    assert hooks.app.state.runtime.store.version == version
    assert hooks.calls["uptimerobot:getMonitors"] == calls_before + 1


async def test_uptimerobot_duplicate_has_one_effect(hooks: Harness) -> None:
    await _warm(hooks)
    calls_before = hooks.calls["uptimerobot:getMonitors"]

    first = await hooks.client.post(UPTIMEROBOT_PATH, data=ALERT)
    again = await hooks.client.post(UPTIMEROBOT_PATH, json=ALERT)
    await _settle(hooks)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "refreshing": []}
    assert hooks.calls["uptimerobot:getMonitors"] == calls_before + 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monitorID", "*monitorID*"),
        ("alertType", "7"),
        ("alertDateTime", "2026-12-04 16:00"),
        ("alertDuration", "1.5"),
    ],
)
async def test_uptimerobot_malformed_field_named(hooks: Harness, field: str, value: str) -> None:
    response = await hooks.client.post(UPTIMEROBOT_PATH, data={**ALERT, field: value})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"
    assert f": {field}: " in response.json()["detail"]


async def test_uptimerobot_missing_field_named(hooks: Harness) -> None:
    fields = {name: value for name, value in ALERT.items() if name != "alertDateTime"}

    response = await hooks.client.post(UPTIMEROBOT_PATH, data=fields)

    assert response.status_code == 422
    assert "alertDateTime" in response.json()["detail"]


async def test_uptimerobot_unknown_token_not_found(hooks: Harness) -> None:
    response = await hooks.client.post("/api/v1/webhooks/uptimerobot/guess", data=ALERT)

    assert response.status_code == 404
    assert response.json() == {
        "detail": "No such endpoint: POST /api/v1/webhooks/uptimerobot/guess",
        "code": "not_found",
    }


async def test_uptimerobot_unknown_token_same_as_unconfigured(
    hooks: Harness, make_harness: Callable[..., Any]
) -> None:
    path = "/api/v1/webhooks/uptimerobot/guess"
    wrong = await hooks.client.post(path, data=ALERT)
    async with make_harness() as unconfigured_harness:
        unconfigured = await unconfigured_harness.client.post(path, data=ALERT)

    assert unconfigured.status_code == wrong.status_code
    assert unconfigured.json() == wrong.json()
    assert unconfigured.headers["content-type"] == wrong.headers["content-type"]


async def test_uptimerobot_token_compared_in_constant_time(
    hooks: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    real_compare_digest = hmac.compare_digest

    def spy(left: Any, right: Any) -> bool:
        compared.append((left, right))
        return real_compare_digest(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = await hooks.client.post(f"{UPTIMEROBOT_PATH}x", data=ALERT)
    right = await hooks.client.post(UPTIMEROBOT_PATH, data=ALERT)

    assert wrong.status_code == 404
    assert right.status_code == 202
    assert (TOKEN.encode(), f"{TOKEN}x".encode()) in compared
    assert (TOKEN.encode(), TOKEN.encode()) in compared


async def test_uptimerobot_oversized_body_rejected(hooks: Harness) -> None:
    fields = {**ALERT, "alertDetails": "x" * MAX_BODY_BYTES}

    response = await hooks.client.post(UPTIMEROBOT_PATH, data=fields)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# --- Sentry ----------------------------------------------------------------------------------


async def test_sentry_issue_refreshes_its_project(hooks: Harness) -> None:
    await _warm(hooks)
    backend_before = hooks.calls["sentry:issues:backend"]
    frontend_before = hooks.calls["sentry:issues:frontend"]

    response = await hooks.client.post(
        SENTRY_PATH, content=ISSUE_BODY, headers=_sentry_headers(ISSUE_BODY)
    )
    await _settle(hooks)

    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "refreshing": ["sentry:issues:backend", "sentry:stats:backend"],
    }
    assert hooks.calls["sentry:issues:backend"] == backend_before + 1
    assert hooks.calls["sentry:issues:frontend"] == frontend_before


async def test_sentry_event_alert_refreshes_event_project(hooks: Harness) -> None:
    url = "https://sentry.io/api/0/projects/demo/frontend/events/e4874d664c3540c1a32eab185f12c5ab/"
    body = json.dumps({"action": "triggered", "data": {"event": {"url": url}}}).encode()

    response = await hooks.client.post(
        SENTRY_PATH, content=body, headers=_sentry_headers(body, resource="event_alert")
    )

    assert response.status_code == 202
    assert response.json()["refreshing"] == ["sentry:issues:frontend", "sentry:stats:frontend"]


async def test_sentry_metric_alert_without_project_refreshes_all(hooks: Harness) -> None:
    body = json.dumps({"action": "critical", "data": {"metric_alert": {}}}).encode()

    response = await hooks.client.post(
        SENTRY_PATH, content=body, headers=_sentry_headers(body, resource="metric_alert")
    )

    assert response.status_code == 202
    assert response.json()["refreshing"] == [
        "sentry:issues:backend",
        "sentry:stats:backend",
        "sentry:issues:frontend",
        "sentry:stats:frontend",
    ]


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("installation", b""),
        ("comment", b'{"action":"created","data":{"comment":"looks fixed"}}'),
        ("seer", b'{"action":"anything"}'),
        ("issue", b'{"action":"created","data":{"issue":{"project":{"slug":"mobile"}}}}'),
    ],
    ids=["empty installation", "comment", "unknown resource", "unwatched project"],
)
async def test_sentry_delivery_accepted_and_ignored(
    hooks: Harness, resource: str, body: bytes
) -> None:
    await _warm(hooks)
    version = hooks.app.state.runtime.store.version

    response = await hooks.client.post(
        SENTRY_PATH, content=body, headers=_sentry_headers(body, resource=resource)
    )

    assert response.status_code == 202
    assert response.json() == {"status": "ignored", "refreshing": []}
    assert hooks.app.state.runtime.store.version == version


async def test_sentry_duplicate_request_id_has_one_effect(hooks: Harness) -> None:
    await _warm(hooks)
    backend_before = hooks.calls["sentry:issues:backend"]
    headers = _sentry_headers(ISSUE_BODY)

    first = await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=headers)
    again = await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=headers)
    await _settle(hooks)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "refreshing": []}
    assert hooks.calls["sentry:issues:backend"] == backend_before + 1


async def test_sentry_replay_with_new_request_id_duplicate(hooks: Harness) -> None:
    await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=_sentry_headers(ISSUE_BODY))
    replayed = _sentry_headers(ISSUE_BODY, request_id="7d1e3c88-0000-4000-8000-000000000001")

    response = await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=replayed)

    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"


async def test_sentry_reserialised_body_rejected(hooks: Harness) -> None:
    reserialised = json.dumps(json.loads(ISSUE_BODY), ensure_ascii=False, indent=1).encode()
    assert reserialised != ISSUE_BODY

    response = await hooks.client.post(
        SENTRY_PATH, content=reserialised, headers=_sentry_headers(ISSUE_BODY)
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Sentry webhook rejected: invalid signature.",
        "code": "invalid_signature",
    }


async def test_sentry_missing_signature_rejected(hooks: Harness) -> None:
    headers = _sentry_headers(ISSUE_BODY)
    del headers["Sentry-Hook-Signature"]

    response = await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=headers)

    assert response.status_code == 401
    assert "missing Sentry-Hook-Signature" in response.json()["detail"]
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("offset_s", [-WINDOW_S - 1, WINDOW_S + 1], ids=["old", "future"])
async def test_sentry_stale_timestamp_rejected(hooks: Harness, offset_s: int) -> None:
    headers = _sentry_headers(ISSUE_BODY, timestamp=NOW_S + offset_s)

    response = await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=headers)

    assert response.status_code == 401
    assert response.json()["detail"] == "Sentry webhook rejected: stale timestamp."


async def test_sentry_signed_invalid_json_rejected(hooks: Harness) -> None:
    body = b'{"action": "created", "data": '

    response = await hooks.client.post(SENTRY_PATH, content=body, headers=_sentry_headers(body))

    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid Sentry webhook: body: invalid JSON"


async def test_sentry_oversized_body_rejected(hooks: Harness) -> None:
    body = b'{"padding":"' + b"x" * MAX_BODY_BYTES + b'"}'

    response = await hooks.client.post(SENTRY_PATH, content=body, headers=_sentry_headers(body))

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_sentry_chunked_oversized_body_stops_early(hooks: Harness) -> None:
    body = CountingBody(chunks=10, chunk_bytes=1024)
    headers = _sentry_headers(b"")

    response = await hooks.client.post(SENTRY_PATH, content=body, headers=headers)

    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert body.read == 3


async def test_sentry_declared_oversized_body_not_read(hooks: Harness) -> None:
    body = CountingBody(chunks=10, chunk_bytes=1024)
    headers = {**_sentry_headers(b""), "Content-Length": str(10 * 1024)}

    response = await hooks.client.post(SENTRY_PATH, content=body, headers=headers)

    assert response.status_code == 413
    assert body.read == 0


async def test_sentry_without_secret_not_found(make_harness: Callable[..., Any]) -> None:
    async with make_harness() as harness:
        response = await harness.client.post(
            SENTRY_PATH, content=ISSUE_BODY, headers=_sentry_headers(ISSUE_BODY)
        )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- rejected calls change nothing and leak nothing -------------------------------------------

OVERSIZED_ALERT = {**ALERT, "alertDetails": "x" * MAX_BODY_BYTES}
REJECTED_CALLS = [
    pytest.param("/api/v1/webhooks/uptimerobot/guess", {"data": ALERT}, 404, id="unknown token"),
    pytest.param(UPTIMEROBOT_PATH, {"data": {**ALERT, "alertType": "9"}}, 422, id="bad alert"),
    pytest.param(UPTIMEROBOT_PATH, {"data": OVERSIZED_ALERT}, 413, id="large alert"),
    pytest.param(
        SENTRY_PATH,
        {
            "content": ISSUE_BODY,
            "headers": {**_sentry_headers(ISSUE_BODY), "Sentry-Hook-Signature": "0" * 64},
        },
        401,
        id="forged signature",
    ),
    pytest.param(
        SENTRY_PATH,
        {"content": ISSUE_BODY, "headers": {"Sentry-Hook-Resource": "issue"}},
        401,
        id="no signature",
    ),
    pytest.param(
        SENTRY_PATH,
        {"content": ISSUE_BODY, "headers": _sentry_headers(ISSUE_BODY, timestamp=NOW_S - 3600)},
        401,
        id="old timestamp",
    ),
    pytest.param(
        SENTRY_PATH,
        {"content": b"{", "headers": _sentry_headers(b"{")},
        422,
        id="signed garbage",
    ),
    pytest.param(
        SENTRY_PATH,
        {"content": b"[" * 1500, "headers": _sentry_headers(b"[" * 1500)},
        422,
        id="signed nested JSON",
    ),
    pytest.param(
        UPTIMEROBOT_PATH,
        {"content": b"[" * 1500, "headers": {"Content-Type": "application/json"}},
        422,
        id="nested alert JSON",
    ),
    pytest.param(
        SENTRY_PATH,
        {"content": b"x" * (MAX_BODY_BYTES + 1), "headers": _sentry_headers(b"")},
        413,
        id="large sentry body",
    ),
]


@pytest.mark.parametrize(("path", "request_options", "status_code"), REJECTED_CALLS)
async def test_rejected_call_changes_nothing(
    hooks: Harness, path: str, request_options: dict[str, Any], status_code: int
) -> None:
    await _warm(hooks)
    store = hooks.app.state.runtime.store
    version = store.version
    public_body = (await hooks.client.get("/api/v1/status")).content
    calls = dict(hooks.calls)

    response = await hooks.client.post(path, **request_options)
    await _settle(hooks)

    assert response.status_code == status_code
    assert set(response.json()) == {"detail", "code"}
    assert store.version == version
    assert (await hooks.client.get("/api/v1/status")).content == public_body
    assert dict(hooks.calls) == calls


async def test_webhook_logs_carry_no_secrets(
    hooks: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "payload-marker-3e9d1c"
    forged = {**_sentry_headers(ISSUE_BODY), "Sentry-Hook-Signature": _signature(b"other")}
    alert = {**ALERT, "alertDetails": marker}

    with caplog.at_level(logging.DEBUG):
        await hooks.client.post(UPTIMEROBOT_PATH, data=alert)
        await hooks.client.post(f"{UPTIMEROBOT_PATH}-wrong", data=alert)
        await hooks.client.post(UPTIMEROBOT_PATH, data={**alert, "alertType": "x"})
        await hooks.client.post(SENTRY_PATH, content=ISSUE_BODY, headers=forged)
        await hooks.client.post(
            SENTRY_PATH, content=ISSUE_BODY, headers=_sentry_headers(ISSUE_BODY)
        )
        await _settle(hooks)

    # The test's own HTTP client logs the URLs it requests, webhook token included.
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("app")]
    assert any("webhook rejected" in line for line in lines)
    assert any("webhook accepted" in line for line in lines)
    for secret in (TOKEN, SECRET, _signature(ISSUE_BODY), _signature(b"other"), marker):
        assert not [line for line in lines if secret in line]
