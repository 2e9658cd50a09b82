"""Admin report endpoints: the weekly monitoring report as JSON, Markdown or an HTML page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import RuntimeDep
from app.api.errors import error_responses
from app.api.http import ADMIN_CACHE_CONTROL, admin_model
from app.auth import AdminUser
from app.models.report import WeeklyReport
from app.reports import WeeklyReports
from app.reports.render import render_html, render_markdown

if TYPE_CHECKING:
    from app.main import Runtime

router = APIRouter(
    prefix="/api/v1/admin/reports", tags=["reports"], responses=error_responses(401, 403)
)

MARKDOWN_TYPE = "text/markdown; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

WeekParam = Annotated[
    str | None,
    Query(
        description=(
            "ISO week `YYYY-Www` in UTC, Monday 00:00 to the next Monday 00:00. Default: the "
            "last complete week. The current week is allowed and marked partial."
        ),
        examples=["2026-W49"],
    ),
]

_ERRORS = error_responses(
    422,
    503,
    descriptions={
        422: "The week is malformed, has not started, or is older than 90 days.",
        503: "No data for the week can be had yet; retry after `Retry-After` seconds.",
    },
)


async def _weekly_report(runtime: Runtime, week: str | None) -> WeeklyReport:
    reports = WeeklyReports.from_runtime(runtime)
    return await reports.build(reports.resolve_week(week))


def _text(body: str, media_type: str) -> Response:
    return Response(
        content=body,
        media_type=media_type,
        headers={"Cache-Control": ADMIN_CACHE_CONTROL, "Vary": "Accept"},
    )


def _prefers_markdown(accept: str | None) -> bool:
    """Return whether the ``Accept`` header ranks ``text/markdown`` above JSON."""
    quality = {"text/markdown": 0.0, "application/json": 0.0}
    for part in (accept or "").split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        value = 1.0
        for parameter in parameters:
            name, _, text = parameter.partition("=")
            if name.strip() == "q":
                try:
                    value = float(text)
                except ValueError:
                    value = 0.0
        if media in quality:
            quality[media] = max(quality[media], value)
    return quality["text/markdown"] > quality["application/json"]


@router.get(
    "/weekly",
    response_model=WeeklyReport,
    summary="Weekly monitoring report",
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        **_ERRORS,
    },
)
async def weekly(
    request: Request, runtime: RuntimeDep, user: AdminUser, week: WeekParam = None
) -> Response:
    """The week's targets with verdicts and the change from the previous week, the error
    budget per month, incidents, alerts that fired, Sentry errors and issues, daily response
    times per monitor and expiring certificates. Send `Accept: text/markdown` for Markdown."""
    report = await _weekly_report(runtime, week)
    if _prefers_markdown(request.headers.get("accept")):
        return _text(render_markdown(report), MARKDOWN_TYPE)
    response = admin_model(report)
    response.headers["Vary"] = "Accept"
    return response


@router.get(
    "/weekly.md",
    summary="Weekly monitoring report as Markdown",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}, **_ERRORS},
)
async def weekly_markdown(runtime: RuntimeDep, user: AdminUser, week: WeekParam = None) -> Response:
    """The weekly report as Markdown with tables, for a wiki page or a chat message."""
    report = await _weekly_report(runtime, week)
    return _text(render_markdown(report), MARKDOWN_TYPE)


@router.get(
    "/weekly.html",
    summary="Weekly monitoring report as an HTML page",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **_ERRORS},
)
async def weekly_html(runtime: RuntimeDep, user: AdminUser, week: WeekParam = None) -> Response:
    """The weekly report as one self-contained HTML page (inline CSS and SVG charts) that
    prints well."""
    report = await _weekly_report(runtime, week)
    target_ms = runtime.settings.sla_response_time_target_ms
    return _text(render_html(report, response_target_ms=target_ms), HTML_TYPE)
