"""One JSON error shape for every error the API returns: ``{"detail": ..., "code": ...}``.

FastAPI's defaults (HTML-free but differently shaped 404/405/422 bodies, and a bare 500) are
replaced here so a client handles one shape, and no traceback or upstream text ever leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import LookoutError

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_parameter",
    429: "rate_limited",
    503: "data_unavailable",
}

_SAFE_HEADERS = {"www-authenticate", "retry-after", "allow"}


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"detail": "No monitor with id 12345.", "code": "not_found"}}
    )

    detail: str = Field(description="What went wrong, in a sentence.")
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": '`Bearer`, or `Bearer error="invalid_token"` for a rejected token.',
        "schema": {"type": "string"},
    }
}

# The standard OpenAPI documentation of each error status: description and response headers.
_ERROR_DOCS: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("The bearer token is missing or invalid.", _WWW_AUTHENTICATE),
    403: ("The bearer token is valid but does not grant an admin role.", {}),
    404: ("Nothing exists at this path.", {}),
    422: ("A parameter is invalid; `detail` names it.", {}),
    429: ("Too many requests from this client; retry after `Retry-After` seconds.", _RETRY_AFTER),
    503: ("No upstream data is available yet; retry after `Retry-After` seconds.", _RETRY_AFTER),
}


def error_doc(description: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Document one error response whose body is ``ErrorBody``, for a route's ``responses``."""
    doc: dict[str, Any] = {"model": ErrorBody, "description": description}
    if headers:
        doc["headers"] = dict(headers)
    return doc


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """Document the error responses ``statuses`` with their standard descriptions and headers.

    ``descriptions`` replaces the standard description of some statuses, for example to say
    what a route's 404 means.
    """
    custom = descriptions or {}
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, headers = _ERROR_DOCS[status]
        documented[status] = error_doc(custom.get(status, description), headers)
    return documented


def error_response(
    status_code: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Build the JSON error every endpoint uses; admin and public errors are never cached."""
    response = JSONResponse({"detail": detail, "code": code}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location}: {item.get('msg', 'invalid value')}")
    return "Invalid request parameters: " + "; ".join(parts)


async def _lookout_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LookoutError)
    return error_response(exc.status_code, exc.detail, exc.code, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _CODES_BY_STATUS.get(status, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if status == 404:
        detail = f"No such endpoint: {request.method} {request.url.path}"
    elif status == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in _SAFE_HEADERS}
    return error_response(status, detail, code, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, _describe_validation(exc), "invalid_parameter")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Logged once here, where it is handled; the response never carries the exception text.
    logger.error(
        "unhandled error method=%s path=%s error=%s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(500, "Internal error; it has been logged.", "internal_error")


def install_error_handlers(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        LookoutError: _lookout_error,
        StarletteHTTPException: _http_error,
        RequestValidationError: _validation_error,
        Exception: _unexpected_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
