"""Operations endpoints: liveness and readiness for orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import RuntimeDep
from app.models.api import Health, Readiness, ReadinessSource

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Process liveness")
async def healthz() -> Health:
    """Return 200 while the process runs; nothing upstream is checked."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: has data or can get it",
    responses={503: {"model": Readiness, "description": "No source has usable data."}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Ready unless no key has usable data and every fetch so far failed; lists each key.

    An upstream that keeps failing shows as `degraded` here while the service still serves its
    last good data.
    """
    sources = []
    for key in runtime.views.keys():
        freshness = runtime.store.freshness(key)
        failing = freshness.last_error is not None and (
            freshness.fetched_at is None
            or freshness.last_error_at is None
            or freshness.last_error_at > freshness.fetched_at
        )
        sources.append(
            ReadinessSource(
                key=key,
                available=freshness.available,
                stale=freshness.stale,
                last_error=freshness.last_error if failing else None,
            )
        )
    any_available = any(item.available for item in sources)
    all_failing = bool(sources) and all(item.last_error is not None for item in sources)
    healthy = all(item.available and item.last_error is None for item in sources)
    if healthy:
        status = "ready"
    elif all_failing and not any_available:
        status = "not_ready"
    else:
        status = "degraded"
    body = Readiness(status=status, sources=sources)
    code = 503 if status == "not_ready" else 200
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(body.model_dump(mode="json"), status_code=code, headers=headers)
