"""Verification and parsing of inbound webhooks from UptimeRobot and Sentry.

Everything here is pure: the caller passes the raw body, the headers and ``now``, and gets typed
values back or an exception. ``WebhookRejected`` means the call failed authentication (401),
``InvalidWebhookPayload`` means an authenticated call carried a malformed field (422).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.models.upstream import MonitorsSnapshot, MonitorStatus

# UptimeRobot sends every variable as a string, and ids and unix times as plain digits.
_DIGITS = re.compile(r"[0-9]{1,19}")
_HOOK_TIMESTAMP = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
# Unix seconds up to the year 9999, so ``datetime.fromtimestamp`` never overflows.
_MAX_UNIX_S = 253_402_300_799
_MAX_FORM_FIELDS = 100
# The path of an event's API URL: /api/0/projects/<org>/<project>/events/<event id>/
_EVENT_API_PATH = re.compile(r"/api/0/projects/[^/]+/(?P<project>[^/]+)/events/")


class WebhookRejected(Exception):
    """Authentication failure of a webhook call. ``reason`` is safe to log and to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidWebhookPayload(ValueError):
    """An authenticated webhook whose ``field`` is missing or malformed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class WebhookReceipt(BaseModel):
    """Outcome of one webhook delivery.

    ``accepted``: the snapshot keys in ``refreshing`` are being refreshed. ``duplicate``: the same
    delivery arrived within the replay window and had no second effect. ``ignored``: the delivery
    was authentic but concerns nothing Lookout shows.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"status": "accepted", "refreshing": ["uptimerobot:monitors"]}
        }
    )

    status: Literal["accepted", "duplicate", "ignored"] = Field(
        description="What Lookout did with the delivery."
    )
    refreshing: list[str] = Field(
        default_factory=list, description="Snapshot keys being refreshed because of it."
    )


# --- shared secrets --------------------------------------------------------------------------


def token_matches(expected: str, candidate: str) -> bool:
    """Compare a path token with the configured one in constant time."""
    return hmac.compare_digest(expected.encode(), candidate.encode())


