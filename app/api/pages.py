"""Public pages: the HTML status page, status and uptime badges, and the incident Atom feed.

Each route renders the same cached evaluation as ``GET /api/v1/status``, so a page view costs
no upstream call and shows nothing the JSON status does not.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated

from cachetools import LRUCache
from fastapi import APIRouter, Path, Query, Request, Response

from app.api.deps import RuntimeDep
from app.api.errors import error_doc, error_responses
from app.api.http import public_bytes
from app.errors import DataUnavailable, NotFound
from app.models.status import ComponentStatus, SystemStatus
from app.services import pages
from app.services.public_view import slugify, updated_at
from app.views import etag_of

if TYPE_CHECKING:
    from app.main import Runtime

router = APIRouter(tags=["public pages"], responses=error_responses(429))

# Badges are often shown through image proxies that keep a copy for as long as Cache-Control
# allows, so every view revalidates with the ETag instead.
BADGE_CACHE_CONTROL = "no-cache"
SVG_MEDIA_TYPE = "image/svg+xml"
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"


_NOT_MODIFIED = {"description": "The client's copy (If-None-Match) is current."}
_UNAVAILABLE = error_responses(503)[503]
_UNKNOWN_COMPONENT = error_doc("No public component has this slug.")

# Longer than any public component name gives; only checked while the components are unknown.
MAX_SLUG_LENGTH = 100

ComponentSlug = Annotated[
    str, Path(description="Component id: the slug of its public name, e.g. `api`.")
]


class RenderCache:
    """Rendered bodies and ETags of the latest evaluation, so repeated views skip rendering.

    Entries belong to one ``SystemStatus`` object, and a new evaluation (new snapshot data)
    empties the cache. Keys name the variant, e.g. ``("status", refresh)``. One cache serves
    the process, so two apps in one process take turns instead of sharing entries.
    """

    def __init__(self, maxsize: int = 128) -> None:
        self._status: SystemStatus | None = None
        self._bodies: LRUCache[Hashable, tuple[bytes, str]] = LRUCache(maxsize=maxsize)

    def get(
        self, status: SystemStatus, key: Hashable, render: Callable[[], bytes]
    ) -> tuple[bytes, str]:
        if status is not self._status:
            self._status = status
            self._bodies.clear()
        rendered = self._bodies.get(key)
        if rendered is None:
            body = render()
            rendered = (body, etag_of(body))
            self._bodies[key] = rendered
        return rendered


_rendered = RenderCache()


def _respond(
    request: Request,
    runtime: Runtime,
    status: SystemStatus,
    key: Hashable,
    render: Callable[[], bytes],
    *,
    media_type: str,
    cache_control: str | None = None,
) -> Response:
    body, etag = _rendered.get(status, key, render)
    return public_bytes(
        request,
        body,
        runtime.settings,
        media_type=media_type,
        etag=etag,
        cache_control=cache_control,
    )


def _no_data_badge(
    request: Request, runtime: Runtime, body: bytes, *, media_type: str = SVG_MEDIA_TYPE
) -> Response:
    """Respond to a badge request made before any data exists with a grey ``no data`` badge.

    An <img> or a shields.io badge shows that better than a broken image or a 503.
    """
    return public_bytes(
        request, body, runtime.settings, media_type=media_type, cache_control=BADGE_CACHE_CONTROL
    )


def _check_slug_shape(slug: str) -> None:
    """Reject a slug that no component name could give, before the components are known.

    Without data the badge shows the slug itself, so it must be one ``slugify`` could return:
    that keeps control characters out of the SVG and its length bounded.
    """
    if len(slug) > MAX_SLUG_LENGTH or slugify(slug) != slug:
        raise NotFound(
            f"No component can have the id {slug[:MAX_SLUG_LENGTH]!r}: ids are lowercase letters, "
            f"digits and dashes, at most {MAX_SLUG_LENGTH} characters."
        )


def _component(status: SystemStatus, slug: str) -> ComponentStatus:
    component = pages.find_component(status, slug)
    if component is None:
        known = ", ".join(slugify(item.name) for item in status.components) or "none"
        raise NotFound(f"No component with id {slug!r}. Known ids: {known}.")
    return component


@router.get(
    "/status",
    summary="Status page (HTML)",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}},
            "description": "The status page: overall state, components with 90 daily uptime "
            "bars, uptime figures, and active and past incidents.",
        },
        304: _NOT_MODIFIED,
        422: error_doc("`refresh` is not a whole number of seconds from 10 to 3600."),
        503: {
            "content": {"text/html": {}},
            "description": "No upstream data yet: a short HTML page that reloads itself after "
            "`Retry-After` seconds.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def status_page(
    request: Request,
    runtime: RuntimeDep,
    refresh: Annotated[
        int | None,
        Query(ge=10, le=3600, description="Reload the page every this many seconds."),
    ] = None,
) -> Response:
    """A server-rendered status page for people: readable without JavaScript, light and dark.

    Shows the same data as `GET /api/v1/status` plus daily uptime bars and past incidents, and
    shows a notice when the data is stale. Cached like the JSON status, with an ETag.
    """
    try:
        view = await runtime.views.current()
    except DataUnavailable as exc:
        retry_after = exc.headers.get("Retry-After", "5")
        body = pages.render_unavailable_page(runtime.settings.status_page_name, int(retry_after))
        return Response(
            content=body,
            status_code=503,
            media_type="text/html; charset=utf-8",
            headers={"Retry-After": retry_after, "Cache-Control": "no-store"},
        )

    def render() -> bytes:
        page = pages.build_status_page(
            view.status,
            page_name=runtime.settings.status_page_name,
            updated_at=updated_at(view.snapshot.freshness),
            stale=view.snapshot.stale,
            refresh_s=refresh,
        )
        return pages.render_status_page(page)

    return _respond(
        request, runtime, view.status, ("status", refresh), render, media_type="text/html"
    )


LIVE_SCRIPT = (pathlib.Path(__file__).resolve().parents[1] / "static" / "live.js").read_bytes()


@router.get(
    "/status/live.js",
    include_in_schema=False,
    response_class=Response,
)
async def live_script(request: Request, runtime: RuntimeDep) -> Response:
    """Serve the status page's optional live-update script (an EventSource on the stream)."""
    return public_bytes(
        request, LIVE_SCRIPT, runtime.settings, media_type="text/javascript; charset=utf-8"
    )


