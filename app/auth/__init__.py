"""JWT authentication and the admin role check.

- ``verifier``: ``TokenVerifier`` checks a bearer token and builds the ``Principal``.
- ``keys`` and ``jwks``: verification keys from a secret, a PEM public key or a JWKS URL.
- ``dependencies``: ``require_admin`` and the ``AdminUser`` alias routers use.
- ``minting``: ``mint_token`` for demo mode and local development.
"""

from app.auth.dependencies import AdminUser, require_admin
from app.auth.minting import mint_token, parse_ttl
from app.auth.verifier import Principal, TokenVerifier

__all__ = ["AdminUser", "Principal", "TokenVerifier", "mint_token", "parse_ttl", "require_admin"]
