"""The public status as Server-Sent Events, fed by the process's one status broadcaster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse

from app.api.errors import error_responses
from app.live import LiveUpdates, StatusBroadcaster, StatusEvent

router = APIRouter(tags=["public"])

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def get_broadcaster(request: Request) -> StatusBroadcaster:
    live: LiveUpdates = request.app.state.live
    return live.broadcaster


BroadcasterDep = Annotated[StatusBroadcaster, Depends(get_broadcaster)]


@router.get(
    "/api/v1/status/stream",
    response_class=StreamingResponse,
    summary="Public status as Server-Sent Events",
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "An endless stream of `status` events and `: ping` comments.",
        },
        **error_responses(422, 429),
    },
)
async def stream_status(
    request: Request,
    broadcaster: BroadcasterDep,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """Push the public status (the body of `GET /api/v1/status`) whenever it changes.

    The stream starts with `retry: 5000`, then a `status` event with the current status, then
    one `status` event per change. A `: ping` comment arrives every 15 s while nothing changes.
    A client that reconnects with `Last-Event-ID` equal to the current event's id does not get
    that event again. A client too slow to read its events is disconnected; it may reconnect.
    """
    events = _status_events(request, broadcaster, last_event_id)
    return StreamingResponse(events, media_type="text/event-stream", headers=STREAM_HEADERS)


async def _status_events(
    request: Request, broadcaster: StatusBroadcaster, last_event_id: str | None
) -> AsyncIterator[bytes]:
    """Yield SSE frames until the client leaves, the app stops or the client falls behind.

    A client that leaves cancels this generator while it waits, and the ``finally`` clause then
    unsubscribes it.
    """
    subscription = broadcaster.subscribe()
    try:
        yield f"retry: {broadcaster.retry_ms}\n\n".encode()
        known_id = last_event_id.strip() if last_event_id else None
        pending = subscription.initial
        while True:
            event: StatusEvent | None
            if pending is not None:
                event, pending = pending, None
            else:
                try:
                    event = await subscription.next_event(broadcaster.heartbeat_s)
                except TimeoutError:
                    # Servers that do not report a disconnect while the app waits are caught
                    # here, at the latest one heartbeat after the client left.
                    if await request.is_disconnected():
                        return
                    yield b": ping\n\n"
                    continue
                if event is None:
                    return
            if known_id is not None:
                already_delivered = event.id == known_id
                known_id = None
                if already_delivered:
                    continue
            yield event.encode()
    finally:
        broadcaster.unsubscribe(subscription)
