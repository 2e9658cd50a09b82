"""Tokens and Authorization headers the admin route must reject, through a real FastAPI app."""

from __future__ import annotations

import ast
import inspect
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from jose import jws, jwt
from jose.exceptions import JWKError

import app.auth
from app.auth.verifier import INVALID_BEARER_DETAIL


def assert_invalid_token(response: httpx.Response, token: str | None = None) -> None:
    """401, the generic body, the invalid_token challenge, and no echo of the token."""
    assert response.status_code == 401
    assert response.json() == {"detail": INVALID_BEARER_DETAIL, "code": "invalid_token"}
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    if token:
        assert token not in response.text


def assert_missing_token(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


# Algorithm and key confusion


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none_without_signature_rejected(admin, kit, alg: str) -> None:
    token = f"{kit.json_segment({'alg': alg, 'typ': 'JWT'})}.{kit.json_segment(kit.claims())}."
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


@pytest.mark.parametrize("alg", ["none", "None"])
async def test_alg_none_with_signature_rejected(
    admin, kit, caplog: pytest.LogCaptureFixture, alg: str
) -> None:
    signed = kit.hs_token()
    unsigned_header = kit.json_segment({"alg": alg, "typ": "JWT"})
    token = ".".join([unsigned_header, *signed.split(".")[1:]])
    # Even an allow-list that wrongly contained "none" must not let it through.
    settings = kit.make_settings(**kit.hs_settings())
    settings.jwt_algorithms.append(alg)
    verifier = app.auth.TokenVerifier(settings, clock=admin.clock)

    with caplog.at_level(logging.INFO, logger="app.auth"):
        response = await admin.call(token, verifier=verifier)

    assert_invalid_token(response, token)
    assert "header alg is missing or none" in caplog.text


async def test_disallowed_alg_rejected_before_decode(
    admin, kit, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    decode_calls: list[object] = []
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decode_calls.append(args))
    token = kit.sign(kit.claims(), kit.secret_bytes, "HS512")

    with caplog.at_level(logging.INFO, logger="app.auth"):
        response = await admin.call(token, **kit.hs_settings(jwt_algorithms=["HS256"]))

    assert_invalid_token(response, token)
    assert decode_calls == []
    assert "header alg 'HS512' is not in JWT_ALGORITHMS" in caplog.text


async def test_hs256_rsa_public_pem_rejected(admin, kit, rsa_key) -> None:
    pem = kit.public_pem(rsa_key)
    token = kit.sign(kit.claims(role="admin"), pem.encode(), "HS256")
    response = await admin.call(token, jwt_public_key=pem, jwt_algorithms=["RS256"])
    assert_invalid_token(response, token)


async def test_hs256_openssh_ecdsa_line_rejected(admin, kit, ec_key) -> None:
    ssh_line = ec_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert ssh_line.startswith(b"ecdsa-sha2-nistp256 AAAA")
    token = kit.sign(kit.claims(), ssh_line, "HS256")
    response = await admin.call(
        token, jwt_public_key=kit.public_pem(ec_key), jwt_algorithms=["ES256"]
    )
    assert_invalid_token(response, token)


async def test_hs256_rsa_public_der_rejected(admin, kit, rsa_key) -> None:
    der = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = kit.sign(kit.claims(), der, "HS256")
    response = await admin.call(
        token, jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=["RS256"]
    )
    assert_invalid_token(response, token)


async def test_public_key_never_hmac_secret(admin, kit, rsa_key) -> None:
    """Even if the allow-list named HS256, a public key never becomes an HMAC secret."""
    pem = kit.public_pem(rsa_key)
    settings = kit.make_settings(jwt_public_key=pem, jwt_algorithms=["RS256"])
    settings.jwt_algorithms.append("HS256")  # bypasses the start-up check on purpose
    verifier = app.auth.TokenVerifier(settings, clock=admin.clock)
    token = kit.sign(kit.claims(), pem.encode(), "HS256")
    response = await admin.call(token, verifier=verifier)
    assert_invalid_token(response, token)


async def test_json_secret_not_parsed_as_jwks(admin, kit) -> None:
    # python-jose would parse this text as a JWKS whose only key is the bytes "a1234".
    secret = '{"keys": [{"kty": "oct", "k": "YTEyMzQ"}], "padding": "xxxxxxxx"}'
    forged = kit.sign(kit.claims(), b"a1234", "HS256")
    genuine = kit.sign(kit.claims(), secret.encode(), "HS256")
    settings = kit.hs_settings(jwt_secret=secret)

    assert_invalid_token(await admin.call(forged, **settings), forged)
    assert (await admin.call(genuine, **settings)).status_code == 200


async def test_crit_header_rejected(admin, kit) -> None:
    token = kit.sign(kit.claims(), kit.secret_bytes, "HS256", header={"crit": ["exp"]})
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


# Signature and payload


async def test_tampered_payload_rejected(admin, kit) -> None:
    header, _, signature = kit.sign(kit.claims(role="viewer"), kit.secret_bytes, "HS256").split(".")
    token = f"{header}.{kit.json_segment(kit.claims(role='super_admin'))}.{signature}"
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


async def test_wrong_secret_rejected(admin, kit) -> None:
    token = kit.sign(kit.claims(), b"another-secret-of-at-least-32-bytes!!", "HS256")
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


# Time claims


async def test_expired_token_rejected(admin, kit) -> None:
    token = kit.hs_token(exp=kit.start_s - 60, iat=kit.start_s - 660, nbf=kit.start_s - 660)
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


async def test_token_rejected_exactly_at_exp(admin, kit) -> None:
    token = kit.hs_token(exp=kit.start_s + 600)
    admin.clock.advance(599)
    assert (await admin.call(token, **kit.hs_settings())).status_code == 200

    admin.clock.advance(1)
    assert_invalid_token(await admin.call(token, **kit.hs_settings()), token)


async def test_leeway_extends_exp_by_exact_seconds(admin, kit) -> None:
    token = kit.hs_token(exp=kit.start_s + 600)
    settings = kit.hs_settings(jwt_leeway_seconds=30)
    admin.clock.advance(629)
    assert (await admin.call(token, **settings)).status_code == 200

    admin.clock.advance(1)
    assert_invalid_token(await admin.call(token, **settings), token)


async def test_nbf_in_future_rejected(admin, kit) -> None:
    token = kit.hs_token(nbf=kit.start_s + 60)
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


async def test_nbf_within_leeway_accepted(admin, kit) -> None:
    token = kit.hs_token(nbf=kit.start_s + 30)
    response = await admin.call(token, **kit.hs_settings(jwt_leeway_seconds=30))
    assert response.status_code == 200


async def test_iat_in_future_rejected(admin, kit) -> None:
    token = kit.hs_token(iat=kit.start_s + 31, nbf=None)
    response = await admin.call(token, **kit.hs_settings(jwt_leeway_seconds=30))
    assert_invalid_token(response, token)


async def test_missing_exp_rejected(admin, kit, caplog: pytest.LogCaptureFixture) -> None:
    token = kit.sign(kit.claims(exp=None), kit.secret_bytes, "HS256")
    assert "exp" not in jwt.get_unverified_claims(token)
    with caplog.at_level(logging.INFO, logger="app.auth"):
        response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)
    assert "claim exp is missing" in caplog.text


