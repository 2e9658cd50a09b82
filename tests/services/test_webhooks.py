"""Webhook verification and parsing: signatures, timestamps, alert fields and Sentry projects."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.upstream import Monitor, MonitorsSnapshot, MonitorStatus
from app.services.webhooks import (
    AlertType,
    InvalidWebhookPayload,
    SentryResource,
    WebhookRejected,
    apply_alert,
    check_hook_timestamp,
    parse_sentry_body,
    parse_sentry_resource,
    parse_uptimerobot_alert,
    projects_to_refresh,
    sentry_delivery_ids,
    token_matches,
    uptimerobot_delivery_id,
    uptimerobot_fields,
    verify_sentry_signature,
)

SECRET = "client-secret-5b1e0c8d"
NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
WINDOW_S = 300
ALERT = {"monitorID": "790000002", "alertType": "1", "alertDateTime": str(NOW_S)}


def _sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _snapshot() -> MonitorsSnapshot:
    monitors = [
        Monitor(id=1, name="Frontend", status=MonitorStatus.UP),
        Monitor(id=2, name="Backend API", status=MonitorStatus.UP),
    ]
    return MonitorsSnapshot(monitors=monitors, total=2, pages=1)


# --- tokens and signatures -------------------------------------------------------------------


def test_token_matches_equal_token() -> None:
    assert token_matches("a-long-random-token", "a-long-random-token")


def test_token_rejects_prefix_and_other_tokens() -> None:
    assert not token_matches("a-long-random-token", "a-long-random")
    assert not token_matches("a-long-random-token", "a-long-random-tokeN")
    assert not token_matches("a-long-random-token", "")


def test_token_accepts_non_ascii_input() -> None:
    assert not token_matches("a-long-random-token", "jeton-é")


def test_signature_of_json_body_verifies() -> None:
    body = b'{"action":"created","data":{"issue":{"id":"1170820242"}}}'

    verify_sentry_signature(SECRET, body, _sign(body))


def test_signature_of_non_ascii_body_verifies() -> None:
    body = json.dumps({"title": "Zugriff verweigert: Größe ü € 日本"}, ensure_ascii=False).encode()

    verify_sentry_signature(SECRET, body, _sign(body))


def test_signature_of_reserialised_body_fails() -> None:
    body = b'{"action":"created","data":{"issue":{"id":"1"}}}'
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body

    with pytest.raises(WebhookRejected, match="invalid signature"):
        verify_sentry_signature(SECRET, reserialised, _sign(body))


def test_signature_of_empty_body_verifies() -> None:
    verify_sentry_signature(SECRET, b"", _sign(b""))


def test_signature_with_other_secret_fails() -> None:
    body = b'{"action":"created"}'

    with pytest.raises(WebhookRejected, match="invalid signature"):
        verify_sentry_signature(SECRET, body, _sign(body, "another-secret"))


@pytest.mark.parametrize("header", [None, "", "   "])
def test_signature_missing_rejected(header: str | None) -> None:
    with pytest.raises(WebhookRejected, match="missing Sentry-Hook-Signature"):
        verify_sentry_signature(SECRET, b"{}", header)


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize("offset_s", [0, -WINDOW_S, WINDOW_S, -30, 30])
def test_timestamp_within_window_accepted(offset_s: int) -> None:
    sent_at = check_hook_timestamp(str(NOW_S + offset_s), NOW, WINDOW_S)

    assert sent_at == NOW + timedelta(seconds=offset_s)


@pytest.mark.parametrize("offset_s", [-WINDOW_S - 1, -86_400, WINDOW_S + 1, 86_400])
def test_timestamp_outside_window_is_stale(offset_s: int) -> None:
    with pytest.raises(WebhookRejected, match="stale timestamp"):
        check_hook_timestamp(str(NOW_S + offset_s), NOW, WINDOW_S)


def test_timestamp_with_fraction_accepted() -> None:
    sent_at = check_hook_timestamp(f"{NOW_S}.250", NOW, WINDOW_S)

    assert sent_at == NOW + timedelta(milliseconds=250)


@pytest.mark.parametrize("value", ["yesterday", "-1", "1e9", "nan", "99999999999999"])
def test_timestamp_malformed_rejected(value: str) -> None:
    with pytest.raises(WebhookRejected, match="invalid Sentry-Hook-Timestamp"):
        check_hook_timestamp(value, NOW, WINDOW_S)


def test_timestamp_missing_rejected() -> None:
    with pytest.raises(WebhookRejected, match="missing Sentry-Hook-Timestamp"):
        check_hook_timestamp(None, NOW, WINDOW_S)


# --- UptimeRobot alerts ----------------------------------------------------------------------


def test_alert_fields_parsed_to_types() -> None:
    fields = {**ALERT, "alertDetails": "HTTP 503 - Service Unavailable", "alertDuration": ""}

    alert = parse_uptimerobot_alert(fields)

    assert alert.monitor_id == 790000002
    assert alert.alert_type is AlertType.DOWN
    assert alert.alert_at == NOW
    assert alert.alert_details == "HTTP 503 - Service Unavailable"
    assert alert.alert_duration_s is None


def test_alert_duration_parsed_on_up_alert() -> None:
    alert = parse_uptimerobot_alert({**ALERT, "alertType": "2", "alertDuration": "754"})

    assert alert.alert_type is AlertType.UP
    assert alert.alert_duration_s == 754


def test_alert_accepts_unquoted_json_numbers() -> None:
    alert = parse_uptimerobot_alert({"monitorID": 7, "alertType": 3, "alertDateTime": NOW_S})

    assert alert.monitor_id == 7
    assert alert.alert_type is AlertType.EXPIRY


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("monitorID", "*monitorID*"),
        ("monitorID", "12a"),
        ("monitorID", "-5"),
        ("monitorID", "1.0"),
        ("alertType", "4"),
        ("alertType", "down"),
        ("alertType", "0"),
        ("alertDateTime", "2026-12-04T16:00:00Z"),
        ("alertDateTime", "99999999999999"),
        ("alertDuration", "ten"),
        ("monitorID", True),
        ("alertType", {"nested": "1"}),
    ],
)
def test_alert_malformed_field_named(field: str, value: Any) -> None:
    with pytest.raises(InvalidWebhookPayload) as caught:
        parse_uptimerobot_alert({**ALERT, field: value})

    assert caught.value.field == field


@pytest.mark.parametrize("field", ["monitorID", "alertType", "alertDateTime"])
def test_alert_missing_field_named(field: str) -> None:
    fields = {name: value for name, value in ALERT.items() if name != field}

    with pytest.raises(InvalidWebhookPayload) as caught:
        parse_uptimerobot_alert(fields)

    assert caught.value.field == field


def test_fields_from_form_body() -> None:
    body = b"monitorID=790000002&alertType=1&alertDetails=Connection+Timeout"

    fields = uptimerobot_fields([], "application/x-www-form-urlencoded", body)

    assert fields == {
        "monitorID": "790000002",
        "alertType": "1",
        "alertDetails": "Connection Timeout",
    }


def test_fields_from_json_body() -> None:
    body = json.dumps(ALERT).encode()

    fields = uptimerobot_fields([], "application/json; charset=utf-8", body)

    assert fields == ALERT


def test_fields_from_query_only() -> None:
    fields = uptimerobot_fields(list(ALERT.items()), None, b"")

    assert fields == ALERT


def test_fields_body_overrides_query() -> None:
    body = b"alertType=2"

    fields = uptimerobot_fields([("alertType", "1"), ("monitorID", "5")], None, body)

    assert fields == {"alertType": "2", "monitorID": "5"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b'["a list"]'),
        ("application/json", b"\xff\xfe"),
        ("application/x-www-form-urlencoded", b"a=\xff"),
        ("text/xml", b"<alert/>"),
    ],
)
def test_fields_from_bad_body_rejected(content_type: str, body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload) as caught:
        uptimerobot_fields([], content_type, body)

    assert caught.value.field == "body"


def test_deeply_nested_json_rejected() -> None:
    body = b"[" * 50_000 + b"]" * 50_000

    with pytest.raises(InvalidWebhookPayload) as caught:
        parse_sentry_body(body)

    assert caught.value.field == "body"
    assert caught.value.problem == "JSON nested too deeply"


def test_delivery_id_same_for_same_alert() -> None:
    first = parse_uptimerobot_alert(ALERT)
    again = parse_uptimerobot_alert({**ALERT, "alertDetails": "retried"})

    assert uptimerobot_delivery_id(first) == uptimerobot_delivery_id(again)


@pytest.mark.parametrize(
    ("field", "value"),
    [("monitorID", "790000003"), ("alertType", "2"), ("alertDateTime", str(NOW_S + 60))],
)
def test_delivery_id_differs_per_alert(field: str, value: str) -> None:
    first = parse_uptimerobot_alert(ALERT)
    other = parse_uptimerobot_alert({**ALERT, field: value})

    assert uptimerobot_delivery_id(first) != uptimerobot_delivery_id(other)


def test_apply_down_alert_marks_monitor_down() -> None:
    alert = parse_uptimerobot_alert({**ALERT, "monitorID": "2"})

    updated = apply_alert(_snapshot(), alert)

    assert updated is not None
    assert updated.monitors[1].status is MonitorStatus.DOWN
    assert updated.monitors[0].status is MonitorStatus.UP
    assert updated.total == 2


def test_apply_up_alert_marks_monitor_up() -> None:
    down = apply_alert(_snapshot(), parse_uptimerobot_alert({**ALERT, "monitorID": "2"}))
    assert down is not None
    alert = parse_uptimerobot_alert({**ALERT, "monitorID": "2", "alertType": "2"})

    updated = apply_alert(down, alert)

    assert updated is not None
    assert updated.monitors[1].status is MonitorStatus.UP


def test_apply_alert_leaves_input_unchanged() -> None:
    snapshot = _snapshot()

    apply_alert(snapshot, parse_uptimerobot_alert({**ALERT, "monitorID": "2"}))

    assert snapshot.monitors[1].status is MonitorStatus.UP


@pytest.mark.parametrize(
    "fields",
    [
        {**ALERT, "monitorID": "2", "alertType": "3"},
        {**ALERT, "monitorID": "99"},
        {**ALERT, "monitorID": "2", "alertType": "2"},
    ],
    ids=["expiry alert", "unknown monitor", "already in state"],
)
def test_apply_alert_without_change_returns_none(fields: dict[str, str]) -> None:
    assert apply_alert(_snapshot(), parse_uptimerobot_alert(fields)) is None


# --- Sentry deliveries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("issue", SentryResource.ISSUE),
        ("event_alert", SentryResource.EVENT_ALERT),
        (" Metric_Alert ", SentryResource.METRIC_ALERT),
        ("installation", SentryResource.INSTALLATION),
        ("seer", None),
        (None, None),
    ],
)
def test_resource_header_parsed(header: str | None, expected: SentryResource | None) -> None:
    assert parse_sentry_resource(header) is expected


def test_empty_sentry_body_is_empty_object() -> None:
    assert parse_sentry_body(b"") == {}


def test_sentry_body_not_json_rejected() -> None:
    with pytest.raises(InvalidWebhookPayload) as caught:
        parse_sentry_body(b"action=created")

    assert caught.value.field == "body"


def test_issue_refreshes_its_project() -> None:
    payload = {"data": {"issue": {"project": {"id": "1", "slug": "backend"}}}}

    projects = projects_to_refresh(SentryResource.ISSUE, payload, ["backend", "frontend"])

    assert projects == ["backend"]


def test_event_alert_project_from_event_url() -> None:
    url = "https://sentry.io/api/0/projects/acme/frontend/events/e4874d664c3540c1a32eab185f12c5ab/"
    payload = {"data": {"event": {"url": url, "issue_id": "1117540176"}}}

    projects = projects_to_refresh(SentryResource.EVENT_ALERT, payload, ["backend", "frontend"])

    assert projects == ["frontend"]


def test_metric_alert_projects_from_rule() -> None:
    payload = {"data": {"metric_alert": {"alert_rule": {"projects": ["backend", "mobile"]}}}}

    projects = projects_to_refresh(SentryResource.METRIC_ALERT, payload, ["backend", "frontend"])

    assert projects == ["backend"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"data": {"issue": {"project": None}}}, {"data": "text"}, {"data": {"issue": []}}],
)
def test_delivery_without_project_refreshes_all(payload: dict[str, Any]) -> None:
    projects = projects_to_refresh(SentryResource.ISSUE, payload, ["backend", "frontend"])

    assert projects == ["backend", "frontend"]


@pytest.mark.parametrize(
    "url",
    [5, None, "https://[bad/api/0/projects/acme/backend/events/1/", "https://sentry.io/issues/1/"],
)
def test_event_alert_without_usable_url_refreshes_all(url: Any) -> None:
    payload = {"data": {"event": {"url": url}}}

    projects = projects_to_refresh(SentryResource.EVENT_ALERT, payload, ["backend", "frontend"])

    assert projects == ["backend", "frontend"]


def test_delivery_for_unwatched_project_refreshes_none() -> None:
    payload = {"data": {"issue": {"project": {"slug": "mobile"}}}}

    assert projects_to_refresh(SentryResource.ISSUE, payload, ["backend", "frontend"]) == []


@pytest.mark.parametrize(
    "resource",
    [SentryResource.INSTALLATION, SentryResource.COMMENT, SentryResource.ERROR, None],
)
def test_other_resources_refresh_nothing(resource: SentryResource | None) -> None:
    payload = {"data": {"issue": {"project": {"slug": "backend"}}}}

    assert projects_to_refresh(resource, payload, ["backend"]) == []


def test_sentry_ids_hash_and_request_id() -> None:
    ids = sentry_delivery_ids(b"{}", "b7e1c6c2-3f1d-4c1e-9d35-0a4c1c9f7e21")

    assert ids == [
        "sentry-body:" + hashlib.sha256(b"{}").hexdigest(),
        "sentry-request:b7e1c6c2-3f1d-4c1e-9d35-0a4c1c9f7e21",
    ]


def test_sentry_ids_without_request_id() -> None:
    assert sentry_delivery_ids(b"{}", None) == ["sentry-body:" + hashlib.sha256(b"{}").hexdigest()]


# --- arbitrary input -------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
PAYLOADS = st.dictionaries(
    st.sampled_from(["action", "data", "installation", "actor"]), JSON_VALUES, max_size=4
)


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS, resource=st.sampled_from([*SentryResource, None]))
def test_any_sentry_payload_chooses_projects(
    payload: dict[str, Any], resource: SentryResource | None
) -> None:
    projects = projects_to_refresh(resource, payload, ["backend", "frontend"])

    assert set(projects) <= {"backend", "frontend"}


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200) | JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    content_type=st.sampled_from(
        [None, "application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
def test_any_alert_body_parses_or_names_field(body: bytes, content_type: str | None) -> None:
    try:
        parse_uptimerobot_alert(uptimerobot_fields([], content_type, body))
    except InvalidWebhookPayload as exc:
        assert exc.field


def test_long_request_ids_sharing_a_prefix_stay_distinct() -> None:
    first = sentry_delivery_ids(b"{}", "r" * 250 + "1")
    second = sentry_delivery_ids(b"{}", "r" * 250 + "2")

    assert first[1] != second[1]
    assert len(first[1]) < 100
