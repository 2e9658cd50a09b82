"""Response helpers: cache headers, ETags and conditional requests."""

from __future__ import annotations

from fastapi import Request, Response
from pydantic import BaseModel

from app.config import Settings
from app.views import etag_of

ADMIN_CACHE_CONTROL = "private, no-store"


def public_cache_control(settings: Settings) -> str:
    return (
        f"public, max-age={settings.public_max_age_seconds}, "
        f"stale-while-revalidate={settings.public_stale_while_revalidate_seconds}"
    )


def cors_enabled(settings: Settings) -> bool:
    """Return whether the app serves browsers' cross-origin calls (so responses vary by Origin).

    Configured origins enable it, and demo mode opens public GETs to every origin.
    """
    return bool(settings.cors_allow_origins) or settings.demo_mode


def etag_matches(request: Request, etag: str) -> bool:
    """Return whether ``If-None-Match`` names ``etag`` (or ``*``); weak validators match too."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def public_bytes(
    request: Request,
    body: bytes,
    settings: Settings,
    *,
    media_type: str = "application/json",
    etag: str | None = None,
    cache_control: str | None = None,
) -> Response:
    """Build a cacheable public response with a strong ETag, or a ``304`` when the client has it."""
    etag = etag or etag_of(body)
    headers = {"ETag": etag, "Cache-Control": cache_control or public_cache_control(settings)}
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def json_bytes(model: BaseModel) -> bytes:
    """Serialise ``model`` as ``model_dump_json()`` does, straight to bytes.

    Encoding the ``str`` that ``model_dump_json()`` returns would hold a second copy of the body,
    which for a large dashboard is megabytes at the peak of the request.
    """
    return model.__pydantic_serializer__.to_json(model)


def public_model(request: Request, model: BaseModel, settings: Settings) -> Response:
    return public_bytes(request, json_bytes(model), settings)


def admin_model(model: BaseModel) -> Response:
    """Build an admin response, which no shared or browser cache may store."""
    return Response(
        content=json_bytes(model),
        media_type="application/json",
        headers={"Cache-Control": ADMIN_CACHE_CONTROL},
    )