@pytest.mark.parametrize("exp", ["2000000000", True, [2000000000], float("inf")])
async def test_exp_not_a_number_rejected(admin, kit, exp: Any) -> None:
    # json.dumps writes inf as Infinity, which Python's json module reads back as a float.
    token = kit.hs_token(exp=exp)
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


# Audience and issuer


async def test_wrong_aud_rejected(admin, kit) -> None:
    token = kit.hs_token(aud="another-api")
    response = await admin.call(token, **kit.hs_settings(jwt_audience="lookout"))
    assert_invalid_token(response, token)


async def test_aud_list_without_ours_rejected(admin, kit) -> None:
    token = kit.hs_token(aud=["another-api", "lookout-staging"])
    response = await admin.call(token, **kit.hs_settings(jwt_audience="lookout"))
    assert_invalid_token(response, token)


async def test_missing_aud_rejected_when_configured(admin, kit) -> None:
    token = kit.hs_token()
    response = await admin.call(token, **kit.hs_settings(jwt_audience="lookout"))
    assert_invalid_token(response, token)


async def test_wrong_iss_rejected(admin, kit) -> None:
    token = kit.hs_token(iss="https://evil.invalid/")
    response = await admin.call(token, **kit.hs_settings(jwt_issuer="https://auth.invalid/"))
    assert_invalid_token(response, token)


async def test_missing_iss_rejected_when_configured(admin, kit) -> None:
    token = kit.hs_token()
    response = await admin.call(token, **kit.hs_settings(jwt_issuer="https://auth.invalid/"))
    assert_invalid_token(response, token)


# Roles


async def test_missing_role_forbidden(admin, kit) -> None:
    token = kit.hs_token(role=None)
    response = await admin.call(token, **kit.hs_settings())
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "WWW-Authenticate" not in response.headers


async def test_role_in_wrong_claim_forbidden(admin, kit) -> None:
    token = kit.hs_token(role=None, roles=["super_admin"])
    response = await admin.call(token, **kit.hs_settings(admin_role_claim="app_metadata.role"))
    assert response.status_code == 403


async def test_role_list_without_admin_forbidden(admin, kit) -> None:
    token = kit.hs_token(role=["viewer", "editor", "super_admin_x"])
    response = await admin.call(token, **kit.hs_settings())
    assert response.status_code == 403


async def test_role_as_object_forbidden(admin, kit) -> None:
    token = kit.hs_token(role={"super_admin": True})
    response = await admin.call(token, **kit.hs_settings())
    assert response.status_code == 403


# Malformed tokens and headers


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a*b.c.d",
        "YWJj.YWJj.YWJj",  # decodes, but the header is not JSON
        "W10.e30.c2ln",  # the header is a JSON array, not an object
        "e.e.e",  # a single base64 character cannot be decoded
        "eyJhbGciOiJIUzI1NiJ9.%%%.c2ln",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln",
    ],
)
async def test_malformed_token_rejected(admin, kit, token: str) -> None:
    response = await admin.call(token, **kit.hs_settings())
    assert_invalid_token(response, token)


