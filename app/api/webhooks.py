"""Inbound webhooks: UptimeRobot alert contacts and Sentry integration hooks.

Each call is authenticated before its body is parsed and returns at once, while its refresh runs
in the background through the snapshot store. Rejected calls are logged by source and reason only:
never the token, the signature or the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.api.deps import RuntimeDep
from app.api.errors import error_doc
from app.errors import InvalidParameter, LookoutError, PayloadTooLarge
from app.live import LiveUpdates
from app.services.webhooks import (
    REFRESHING_RESOURCES,
    InvalidWebhookPayload,
    WebhookReceipt,
    WebhookRejected,
    check_hook_timestamp,
    parse_sentry_body,
    parse_sentry_resource,
    parse_uptimerobot_alert,
    sentry_delivery_ids,
    token_matches,
    uptimerobot_fields,
    verify_sentry_signature,
)

router = APIRouter(tags=["webhooks"])


class InvalidSignature(LookoutError):
    """A webhook whose signature or timestamp failed verification (no Bearer challenge)."""

    status_code = 401
    code = "invalid_signature"


def get_live(request: Request) -> LiveUpdates:
    live: LiveUpdates = request.app.state.live
    return live


LiveDep = Annotated[LiveUpdates, Depends(get_live)]


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookReceipt, "description": "A duplicate delivery, which changed nothing."},
    404: error_doc("Webhooks of this source are not configured, or the token is unknown."),
    413: error_doc("The body exceeds `WEBHOOK_MAX_BODY_BYTES`."),
    422: error_doc("A field is missing or malformed, and the detail names it."),
}


async def read_body(request: Request, max_bytes: int, live: LiveUpdates, source: str) -> bytes:
    """Read the raw body, rejecting it with 413 as soon as it is known to exceed ``max_bytes``.

    A declared ``Content-Length`` is checked first, and the bytes are counted as they arrive
    too, because a chunked body declares no length.
    """
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        live.rejections.note(source, "body too large")
        raise _too_large(max_bytes)

    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                live.rejections.note(source, "body too large")
                raise _too_large(max_bytes)
    except ClientDisconnect:
        raise InvalidParameter("The request body ended early; the client disconnected.") from None
    return bytes(body)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body exceeds {max_bytes} bytes, the limit WEBHOOK_MAX_BODY_BYTES sets."
    )


def _not_found() -> StarletteHTTPException:
    # The same error the router raises for a path that does not exist, so a caller cannot tell
    # an unknown token from an unconfigured or missing endpoint.
    return StarletteHTTPException(status_code=404)


def _receipt_response(receipt: WebhookReceipt) -> JSONResponse:
    status_code = 200 if receipt.status == "duplicate" else 202
    return JSONResponse(
        receipt.model_dump(mode="json"),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/api/v1/webhooks/uptimerobot/{token}",
    status_code=202,
    response_model=WebhookReceipt,
    summary="UptimeRobot alert webhook",
    responses=_RESPONSES,
)
async def receive_uptimerobot_alert(
    token: str, request: Request, runtime: RuntimeDep, live: LiveDep
) -> JSONResponse:
    """Receive an UptimeRobot webhook alert. The path token must equal `UPTIMEROBOT_WEBHOOK_TOKEN`.

    Send `monitorID`, `alertType` (1 down, 2 up, 3 expiry) and `alertDateTime` (unix seconds)
    as a form, as JSON or as query parameters. A down or up alert changes the monitor's status
    at once, and a refresh from UptimeRobot follows in the background. The same alert delivered
    again within `WEBHOOK_REPLAY_WINDOW_SECONDS` returns 200 `duplicate` and does nothing.
    """
    configured = runtime.settings.uptimerobot_webhook_token
    if configured is None or not token_matches(configured.get_secret_value(), token):
        live.rejections.note("uptimerobot", "unknown token")
        raise _not_found()

    body = await read_body(request, runtime.settings.webhook_max_body_bytes, live, "uptimerobot")
    try:
        fields = uptimerobot_fields(
            request.query_params.multi_items(), request.headers.get("content-type"), body
        )
        alert = parse_uptimerobot_alert(fields)
    except InvalidWebhookPayload as exc:
        live.rejections.note("uptimerobot", f"invalid {exc.field}")
        raise InvalidParameter(f"Invalid UptimeRobot alert: {exc.field}: {exc.problem}") from None

    receipt = await live.accept_uptimerobot_alert(alert)
    return _receipt_response(receipt)


@router.post(
    "/api/v1/webhooks/sentry",
    status_code=202,
    response_model=WebhookReceipt,
    summary="Sentry integration webhook",
    responses={
        **_RESPONSES,
        401: error_doc("The signature is missing or wrong, or the timestamp is stale."),
    },
)
async def receive_sentry_hook(request: Request, runtime: RuntimeDep, live: LiveDep) -> JSONResponse:
    """Receive a Sentry internal-integration webhook signed with `SENTRY_WEBHOOK_SECRET`.

    `Sentry-Hook-Signature` must be the HMAC-SHA256 of the raw body and
    `Sentry-Hook-Timestamp` within `WEBHOOK_REPLAY_WINDOW_SECONDS` of now. `issue`,
    `event_alert` and `metric_alert` deliveries refresh that project's issues and error
    counts. Other resources, `installation` included, are accepted and ignored.
    """
    configured = runtime.settings.sentry_webhook_secret
    if configured is None:
        live.rejections.note("sentry", "not configured")
        raise _not_found()

    body = await read_body(request, runtime.settings.webhook_max_body_bytes, live, "sentry")
    headers = request.headers
    try:
        verify_sentry_signature(
            configured.get_secret_value(), body, headers.get("sentry-hook-signature")
        )
        check_hook_timestamp(
            headers.get("sentry-hook-timestamp"),
            live.now(),
            runtime.settings.webhook_replay_window_seconds,
        )
    except WebhookRejected as exc:
        live.rejections.note("sentry", exc.reason)
        raise InvalidSignature(f"Sentry webhook rejected: {exc.reason}.") from None

    resource = parse_sentry_resource(headers.get("sentry-hook-resource"))
    payload: dict[str, Any] = {}
    if resource is not None and resource in REFRESHING_RESOURCES:
        try:
            payload = parse_sentry_body(body)
        except InvalidWebhookPayload as exc:
            live.rejections.note("sentry", f"invalid {exc.field}")
            raise InvalidParameter(f"Invalid Sentry webhook: {exc.field}: {exc.problem}") from None

    delivery_ids = sentry_delivery_ids(body, headers.get("request-id"))
    receipt = await live.accept_sentry_hook(resource, payload, delivery_ids)
    return _receipt_response(receipt)
