"""The upstream simulator: fake UptimeRobot v2 and Sentry on one FastAPI app, with fault knobs.

Demo mode reaches it through ``httpx.ASGITransport``; ``lookout simulate`` serves it on a port.
Faults come from two places: a ``FaultPlan`` per upstream (``PUT /_simulator/faults/{upstream}``)
and per-request headers (``X-Simulator-Fault``, ``X-Simulator-Latency-Ms``). Paths under
``/v2/`` belong to UptimeRobot and paths under ``/api/0/`` to Sentry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.demo.sentry_sim import build_sentry_router
from app.demo.state import UPSTREAMS, FaultPlan, SimulatorState, utc_now
from app.demo.uptimerobot_sim import build_uptimerobot_router
from app.demo.world import DemoWorld

logger = logging.getLogger(__name__)

FAULT_HEADER = "X-Simulator-Fault"
LATENCY_HEADER = "X-Simulator-Latency-Ms"
HEADER_FAULTS = ("500", "503", "429", "malformed", "stat_fail", "timeout")
# Longer than Lookout's default read timeout (10 s), so a header-triggered timeout trips it.
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRY_AFTER = "6"
MAX_LATENCY_MS = 120_000

_MALFORMED_BODIES = {
    # Truncated mid-object, as a proxy that drops the connection would leave it.
    "uptimerobot": b'{"stat":"ok","pagination":{"offset":0,"limit":50},"monitors":[{"id":1,',
    "sentry": b'[{"id":"1","shortId":"BACKEND-1","title":',
}


def upstream_for_path(path: str) -> str | None:
    """Return the upstream that a request path belongs to, or ``None`` for the simulator's own."""
    if path.startswith("/v2/"):
        return "uptimerobot"
    if path.startswith("/api/0/"):
        return "sentry"
    return None


def effective_plan(plan: FaultPlan, headers: Headers, upstream: str) -> FaultPlan:
    """Apply a request's ``X-Simulator-*`` headers on top of its upstream's plan.

    Raises ``ValueError`` for a header value the simulator does not know.
    """
    fault = headers.get(FAULT_HEADER)
    if fault is not None:
        fault = fault.strip().lower()
        if fault in ("500", "503"):
            plan = replace(plan, error_status=int(fault))
        elif fault == "429":
            plan = replace(
                plan, rate_limit_retry_after=plan.rate_limit_retry_after or DEFAULT_RETRY_AFTER
            )
        elif fault == "malformed":
            plan = replace(plan, malformed=True)
        elif fault == "stat_fail":
            if upstream != "uptimerobot":
                raise ValueError(f"{FAULT_HEADER} stat_fail applies to UptimeRobot only")
            plan = replace(plan, stat_fail=True)
        elif fault == "timeout":
            plan = replace(plan, timeout_s=plan.timeout_s or DEFAULT_TIMEOUT_S)
        else:
            raise ValueError(
                f"{FAULT_HEADER} is invalid: {fault!r}; expected one of {', '.join(HEADER_FAULTS)}"
            )

    latency = headers.get(LATENCY_HEADER)
    if latency is not None:
        if not latency.strip().isdigit() or int(latency) > MAX_LATENCY_MS:
            raise ValueError(
                f"{LATENCY_HEADER} is invalid: {latency!r}; expected milliseconds "
                f"from 0 to {MAX_LATENCY_MS}"
            )
        plan = replace(plan, latency_ms=int(latency))
    return plan


async def fault_response(plan: FaultPlan, upstream: str) -> Response | None:
    """Wait out the plan's latency and timeout, then return the faulty response, if any.

    ``stat_fail`` only applies to UptimeRobot. ``bad_key`` is handled by the routes: UptimeRobot's
    error echoes the key of the request body, and Sentry's is its authentication check.
    """
    if plan.latency_ms > 0:
        await asyncio.sleep(plan.latency_ms / 1000)
    if plan.timeout_s > 0:
        await asyncio.sleep(plan.timeout_s)

    if plan.error_status is not None:
        return Response(
            f"<html><body><h1>{plan.error_status} simulated upstream error</h1></body></html>",
            status_code=plan.error_status,
            media_type="text/html",
        )
    if plan.rate_limit_retry_after is not None:
        return _rate_limited(plan.rate_limit_retry_after, upstream)
    if plan.malformed:
        return Response(_MALFORMED_BODIES[upstream], media_type="application/json")
    if plan.stat_fail and upstream == "uptimerobot":
        return JSONResponse(
            {"stat": "fail", "error": {"type": "internal_error", "message": "Internal error."}}
        )
    return None


def _rate_limited(retry_after: str, upstream: str) -> Response:
    headers = {"Retry-After": retry_after}
    if upstream == "uptimerobot":
        headers["X-RateLimit-Remaining"] = "0"
    else:
        headers["X-Sentry-Rate-Limit-Remaining"] = "0"
    return Response(
        f"Rate limit exceeded, retry in {retry_after} seconds",
        status_code=429,
        media_type="text/html",
        headers=headers,
    )