async def test_too_many_segments_rejected(admin, kit, caplog: pytest.LogCaptureFixture) -> None:
    valid = kit.hs_token()
    for token in (f"{valid}.{valid.split('.')[2]}", f"{valid}.x.y"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="app.auth"):
            response = await admin.call(token, **kit.hs_settings())
        assert_invalid_token(response, token)
        assert "token is not three base64url segments" in caplog.text


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer    ", "bearer"])
async def test_empty_bearer_rejected(admin, kit, authorization: str) -> None:
    response = await admin.call(authorization=authorization, **kit.hs_settings())
    assert_missing_token(response)


async def test_basic_scheme_rejected(admin, kit) -> None:
    response = await admin.call(authorization="Basic YWRtaW46YWRtaW4=", **kit.hs_settings())
    assert_missing_token(response)


async def test_token_without_scheme_rejected(admin, kit) -> None:
    response = await admin.call(authorization=kit.hs_token(), **kit.hs_settings())
    assert_missing_token(response)


async def test_no_authorization_header_rejected(admin, kit) -> None:
    response = await admin.call(**kit.hs_settings())
    assert_missing_token(response)


async def test_oversized_token_rejected_before_decoding(
    admin, kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def forbidden(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return record

    monkeypatch.setattr(jwt, "decode", forbidden("jwt.decode"))
    monkeypatch.setattr(jwt, "get_unverified_header", forbidden("jwt.get_unverified_header"))
    monkeypatch.setattr(jws, "verify", forbidden("jws.verify"))
    monkeypatch.setattr(jws, "base64url_decode", forbidden("jws.base64url_decode"))
    token = kit.hs_token(padding="x" * 100_000)
    assert len(token) > 100_000

    response = await admin.call(token, **kit.hs_settings())

    assert_invalid_token(response, token)
    assert calls == []


async def test_token_size_limit_is_inclusive(admin, kit) -> None:
    token = kit.hs_token(padding="x" * 600)
    at_limit = await admin.call(token, **kit.hs_settings(jwt_max_token_bytes=len(token)))
    over_limit = await admin.call(token, **kit.hs_settings(jwt_max_token_bytes=len(token) - 1))
    assert at_limit.status_code == 200
    assert_invalid_token(over_limit, token)


# How python-jose is called


async def test_decode_always_gets_algorithm_list(
    admin, kit, rsa_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_decode = jwt.decode
    seen: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("algorithms", args[2] if len(args) > 2 else None))
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", spy)
    pem = kit.public_pem(rsa_key)
    hs_tokens = [
        kit.hs_token(),
        kit.hs_token(exp=kit.start_s - 1),
        kit.sign(kit.claims(), b"wrong-secret-wrong-secret-wrong-secret", "HS256"),
    ]
    for token in hs_tokens:
        await admin.call(token, **kit.hs_settings(jwt_algorithms=["HS256", "HS512"]))
    rs_tokens = [kit.sign(kit.claims(), rsa_key, "RS256"), kit.sign(kit.claims(), rsa_key, "PS256")]
    for token in rs_tokens:
        await admin.call(token, jwt_public_key=pem, jwt_algorithms=["RS256", "PS256"])

    assert len(seen) == len(hs_tokens) + len(rs_tokens)
    for algorithms in seen:
        assert isinstance(algorithms, list)
        assert len(algorithms) == 1
        assert algorithms[0] in {"HS256", "HS512", "RS256", "PS256"}


def test_source_decode_calls_name_algorithms() -> None:
    package = Path(inspect.getfile(app.auth)).parent
    decode_calls = 0
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "decode" or not isinstance(node.func.value, ast.Name):
                continue
            if node.func.value.id not in {"jwt", "jws"}:
                continue
            decode_calls += 1
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            assert "algorithms" in keywords, f"{path.name}:{node.lineno} omits algorithms"
            value = keywords["algorithms"]
            is_none = isinstance(value, ast.Constant) and value.value is None
            assert not is_none, f"{path.name}:{node.lineno} passes algorithms=None"
    assert decode_calls >= 1


@pytest.mark.parametrize(
    "error",
    [TypeError("boom"), AttributeError("boom"), JWKError("boom"), ValueError("boom"), KeyError],
)
async def test_unexpected_library_error_gives_401(
    admin, kit, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Any
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(jwt, "decode", explode)
    token = kit.hs_token()
    with caplog.at_level(logging.INFO, logger="app.auth"):
        response = await admin.call(token, **kit.hs_settings())

    assert_invalid_token(response, token)
    assert any(record.name.startswith("app.auth") for record in caplog.records)
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


async def test_rejection_logs_reason_without_token(
    admin, kit, caplog: pytest.LogCaptureFixture
) -> None:
    token = kit.hs_token(exp=kit.start_s - 1)
    with caplog.at_level(logging.INFO, logger="app.auth"):
        await admin.call(token, **kit.hs_settings())
    assert "token expired" in caplog.text
    for segment in token.split("."):
        assert segment not in caplog.text
