"""Public status endpoints: no auth, cached, identical for every caller, nothing private."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import RuntimeDep
from app.api.errors import error_responses
from app.api.http import public_bytes, public_model
from app.models.api import PublicStatus, StatuspageStatusBody, StatuspageSummary
from app.services.public_view import to_statuspage_status, to_statuspage_summary

router = APIRouter(tags=["public"], responses=error_responses(429, 503))

_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The client's copy (If-None-Match) is current."}
}


@router.get(
    "/api/v1/status",
    response_model=PublicStatus,
    summary="Public status",
    responses=_NOT_MODIFIED,
)
async def get_status(request: Request, runtime: RuntimeDep) -> Response:
    """Overall indicator, components with uptime, active incidents and a banner.

    Safe to show anyone: it has no URLs, monitor ids or error messages. Cached: send the ETag
    back in `If-None-Match` to get `304 Not Modified`. `stale: true` means an upstream is
    failing and the last good data is shown.
    """
    view = await runtime.views.current()
    return public_bytes(request, view.public_body, runtime.settings, etag=view.public_etag)


@router.get(
    "/api/v2/status.json",
    response_model=StatuspageStatusBody,
    summary="Statuspage-compatible status",
    responses=_NOT_MODIFIED,
)
async def get_statuspage_status(request: Request, runtime: RuntimeDep) -> Response:
    """The overall indicator in Atlassian Statuspage's public API v2 shape."""
    view = await runtime.views.current()
    body = to_statuspage_status(view.status, view.snapshot, runtime.settings)
    return public_model(request, body, runtime.settings)


@router.get(
    "/api/v2/summary.json",
    response_model=StatuspageSummary,
    summary="Statuspage-compatible summary",
    responses=_NOT_MODIFIED,
)
async def get_statuspage_summary(request: Request, runtime: RuntimeDep) -> Response:
    """Status, components and unresolved incidents in Statuspage's public API v2 shape."""
    view = await runtime.views.current()
    body = to_statuspage_summary(
        view.status, view.snapshot, runtime.settings, created_at=runtime.started_at
    )
    return public_model(request, body, runtime.settings)
