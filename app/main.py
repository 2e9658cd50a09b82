"""The application factory and its lifespan: one HTTP client, the store, the poller.

``create_app(settings)`` builds the FastAPI app; nothing is read from the environment here. In
demo mode the real source clients talk to the built-in simulator through ``httpx.ASGITransport``,
so demo data crosses exactly the same parsing code as production data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from app.api import admin, compat, ops, pages, public, reports, stream, webhooks
from app.api.errors import install_error_handlers
from app.api.fast_status import STATUS_PATH, CachedStatusResponder
from app.api.http import cors_enabled
from app.auth import TokenVerifier
from app.config import Settings
from app.demo.sentry_sim import DEMO_ORG
from app.live import LiveUpdates
from app.observability import Observability, install_observability
from app.sources.base import CallRecorder
from app.sources.sentry import SentrySource
from app.sources.uptimerobot import UptimeRobotSource
from app.store.base import SnapshotStore
from app.store.fanout import store_from_settings
from app.store.poller import Poller
from app.views import StatusViews, register_snapshot_keys

logger = logging.getLogger(__name__)

DEMO_UPSTREAM_HOST = "http://simulator.lookout.invalid"
DEMO_UPTIMEROBOT_KEY = "ur-demo-read-only-key"
DEMO_SENTRY_TOKEN = "demo-sentry-integration-token"  # noqa: S105

WARM_UP_TIMEOUT_S = 5.0

Clock = Callable[[], datetime]


@dataclass
class Runtime:
    """Everything the lifespan creates; routers reach it through ``request.app.state.runtime``."""

    settings: Settings
    http_client: httpx.AsyncClient
    recorder: CallRecorder
    store: SnapshotStore
    uptimerobot: UptimeRobotSource
    sentry: SentrySource
    views: StatusViews
    poller: Poller | None
    started_at: datetime


class LookoutApp(FastAPI):
    """FastAPI that serves a warm ``GET /api/v1/status`` before any middleware runs.

    That one response is the same precomputed bytes for every caller, and the busiest request a
    status service gets; ``CachedStatusResponder`` still applies its rate limit, metrics and log
    line. Every other request, and this one when the cached view has expired, takes the usual
    path through the middleware and the router.
    """

    fast_status: CachedStatusResponder | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and scope["path"] not in NO_HEAD:
            # Uptime checkers (UptimeRobot's HTTP monitors included) send HEAD by default, so it
            # is served as the GET it stands for, without the body.
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        fast_status = self.fast_status
        if (
            fast_status is not None
            and scope["type"] == "http"
            and scope["path"] == STATUS_PATH
            and await fast_status.serve(scope, send)
        ):
            return
        await super().__call__(scope, receive, send)

    def end_streams(self) -> None:
        """End the open status streams, as the server stops, before it waits for connections.

        uvicorn lets open requests finish before it runs the app's shutdown, and an event stream
        never finishes on its own: it would hold the stop for the whole grace period and then
        be cancelled with an error.
        """
        live: LiveUpdates | None = getattr(self.state, "live", None)
        if live is not None:
            live.broadcaster.end_streams()


# Paths whose GET never ends (an event stream), so a HEAD there is left to return 405.
NO_HEAD = frozenset({"/api/v1/status/stream"})


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_http_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """Build the process's one upstream client, with explicit timeouts and pool limits."""
    timeout = httpx.Timeout(
        connect=settings.http_connect_timeout_seconds,
        read=settings.http_read_timeout_seconds,
        write=settings.http_read_timeout_seconds,
        pool=settings.http_pool_timeout_seconds,
    )
    limits = httpx.Limits(
        max_connections=settings.http_max_connections,
        max_keepalive_connections=settings.http_max_connections,
    )
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        transport=transport,
        headers={"User-Agent": "lookout/0.1"},
        follow_redirects=False,
    )


def _demo_transport(clock: Clock) -> httpx.AsyncBaseTransport:
    from app.demo.app import create_simulator

    return httpx.ASGITransport(app=create_simulator(clock=clock))


def _effective_settings(settings: Settings) -> Settings:
    """Point demo mode's sources at the simulator; production settings pass through."""
    if not settings.demo_mode:
        return settings
    return settings.model_copy(
        update={
            "uptimerobot_base_url": f"{DEMO_UPSTREAM_HOST}/v2",
            "sentry_base_url": DEMO_UPSTREAM_HOST,
            "sentry_org": DEMO_ORG,
        }
    )


