"""Admin endpoints for the monitoring dashboard: a bearer JWT with an admin role is required."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import RuntimeDep
from app.api.errors import error_responses
from app.api.http import admin_model
from app.auth import AdminUser
from app.errors import InvalidParameter, NotFound
from app.models.admin import (
    AdminDashboard,
    AlertsBody,
    ErrorPage,
    ErrorStatsBody,
    IncidentsBody,
    MonitorDetail,
    MonitorList,
    PerformanceBody,
    RefreshBody,
    SlaBody,
    SourcesBody,
)
from app.models.upstream import IssueLevel, IssueStatus
from app.services import admin_view
from app.services.public_view import UPSTREAMS

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=error_responses(401, 403, 503))

MAX_PER_PAGE = 100


@router.get("/dashboard", response_model=AdminDashboard, summary="Everything for the dashboard")
async def dashboard(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Overall state and traffic light, components, monitors, open incidents, firing alerts,
    Sentry error counts and performance, and the SLA, in one call."""
    view = await runtime.views.current()
    now = view.status.generated_at
    return admin_model(admin_view.dashboard(view.status, view.snapshot, runtime.settings, now))


@router.get("/monitors", response_model=MonitorList, summary="All monitors")
async def monitors(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Every monitor with its upstream status, derived state, uptime windows and SSL expiry."""
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    return admin_model(MonitorList(**envelope, monitors=view.status.monitors))


@router.get(
    "/monitors/{monitor_id}",
    response_model=MonitorDetail,
    summary="One monitor in detail",
    responses=error_responses(404, 422, descriptions={404: "No monitor with this id."}),
)
async def monitor_detail(
    runtime: RuntimeDep,
    user: AdminUser,
    monitor_id: Annotated[int, Path(ge=1, description="UptimeRobot monitor id.")],
) -> Response:
    """Status, uptime windows, response-time series, recent logs, SSL and maintenance windows."""
    view = await runtime.views.current()
    monitor = admin_view.find_monitor(view.snapshot, monitor_id)
    if monitor is None:
        raise NotFound(f"No monitor with id {monitor_id}.")
    detail = admin_view.monitor_detail(
        view.status, view.snapshot, monitor, view.status.generated_at
    )
    return admin_model(detail)


@router.get(
    "/errors",
    response_model=ErrorPage,
    summary="Sentry issues, filtered and paged",
    responses=error_responses(
        422, descriptions={422: "A parameter is invalid or names an unknown project."}
    ),
)
async def errors(
    runtime: RuntimeDep,
    user: AdminUser,
    project: Annotated[str | None, Query(description="Sentry project slug.")] = None,
    level: Annotated[IssueLevel | None, Query(description="Issue level.")] = None,
    status: Annotated[IssueStatus | None, Query(description="Issue status.")] = None,
    query: Annotated[
        str | None, Query(max_length=200, description="Text in the title, culprit or short id.")
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Issues per page.")] = 25,
) -> Response:
    """Issues of the watched Sentry projects, most recently seen first."""
    if project is not None and project not in runtime.settings.sentry_projects:
        known = ", ".join(runtime.settings.sentry_projects)
        raise InvalidParameter(f"Unknown project {project!r}; expected one of: {known}.")
    view = await runtime.views.current()
    issues = admin_view.filter_issues(
        view.snapshot, project=project, level=level, status=status, query=query
    )
    now = view.status.generated_at
    return admin_model(admin_view.error_page(view.snapshot, issues, page, per_page, now))


@router.get("/errors/stats", response_model=ErrorStatsBody, summary="Error counts per project")
async def error_stats(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Per project: errors over 24 h (hourly series) and over the last 5 minutes against the
    alert threshold."""
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    projects = admin_view.project_errors(view.status, view.snapshot, runtime.settings)
    return admin_model(ErrorStatsBody(**envelope, projects=projects))


@router.get("/performance", response_model=PerformanceBody, summary="Transaction performance")
async def performance(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Per project: transaction count, failure rate, average and p95 duration, LCP p75."""
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    body = PerformanceBody(
        **envelope,
        projects=list(view.snapshot.performance.values()),
        error_rates=view.status.error_rates,
    )
    return admin_model(body)


@router.get("/sla", response_model=SlaBody, summary="SLA targets and error budget")
async def sla(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Each target with its measured value, verdict, budget used and remaining, and the
    month-to-date accounting behind the uptime figure."""
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    return admin_model(SlaBody(**envelope, sla=view.status.sla))


@router.get(
    "/incidents",
    response_model=IncidentsBody,
    summary="Incidents with priority",
    responses=error_responses(422),
)
async def incidents(
    runtime: RuntimeDep,
    user: AdminUser,
    days: Annotated[int, Query(ge=1, le=90, description="Incidents of the last N days.")] = 30,
    open_only: Annotated[bool, Query(description="Only incidents still open.")] = False,
) -> Response:
    """Incidents derived from monitor logs, newest first, with priority, cause and MTTR."""
    view = await runtime.views.current()
    now = view.status.generated_at
    since: datetime = now - timedelta(days=days)
    items = admin_view.incidents_of_window(view.status.incidents, since, open_only)
    envelope = admin_view.envelope(view.snapshot, now)
    return admin_model(IncidentsBody(**envelope, incidents=items, mttr=view.status.mttr))


@router.get("/alerts", response_model=AlertsBody, summary="Alert rules and what fires")
async def alerts(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Every alert rule per monitor or project, with its threshold and whether it fires now."""
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    body = AlertsBody(**envelope, alerts=view.status.alerts, firing=len(view.status.firing_alerts))
    return admin_model(body)


@router.get("/sources", response_model=SourcesBody, summary="Upstream health")
async def sources(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Per upstream: last success and error, latency, rate-limit headroom, cache age per key."""
    view = await runtime.views.current()
    store = runtime.store
    freshness = {key: store.freshness(key) for key in store.keys()}
    blocked: dict[str, datetime | None] = {name: store.blocked_until(name) for name in UPSTREAMS}
    upstreams = admin_view.upstream_health(runtime.recorder.all_health(), freshness, blocked)
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    return admin_model(SourcesBody(**envelope, upstreams=upstreams))


@router.post(
    "/refresh",
    response_model=RefreshBody,
    summary="Refresh every source now",
    responses=error_responses(429),
)
async def refresh(runtime: RuntimeDep, user: AdminUser) -> Response:
    """Fetch every snapshot key now (joining fetches already in flight). Upstream rate limits
    still apply: a rate-limited upstream keeps its data and reports it."""
    refreshed = await runtime.views.refresh_all()
    view = await runtime.views.current()
    envelope = admin_view.envelope(view.snapshot, view.status.generated_at)
    return admin_model(RefreshBody(**envelope, refreshed=refreshed))