@router.get(
    "/badge/status.svg",
    summary="Overall status badge (SVG)",
    response_class=Response,
    responses={
        200: {
            "content": {SVG_MEDIA_TYPE: {}},
            "description": "A flat badge such as `status | operational`, coloured by state.",
        },
        304: _NOT_MODIFIED,
    },
)
async def status_badge(request: Request, runtime: RuntimeDep) -> Response:
    """The overall state as an SVG badge for READMEs and dashboards.

    Colours: operational green, degraded yellow, partial outage orange, major outage red,
    maintenance blue, no data grey. Sent with `Cache-Control: no-cache` and an ETag.
    """
    try:
        view = await runtime.views.current()
    except DataUnavailable:
        return _no_data_badge(request, runtime, pages.render_badge_svg(pages.no_data_badge()))
    return _respond(
        request,
        runtime,
        view.status,
        ("status.svg",),
        lambda: pages.render_badge_svg(pages.status_badge(view.status)),
        media_type=SVG_MEDIA_TYPE,
        cache_control=BADGE_CACHE_CONTROL,
    )


@router.get(
    "/badge/uptime/{component}.svg",
    summary="Component uptime badge (SVG)",
    response_class=Response,
    responses={
        200: {
            "content": {SVG_MEDIA_TYPE: {}},
            "description": "A flat badge such as `API uptime 30d | 99.91%`.",
        },
        304: _NOT_MODIFIED,
        404: _UNKNOWN_COMPONENT,
        422: error_doc("`window` is not one of `24h`, `7d`, `30d`, `90d`."),
    },
)
async def uptime_badge(
    request: Request,
    runtime: RuntimeDep,
    component: ComponentSlug,
    window: Annotated[
        pages.UptimeWindow, Query(description="Uptime window: `24h`, `7d`, `30d` or `90d`.")
    ] = "30d",
) -> Response:
    """One component's uptime over a window as an SVG badge.

    Colours: at least 99.9 % bright green, 99 % green, 97 % yellow, 95 % orange, else red; grey
    without data, also before any upstream data exists. Sent with `Cache-Control: no-cache` and
    an ETag.
    """
    try:
        view = await runtime.views.current()
    except DataUnavailable:
        _check_slug_shape(component)
        badge = pages.no_data_badge(f"{component} uptime {window}")
        return _no_data_badge(request, runtime, pages.render_badge_svg(badge))
    found = _component(view.status, component)
    return _respond(
        request,
        runtime,
        view.status,
        ("uptime.svg", component, window),
        lambda: pages.render_badge_svg(pages.uptime_badge(found, window)),
        media_type=SVG_MEDIA_TYPE,
        cache_control=BADGE_CACHE_CONTROL,
    )


@router.get(
    "/badge/{component}.json",
    summary="Component status for a shields.io endpoint badge",
    response_model=pages.ShieldsEndpoint,
    responses={304: _NOT_MODIFIED, 404: _UNKNOWN_COMPONENT, **error_responses(422)},
)
async def shields_badge(
    request: Request, runtime: RuntimeDep, component: ComponentSlug
) -> Response:
    """One component's state in the shields.io endpoint schema (`schemaVersion` 1).

    Use it as `https://img.shields.io/endpoint?url=<this URL>`. `isError` is true when the
    component has no data; before any upstream data exists the label is the slug. Sent with
    `Cache-Control: no-cache` and an ETag.
    """
    try:
        view = await runtime.views.current()
    except DataUnavailable:
        _check_slug_shape(component)
        body = pages.render_shields(pages.no_data_badge(component))
        return _no_data_badge(request, runtime, body, media_type="application/json")
    found = _component(view.status, component)
    return _respond(
        request,
        runtime,
        view.status,
        ("shields.json", component),
        lambda: pages.render_shields(pages.component_badge(found)),
        media_type="application/json",
        cache_control=BADGE_CACHE_CONTROL,
    )


@router.get(
    "/feed.atom",
    summary="Incident feed (Atom)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/atom+xml": {}},
            "description": "An Atom 1.0 feed of recent incidents, newest change first.",
        },
        304: _NOT_MODIFIED,
        503: _UNAVAILABLE,
    },
)
async def incident_feed(request: Request, runtime: RuntimeDep) -> Response:
    """Recent incidents in public wording as an Atom 1.0 feed, for feed readers and chat tools.

    An entry keeps its id when the incident is resolved; its `updated` time moves instead.
    """
    view = await runtime.views.current()
    settings = runtime.settings

    def render() -> bytes:
        return pages.build_feed(
            pages.recent_public_incidents(view.status),
            page_name=settings.status_page_name,
            page_url=settings.status_page_url,
            data_time=updated_at(view.snapshot.freshness) or view.status.generated_at,
        )

    return _respond(
        request, runtime, view.status, ("feed.atom",), render, media_type=ATOM_MEDIA_TYPE
    )
