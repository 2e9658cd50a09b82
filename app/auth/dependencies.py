"""The FastAPI dependency that admits only admin callers, and the ``AdminUser`` alias for it."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.verifier import Principal, TokenVerifier
from app.errors import Forbidden, NotAuthenticated

logger = logging.getLogger(__name__)

MISSING_BEARER_DETAIL = "A bearer token is required: send the header Authorization: Bearer <token>."
FORBIDDEN_DETAIL = "The bearer token is valid but does not grant an admin role."

# With auto_error=False, FastAPI's own 401/403 choices never apply. This scheme only adds the
# bearer security scheme to the OpenAPI spec (the Authorize button in /docs) and extracts the
# credentials. In FastAPI 0.165 it returns None for a missing header, another scheme or an empty
# token, and the tests pin that.
bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A JWT whose role claim contains one of ADMIN_ROLES.",
)


def _token_verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("app.state.token_verifier is not set; the app factory must set it")
    return verifier


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """Admit a caller whose bearer token is valid and carries an admin role.

    Raises ``NotAuthenticated`` (401) for a missing or invalid token and ``Forbidden`` (403)
    for a valid token without one of ``ADMIN_ROLES``.
    """
    if credentials is None:
        raise NotAuthenticated(MISSING_BEARER_DETAIL)

    verifier = _token_verifier(request)
    claims = await verifier.verify(credentials.credentials)
    principal = verifier.principal(claims)
    if not verifier.is_admin(principal):
        logger.info("admin role missing subject=%r roles=%r", principal.subject, principal.roles)
        raise Forbidden(FORBIDDEN_DETAIL)
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]
