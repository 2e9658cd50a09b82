"""Tokens the admin route must accept, one per algorithm family and claim shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID

from app.auth.verifier import roles_from_claims
from app.config import DEMO_JWT_SECRET


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_algorithms_accepted(admin, kit, alg: str) -> None:
    token = kit.sign(kit.claims(), kit.secret_bytes, alg)
    response = await admin.call(
        token, **kit.hs_settings(jwt_algorithms=["HS256", "HS384", "HS512"])
    )
    assert response.status_code == 200
    assert response.json() == {"subject": "user-1", "roles": ["super_admin"]}


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
async def test_rsa_algorithms_accepted(admin, kit, rsa_key, alg: str) -> None:
    token = kit.sign(kit.claims(), rsa_key, alg)
    response = await admin.call(token, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=[alg])
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("alg", "curve"),
    [("ES256", ec.SECP256R1()), ("ES384", ec.SECP384R1()), ("ES512", ec.SECP521R1())],
)
async def test_ecdsa_algorithms_accepted(admin, kit, alg: str, curve: ec.EllipticCurve) -> None:
    private_key = ec.generate_private_key(curve)
    token = kit.sign(kit.claims(), private_key, alg)
    response = await admin.call(
        token, jwt_public_key=kit.public_pem(private_key), jwt_algorithms=[alg]
    )
    assert response.status_code == 200


async def test_rs256_other_key_rejected(admin, kit, rsa_key, other_rsa_key) -> None:
    token = kit.sign(kit.claims(), other_rsa_key, "RS256")
    response = await admin.call(
        token, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=["RS256"]
    )
    assert response.status_code == 401


async def test_ps256_wrong_salt_rejected(admin, kit, rsa_key) -> None:
    header = kit.json_segment({"alg": "PS256", "typ": "JWT"})
    signing_input = f"{header}.{kit.json_segment(kit.claims())}".encode()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=0)
    signature = rsa_key.sign(signing_input, pss, hashes.SHA256())
    token = f"{signing_input.decode()}.{kit.b64url(signature)}"

    response = await admin.call(
        token, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=["PS256"]
    )
    assert response.status_code == 401


async def test_es256_token_rejected_by_rsa_service(admin, kit, rsa_key, ec_key) -> None:
    token = kit.sign(kit.claims(), ec_key, "ES256")
    response = await admin.call(
        token, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=["RS256", "ES256"]
    )
    assert response.status_code == 401


async def test_certificate_as_public_key_accepted(admin, kit, rsa_key) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.invalid")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.public_key())
        .serial_number(1)
        .not_valid_before(kit.start - timedelta(days=1))
        .not_valid_after(kit.start + timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    token = kit.sign(kit.claims(), rsa_key, "RS256")
    response = await admin.call(token, jwt_public_key=pem, jwt_algorithms=["RS256"])
    assert response.status_code == 200


async def test_pem_with_escaped_newlines_accepted(admin, kit, rsa_key) -> None:
    pem = kit.public_pem(rsa_key).strip().replace("\n", "\\n")
    token = kit.sign(kit.claims(), rsa_key, "RS256")
    response = await admin.call(token, jwt_public_key=pem, jwt_algorithms=["RS256"])
    assert response.status_code == 200


async def test_aud_list_containing_ours_accepted(admin, kit) -> None:
    token = kit.hs_token(aud=["another-api", "lookout"])
    response = await admin.call(token, **kit.hs_settings(jwt_audience="lookout"))
    assert response.status_code == 200


async def test_aud_and_iss_matching_accepted(admin, kit) -> None:
    token = kit.hs_token(aud="lookout", iss="https://auth.invalid/")
    settings = kit.hs_settings(jwt_audience="lookout", jwt_issuer="https://auth.invalid/")
    response = await admin.call(token, **settings)
    assert response.status_code == 200


async def test_aud_ignored_when_not_configured(admin, kit) -> None:
    token = kit.hs_token(aud="authenticated")
    response = await admin.call(token, **kit.hs_settings())
    assert response.status_code == 200


async def test_nested_role_claim_accepted(admin, kit) -> None:
    token = kit.hs_token(role=None, app_metadata={"roles": ["viewer", "super_admin"]})
    response = await admin.call(token, **kit.hs_settings(admin_role_claim="app_metadata.roles"))
    assert response.status_code == 200
    assert response.json()["roles"] == ["viewer", "super_admin"]


async def test_list_role_claim_accepted(admin, kit) -> None:
    token = kit.hs_token(role=["viewer", "ops_admin"])
    settings = kit.hs_settings(admin_roles=["super_admin", "ops_admin"])
    response = await admin.call(token, **settings)
    assert response.status_code == 200


async def test_namespaced_role_claim_accepted(admin, kit) -> None:
    claim = "https://lookout.invalid/roles"
    token = kit.hs_token(role=None, **{claim: ["super_admin"]})
    response = await admin.call(token, **kit.hs_settings(admin_role_claim=claim))
    assert response.status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
async def test_bearer_scheme_case_insensitive(admin, kit, scheme: str) -> None:
    response = await admin.call(authorization=f"{scheme} {kit.hs_token()}", **kit.hs_settings())
    assert response.status_code == 200


async def test_secret_containing_keys_accepted(admin, kit) -> None:
    assert "keys" in kit.secret
    response = await admin.call(kit.hs_token(), **kit.hs_settings())
    assert response.status_code == 200


async def test_digit_heavy_secret_used_as_text(admin, kit) -> None:
    secret = "1234567890" * 4 + "x"
    token = kit.sign(kit.claims(), secret.encode(), "HS256")
    response = await admin.call(token, **kit.hs_settings(jwt_secret=secret))
    assert response.status_code == 200


async def test_demo_mode_uses_demo_key(admin, kit) -> None:
    token = kit.sign(kit.claims(), DEMO_JWT_SECRET.encode(), "HS256")
    response = await admin.call(token)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("claims", "path", "expected"),
    [
        ({"role": "super_admin"}, "role", ["super_admin"]),
        ({"role": ["a", 1, None, "b"]}, "role", ["a", "b"]),
        ({"role": 7}, "role", []),
        ({}, "role", []),
        ({"app_metadata": {"roles": ["x"]}}, "app_metadata.roles", ["x"]),
        ({"app_metadata": ["roles"]}, "app_metadata.roles", []),
        ({"app_metadata": {"roles": "x"}}, "app_metadata.missing", []),
        ({"a.b": "flat", "a": {"b": "nested"}}, "a.b", ["flat"]),
    ],
)
def test_roles_from_claims(claims: dict[str, Any], path: str, expected: list[str]) -> None:
    assert roles_from_claims(claims, path) == expected


def test_principal_keeps_claims_and_subject(admin, kit) -> None:
    verifier = admin.verifier(**kit.hs_settings())
    claims = kit.claims(sub="user-9", role=["super_admin"], team="ops")
    principal = verifier.principal(claims)
    assert principal.subject == "user-9"
    assert principal.roles == ["super_admin"]
    assert principal.claims["team"] == "ops"
    assert verifier.is_admin(principal)


def test_principal_without_string_subject(admin, kit) -> None:
    verifier = admin.verifier(**kit.hs_settings())
    principal = verifier.principal({"sub": 42, "role": "viewer"})
    assert principal.subject is None
    assert not verifier.is_admin(principal)


def test_openapi_declares_bearer_scheme(kit, admin) -> None:
    app = kit.build_admin_app(admin.verifier(**kit.hs_settings()))
    spec = app.openapi()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["HTTPBearer"]["bearerFormat"] == "JWT"
    assert spec["paths"]["/admin/ping"]["get"]["security"] == [{"HTTPBearer": []}]