def build_runtime(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = _utc_now,
    observability: Observability | None = None,
) -> Runtime:
    """Create the client, sources, store and views, without starting anything."""
    settings = _effective_settings(settings)
    if settings.demo_mode and transport is None:
        transport = _demo_transport(clock)
    client = build_http_client(settings, transport)
    recorder = CallRecorder(clock=clock)
    if observability is not None:
        recorder.add_observer(observability.upstream_observer)

    uptimerobot_key = None if settings.uptimerobot_api_key else DEMO_UPTIMEROBOT_KEY
    sentry_token = None if settings.sentry_auth_token else DEMO_SENTRY_TOKEN
    uptimerobot = UptimeRobotSource(client, settings, recorder, api_key=uptimerobot_key)
    sentry = SentrySource(client, settings, recorder, token=sentry_token)

    store = store_from_settings(settings, wall_clock=clock)
    register_snapshot_keys(store, settings, uptimerobot, sentry)
    read_observer = observability.snapshot_read_observer if observability else None
    views = StatusViews(store, settings, clock=clock, read_observer=read_observer)
    poller = Poller(store) if settings.poller_enabled else None
    return Runtime(
        settings=settings,
        http_client=client,
        recorder=recorder,
        store=store,
        uptimerobot=uptimerobot,
        sentry=sentry,
        views=views,
        poller=poller,
        started_at=clock(),
    )


async def _warm_up(runtime: Runtime) -> None:
    """Resolve Sentry's project ids before serving, so a cold read fans out in one round.

    Bounded, and never fatal: if Sentry is slow or down, the first fetch loads the ids itself.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WARM_UP_TIMEOUT_S):
            await runtime.sentry.warm_up()


async def _prime_routes(app: FastAPI) -> None:
    """Route one request that matches nothing, straight to the router, before serving.

    FastAPI 0.165 builds each route's dependency and parameter state the first time a request
    is matched against it, about 20 ms for this app; doing it here keeps that off the first
    caller's latency. The request skips the middleware, so it is neither logged nor counted.
    """
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.lookout-prime-routes",
        "raw_path": b"/.lookout-prime-routes",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(message: Message) -> None:
        return None

    # Without "app" in the scope, Starlette sends the 404 itself instead of raising it.
    await app.router(scope, receive, discard)


def _install_cors(app: FastAPI, settings: Settings) -> None:
    """Configured origins may call every endpoint; demo mode alone opens public GETs to all."""
    if not cors_enabled(settings):
        return
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    else:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET"],
            allow_headers=["If-None-Match"],
            expose_headers=["ETag"],
            max_age=600,
        )


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = _utc_now,
) -> LookoutApp:
    """Build the Lookout app; ``transport`` and ``clock`` are seams for tests and benchmarks."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(
            settings, transport=transport, clock=clock, observability=observability
        )
        app.state.runtime = runtime
        app.state.token_verifier = TokenVerifier(runtime.settings, runtime.http_client)
        app.state.live = LiveUpdates(runtime.store, runtime.views, runtime.settings, clock=clock)
        await _warm_up(runtime)
        await _prime_routes(app)
        fast_status.start(runtime)
        if runtime.poller is not None:
            await runtime.poller.start()
        logger.info(
            "lookout started demo_mode=%s poller=%s",
            runtime.settings.demo_mode,
            runtime.poller is not None,
        )
        try:
            yield
        finally:
            await fast_status.stop()
            await app.state.live.close()
            if runtime.poller is not None:
                await runtime.poller.stop()
            await runtime.store.close()
            await runtime.http_client.aclose()
            logger.info("lookout stopped")

    app = LookoutApp(
        title="Lookout",
        version="1.0.0",
        summary="One fast, safe status API over UptimeRobot and Sentry.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Observability goes in before CORS, so CORS is the outer layer and a 429 carries its headers.
    observability = install_observability(app, settings)
    _install_cors(app, settings)
    fast_status = app.fast_status = CachedStatusResponder(observability)
    app.include_router(public.router)
    app.include_router(compat.public_router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(compat.admin_router)
    app.include_router(reports.router)
    app.include_router(ops.router)
    app.include_router(webhooks.router)
    app.include_router(stream.router)
    return app