def sentry_signature(secret: str, body: bytes) -> str:
    """Compute the ``Sentry-Hook-Signature`` of ``body``: lowercase hex HMAC-SHA256."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_sentry_signature(secret: str, body: bytes, signature: str | None) -> None:
    """Raise ``WebhookRejected`` unless ``signature`` signs exactly these raw bytes.

    The body must be the bytes as received: any re-serialised JSON differs in spacing or key
    order and fails. An empty body (Sentry's installation call) is signed as ``b""``.
    """
    if signature is None or not signature.strip():
        raise WebhookRejected("missing Sentry-Hook-Signature header")
    expected = sentry_signature(secret, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected("invalid signature")


def check_hook_timestamp(value: str | None, now: datetime, window_s: float) -> datetime:
    """Parse ``Sentry-Hook-Timestamp`` (unix seconds) and reject it outside ``now ± window_s``.

    The timestamp is not covered by the signature, so it only stops replays of captured calls
    that kept their original header. The delivery log stops the rest within the window.
    """
    if value is None or not value.strip():
        raise WebhookRejected("missing Sentry-Hook-Timestamp header")
    text = value.strip()
    if not _HOOK_TIMESTAMP.fullmatch(text) or float(text) > _MAX_UNIX_S:
        raise WebhookRejected("invalid Sentry-Hook-Timestamp header; expected unix seconds")
    sent_at = datetime.fromtimestamp(float(text), UTC)
    if abs(sent_at - now) > timedelta(seconds=window_s):
        raise WebhookRejected("stale timestamp")
    return sent_at


# --- UptimeRobot -----------------------------------------------------------------------------


class AlertType(IntEnum):
    """UptimeRobot ``alertType``: 1 down, 2 up, 3 SSL certificate or domain expiry."""

    DOWN = 1
    UP = 2
    EXPIRY = 3


class UptimeRobotAlert(BaseModel):
    """One UptimeRobot webhook alert with typed fields, parsed from the strings it arrives as."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    monitor_id: int = Field(alias="monitorID")
    alert_type: AlertType = Field(alias="alertType")
    alert_at: AwareDatetime = Field(alias="alertDateTime")
    alert_details: str | None = Field(default=None, alias="alertDetails", max_length=2000)
    alert_duration_s: int | None = Field(default=None, alias="alertDuration")
    monitor_name: str | None = Field(default=None, alias="monitorFriendlyName", max_length=500)

    @field_validator("monitor_id", mode="before")
    @classmethod
    def _parse_monitor_id(cls, value: Any) -> int:
        return _digits(value, "a monitor id in digits")

    @field_validator("alert_type", mode="before")
    @classmethod
    def _parse_alert_type(cls, value: Any) -> AlertType:
        text = _text(value)
        if text not in ("1", "2", "3"):
            raise ValueError("expected 1 (down), 2 (up) or 3 (SSL or domain expiry)")
        return AlertType(int(text))

    @field_validator("alert_at", mode="before")
    @classmethod
    def _parse_alert_at(cls, value: Any) -> datetime:
        seconds = _digits(value, "unix seconds in digits")
        if seconds > _MAX_UNIX_S:
            raise ValueError("expected unix seconds before the year 10000")
        return datetime.fromtimestamp(seconds, UTC)

    @field_validator("alert_duration_s", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> int | None:
        # Down alerts may leave the duration empty; only up alerts carry it.
        if value is None or _text(value) == "":
            return None
        return _digits(value, "seconds in digits")

    @field_validator("alert_details", "monitor_name", mode="before")
    @classmethod
    def _parse_text(cls, value: Any) -> str | None:
        return None if value is None else _text(value)


def _text(value: Any) -> str:
    """Accept a string, or an integer from a JSON template that left out the quotes."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a string")
    return str(value).strip()


def _digits(value: Any, expected: str) -> int:
    text = _text(value)
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"expected {expected}")
    return int(text)


def uptimerobot_fields(
    query: Iterable[tuple[str, str]], content_type: str | None, body: bytes
) -> dict[str, Any]:
    """Merge an alert's query parameters with its form or JSON body, which wins on a clash.

    UptimeRobot contacts send the variables as a form, as JSON ("send as JSON") or in the URL,
    depending on how the contact was set up. Raises ``InvalidWebhookPayload`` for a body that
    is neither.
    """
    fields: dict[str, Any] = dict(query)
    if not body.strip():
        return fields
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if not media_type:
        is_json = body.lstrip().startswith(b"{")
    if is_json:
        fields.update(_json_object(body))
    elif media_type in ("", "application/x-www-form-urlencoded"):
        fields.update(_form_fields(body))
    else:
        raise InvalidWebhookPayload(
            "body",
            f"unsupported media type {media_type}; send application/x-www-form-urlencoded "
            "or application/json",
        )
    return fields


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidWebhookPayload("body", "invalid JSON") from None
    except RecursionError:
        # A few kilobytes of nested brackets exceed the parser's recursion limit.
        raise InvalidWebhookPayload("body", "JSON nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidWebhookPayload("body", "expected a JSON object")
    return document


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        text = body.decode()
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidWebhookPayload("body", "invalid form data") from None
    return dict(pairs)


def parse_uptimerobot_alert(fields: Mapping[str, Any]) -> UptimeRobotAlert:
    """Validate an alert's fields, raising ``InvalidWebhookPayload`` for the first bad one."""
    try:
        return UptimeRobotAlert.model_validate(dict(fields))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        problem = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidWebhookPayload(field, problem) from None


def uptimerobot_delivery_id(alert: UptimeRobotAlert) -> str:
    """Identify an alert delivery by what it reports, because UptimeRobot sends no delivery id."""
    unix_s = int(alert.alert_at.timestamp())
    key = f"uptimerobot:{alert.monitor_id}:{int(alert.alert_type)}:{unix_s}"
    return hashlib.sha256(key.encode()).hexdigest()


def apply_alert(snapshot: MonitorsSnapshot, alert: UptimeRobotAlert) -> MonitorsSnapshot | None:
    """Return ``snapshot`` with the alerted monitor down or up, or ``None`` when nothing changes.

    An expiry alert, an unknown monitor id and a monitor already in that state change nothing.
    """
    if alert.alert_type is AlertType.DOWN:
        status = MonitorStatus.DOWN
    elif alert.alert_type is AlertType.UP:
        status = MonitorStatus.UP
    else:
        return None

    monitors = list(snapshot.monitors)
    for index, monitor in enumerate(monitors):
        if monitor.id != alert.monitor_id:
            continue
        if monitor.status is status:
            return None
        monitors[index] = monitor.model_copy(update={"status": status})
        return snapshot.model_copy(update={"monitors": monitors})
    return None


# --- Sentry ----------------------------------------------------------------------------------


class SentryResource(StrEnum):
    """``Sentry-Hook-Resource`` values of the integration platform."""

    INSTALLATION = "installation"
    ISSUE = "issue"
    EVENT_ALERT = "event_alert"
    METRIC_ALERT = "metric_alert"
    ERROR = "error"
    COMMENT = "comment"
    ACTIVITY_ALERT = "activity_alert"


# Resources that can change what the status shows: issues and error counts.
REFRESHING_RESOURCES = frozenset(
    {SentryResource.ISSUE, SentryResource.EVENT_ALERT, SentryResource.METRIC_ALERT}
)


def parse_sentry_resource(value: str | None) -> SentryResource | None:
    """Return the known resource named by the header, or ``None`` for any other value."""
    try:
        return SentryResource((value or "").strip().lower())
    except ValueError:
        return None


def parse_sentry_body(body: bytes) -> dict[str, Any]:
    """Parse a verified Sentry body. An empty body (installation calls) becomes ``{}``."""
    if not body.strip():
        return {}
    return _json_object(body)


# A longer Request-ID is kept as its hash.
MAX_PLAIN_REQUEST_ID = 200


def sentry_delivery_ids(body: bytes, request_id: str | None) -> list[str]:
    """Identify a Sentry delivery by the hash of its signed body and by its ``Request-ID``.

    ``Request-ID`` is not signed, so a replay with a new one is still caught by the body hash.
    """
    ids = ["sentry-body:" + hashlib.sha256(body).hexdigest()]
    request_id = (request_id or "").strip()
    if len(request_id) > MAX_PLAIN_REQUEST_ID:
        # Kept short for the logs and the store, yet still telling any two ids apart.
        request_id = "sha256:" + hashlib.sha256(request_id.encode()).hexdigest()
    if request_id:
        ids.append("sentry-request:" + request_id)
    return ids


def sentry_projects(resource: SentryResource, payload: Mapping[str, Any]) -> list[str] | None:
    """Return the project slugs a delivery concerns, or ``None`` when it names none.

    Issues carry ``data.issue.project.slug``. Issue alerts carry the event's API URL, whose path
    names the project. Metric alerts carry ``data.metric_alert.alert_rule.projects``.
    """
    data = _mapping(payload.get("data"))
    if resource is SentryResource.ISSUE:
        project = _mapping(_mapping(data.get("issue")).get("project"))
        return _slugs([project.get("slug")])
    if resource is SentryResource.EVENT_ALERT:
        event = _mapping(data.get("event"))
        return _slugs([_project_of_event_url(event.get("url"))])
    if resource is SentryResource.METRIC_ALERT:
        rule = _mapping(_mapping(data.get("metric_alert")).get("alert_rule"))
        projects = rule.get("projects")
        return _slugs(projects if isinstance(projects, list) else [])
    return None


def _project_of_event_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    match = _EVENT_API_PATH.search(path)
    return match.group("project") if match else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _slugs(values: Iterable[Any]) -> list[str] | None:
    slugs = [value.strip() for value in values if isinstance(value, str) and value.strip()]
    return slugs or None


def projects_to_refresh(
    resource: SentryResource | None, payload: Mapping[str, Any], watched: Iterable[str]
) -> list[str]:
    """Choose the watched projects whose snapshots a delivery makes out of date.

    A delivery that names no project refreshes every watched project, and one that names only
    projects Lookout does not watch refreshes none.
    """
    watched_projects = list(dict.fromkeys(watched))
    if resource is None or resource not in REFRESHING_RESOURCES:
        return []
    named = sentry_projects(resource, payload)
    if named is None:
        return watched_projects
    return [project for project in watched_projects if project in named]
