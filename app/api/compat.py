"""The paths and shapes the existing front end already reads (`/api/monitoring/*`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import RuntimeDep
from app.api.errors import error_responses
from app.api.http import admin_model, public_model
from app.auth import AdminUser
from app.models.api import LegacyErrorStats, LegacyIncidents, LegacyStatus
from app.services.public_view import to_legacy_incidents, to_legacy_status

public_router = APIRouter(
    prefix="/api/monitoring", tags=["compatibility"], responses=error_responses(429, 503)
)
admin_router = APIRouter(
    prefix="/api/monitoring", tags=["compatibility"], responses=error_responses(401, 403, 503)
)

BACKEND_PROJECT = "backend"
FRONTEND_PROJECT = "frontend"


@public_router.get(
    "/public-status",
    response_model=LegacyStatus,
    summary="Legacy public status",
    responses={304: {"description": "The client's copy (If-None-Match) is current."}},
)
async def public_status(request: Request, runtime: RuntimeDep) -> Response:
    """One row per public component; `overall_status` is `operational` unless something is
    down or degraded (a paused monitor is not)."""
    view = await runtime.views.current()
    return public_model(request, to_legacy_status(view.status, view.snapshot), runtime.settings)


@admin_router.get("/system-status", response_model=LegacyStatus, summary="Legacy system status")
async def system_status(runtime: RuntimeDep, user: AdminUser) -> Response:
    """The same rows as the public variant, for the admin page that already reads this path."""
    view = await runtime.views.current()
    return admin_model(to_legacy_status(view.status, view.snapshot))


@admin_router.get("/error-stats", response_model=LegacyErrorStats, summary="Legacy error counts")
async def error_stats(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Accepted Sentry errors over 24 h for the backend and frontend projects.

    The projects are the first and second of `SENTRY_PROJECTS`; a missing project counts 0.
    """
    view = await runtime.views.current()
    projects = runtime.settings.sentry_projects
    backend = projects[0] if projects else BACKEND_PROJECT
    frontend = projects[1] if len(projects) > 1 else FRONTEND_PROJECT
    stats = view.snapshot.error_stats
    body = LegacyErrorStats(
        backend_errors_24h=stats[backend].total_24h if backend in stats else 0,
        frontend_errors_24h=stats[frontend].total_24h if frontend in stats else 0,
        updated_at=max(
            (
                item.fetched_at
                for key, item in view.snapshot.freshness.items()
                if key.startswith("sentry:stats:") and item.fetched_at is not None
            ),
            default=None,
        ),
    )
    return admin_model(body)


@admin_router.get("/incidents", response_model=LegacyIncidents, summary="Legacy incidents")
async def incidents(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Incidents derived from the monitor logs, newest first."""
    view = await runtime.views.current()
    return admin_model(to_legacy_incidents(view.status.incidents))
