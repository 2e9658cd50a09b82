"""Key settings that must stop start-up with one line naming the variable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from app.auth import TokenVerifier
from app.config import DEMO_JWT_SECRET, SettingsError, load_settings

PRODUCTION = {
    "uptimerobot_api_key": "ur-read-only-key",
    "sentry_auth_token": "sentry-token",
    "sentry_org": "example-org",
}


def load(**overrides: Any) -> Any:
    return load_settings(_env_file=None, **overrides)


def test_empty_hs_secret_rejected() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET") as caught:
        load(**PRODUCTION, jwt_secret="")
    assert "at least 32 bytes" in str(caught.value)


def test_digit_secret_rejected() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load(**PRODUCTION, jwt_secret="123456")


def test_long_digit_secret_rejected() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load(**PRODUCTION, jwt_secret="1" * 40)


def test_public_key_as_secret_rejected(kit, rsa_key) -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET looks like a public key") as caught:
        load(**PRODUCTION, jwt_secret=kit.public_pem(rsa_key))
    assert "BEGIN" not in str(caught.value)


def test_hs_algorithm_with_public_key_rejected(kit, rsa_key) -> None:
    with pytest.raises(SettingsError, match="JWT_ALGORITHMS"):
        load(**PRODUCTION, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms="RS256,HS256")


def test_hs_algorithm_with_jwks_url_rejected(kit) -> None:
    with pytest.raises(SettingsError, match="JWT_ALGORITHMS"):
        load(**PRODUCTION, jwt_jwks_url=kit.jwks_url, jwt_algorithms="HS256")


def test_demo_key_outside_demo_mode_rejected() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET is the demo-only key"):
        load(**PRODUCTION, jwt_secret=DEMO_JWT_SECRET)


def test_none_algorithm_rejected() -> None:
    with pytest.raises(SettingsError, match="JWT_ALGORITHMS"):
        load(**PRODUCTION, jwt_secret="s" * 40, jwt_algorithms="none")


def test_strong_secret_accepted() -> None:
    settings = load(**PRODUCTION, jwt_secret="my-keys-secret-" + "k" * 32)
    assert settings.jwt_hmac_secret == "my-keys-secret-" + "k" * 32


def verifier_error(kit, **overrides: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        TokenVerifier(kit.make_settings(**overrides))
    return str(caught.value)


def test_unparsable_public_key_rejected(kit) -> None:
    message = verifier_error(kit, jwt_public_key="not a key", jwt_algorithms=["RS256"])
    assert message.startswith("JWT_PUBLIC_KEY is invalid")


def test_private_key_as_public_key_rejected(kit, rsa_key) -> None:
    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    message = verifier_error(kit, jwt_public_key=private_pem, jwt_algorithms=["RS256"])
    assert (
        message == "JWT_PUBLIC_KEY is invalid: it contains a private key; set the public key only"
    )


def test_short_rsa_public_key_rejected(kit) -> None:
    short_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    message = verifier_error(
        kit, jwt_public_key=kit.public_pem(short_key), jwt_algorithms=["RS256"]
    )
    assert "1024 bits" in message


def test_ed25519_public_key_rejected(kit) -> None:
    message = verifier_error(
        kit,
        jwt_public_key=kit.public_pem(ed25519.Ed25519PrivateKey.generate()),
        jwt_algorithms=["RS256"],
    )
    assert message.startswith("JWT_PUBLIC_KEY is invalid: expected an RSA or EC public key")


def test_algorithms_not_fitting_key_rejected(kit, ec_key) -> None:
    message = verifier_error(kit, jwt_public_key=kit.public_pem(ec_key), jwt_algorithms=["RS256"])
    assert message.startswith("JWT_ALGORITHMS (RS256) has no algorithm that fits")


def test_public_key_and_jwks_url_together_rejected(kit, rsa_key) -> None:
    message = verifier_error(
        kit,
        jwt_public_key=kit.public_pem(rsa_key),
        jwt_jwks_url=kit.jwks_url,
        jwt_algorithms=["RS256"],
    )
    assert "JWT_PUBLIC_KEY and JWT_JWKS_URL" in message


def test_jwks_url_without_http_client_rejected(kit) -> None:
    message = verifier_error(kit, jwt_jwks_url=kit.jwks_url, jwt_algorithms=["RS256"])
    assert "JWT_JWKS_URL" in message


async def test_jwks_url_with_http_client_accepted(kit) -> None:
    async with httpx.AsyncClient() as client:
        settings = kit.make_settings(jwt_jwks_url=kit.jwks_url, jwt_algorithms=["RS256"])
        assert isinstance(TokenVerifier(settings, client), TokenVerifier)