class FaultMiddleware:
    """Count every upstream request, then apply its upstream's faults before the route runs.

    Each request to an upstream path counts under the upstream's name (``uptimerobot``,
    ``sentry``), faulty or not. UptimeRobot requests also count under ``uptimerobot:<method>``.
    """

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = upstream_for_path(scope["path"]) if scope["type"] == "http" else None
        if upstream is None:
            await self.app(scope, receive, send)
            return

        self.state.count(upstream)
        if upstream == "uptimerobot":
            self.state.count(f"uptimerobot:{scope['path'].rstrip('/').rsplit('/', 1)[-1]}")

        try:
            plan = effective_plan(self.state.fault(upstream), Headers(scope=scope), upstream)
        except ValueError as exc:
            logger.warning("simulator rejected fault headers path=%s error=%s", scope["path"], exc)
            await JSONResponse({"detail": str(exc)}, status_code=400)(scope, receive, send)
            return

        response = await fault_response(plan, upstream)
        try:
            if response is None:
                await self.app(scope, receive, send)
            else:
                await response(scope, receive, send)
        except ClientDisconnect:
            # The client gave up, typically during a latency or timeout fault, which is what
            # those faults are for, so no client is left to respond to.
            logger.info("simulator client left before its response path=%s", scope["path"])


class FaultPlanBody(BaseModel):
    """A fault plan as ``PUT /_simulator/faults/{upstream}`` accepts it."""

    # Strict, so that true is not taken for 1. NaN and infinities are rejected.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    latency_ms: int = Field(default=0, ge=0, le=MAX_LATENCY_MS)
    error_status: int | None = Field(default=None, ge=400, le=599)
    rate_limit_retry_after: str | None = Field(
        default=None,
        max_length=100,
        # Printable ASCII only: anything else cannot be sent in a header.
        pattern=r"^[\x20-\x7e]*$",
        description="Sent as is, so garbage values can be tested; a number is sent as its text.",
    )
    malformed: bool = False
    stat_fail: bool = Field(default=False, description="UptimeRobot only: `stat: fail`.")
    bad_key: bool = Field(
        default=False, description="UptimeRobot: `stat: fail` for the key; Sentry: 401."
    )
    timeout_s: float = Field(default=0, ge=0, le=600)

    @field_validator("rate_limit_retry_after", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        # A Retry-After of seconds is naturally written as a number in the request body.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


def _control_router(state: SimulatorState) -> APIRouter:
    router = APIRouter(prefix="/_simulator", tags=["simulator control"])

    @router.get("/stats", summary="Upstream call counts and fault plans")
    async def stats() -> dict[str, Any]:
        return {
            "calls": dict(state.calls),
            "faults": {name: plan.as_dict() for name, plan in state.faults.items()},
            "now": state.clock().isoformat(),
            "anchor": state.world.anchor.isoformat(),
        }

    @router.put("/faults/{upstream}", summary="Replace the fault plan of one upstream")
    async def put_faults(upstream: str, body: FaultPlanBody) -> dict[str, Any]:
        if upstream not in UPSTREAMS:
            raise HTTPException(
                status_code=404,
                detail=f"upstream {upstream!r} not found; expected one of {', '.join(UPSTREAMS)}",
            )
        if upstream == "sentry" and body.stat_fail:
            raise HTTPException(
                status_code=422,
                detail="stat_fail applies to UptimeRobot only; use error_status or bad_key "
                "for Sentry",
            )
        plan = FaultPlan(**body.model_dump())
        state.faults[upstream] = plan
        logger.info("simulator fault plan set upstream=%s plan=%s", upstream, plan.as_dict())
        return plan.as_dict()

    @router.post("/reset", summary="Clear every fault plan and call count")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"calls": dict(state.calls)}

    return router


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """Return a 422 that names each problem, without echoing the input.

    FastAPI's own response echoes it, and a NaN there made the simulator fail with a 500.
    """
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


def create_simulator(
    world: DemoWorld | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """Build the simulator app over ``world`` (default: a world anchored at ``clock()``).

    ``clock`` only moves the simulator's "now". The world and its history stay as created.
    """
    now = clock or utc_now
    state = SimulatorState(world=world or DemoWorld.at(now()), clock=now)
    app = FastAPI(
        title="Lookout upstream simulator",
        summary="Fake UptimeRobot v2 and Sentry APIs over one deterministic demo week.",
    )
    app.state.simulator = state
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.include_router(build_uptimerobot_router(state))
    app.include_router(build_sentry_router(state))
    app.include_router(_control_router(state))
    app.add_middleware(FaultMiddleware, state=state)
    return app
