"""``mint_token`` and ``parse_ttl``: tokens the verifier accepts, in any host time zone."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from jose import jwt

from app import cli
from app.auth import TokenVerifier, mint_token, parse_ttl
from app.config import DEMO_JWT_SECRET, SettingsError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("1h", 3600),
        ("1d", 86_400),
        ("3600s", 3600),
        (" 2H ", 7200),
        ("365d", 31_536_000),
    ],
)
def test_parse_ttl_units(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


def test_parse_ttl_accepts_timedelta() -> None:
    assert parse_ttl(timedelta(minutes=5)) == timedelta(minutes=5)


@pytest.mark.parametrize(
    "text", ["", "15", "1w", "-1h", "0s", "1.5h", "abc", "h1", "366d", "99999999999d"]
)
def test_parse_ttl_rejects_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="invalid token lifetime") as caught:
        parse_ttl(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("value", [timedelta(0), timedelta(seconds=-5), timedelta(days=400)])
def test_parse_ttl_rejects_out_of_range_timedelta(value: timedelta) -> None:
    with pytest.raises(ValueError, match="invalid token lifetime"):
        parse_ttl(value)


async def test_minted_token_verifies(kit, clock) -> None:
    settings = kit.make_settings(**kit.hs_settings())
    token = mint_token(settings, ttl="15m", subject="ops@example.invalid", now=clock())

    verifier = TokenVerifier(settings, clock=clock)
    claims = await verifier.verify(token)
    principal = verifier.principal(claims)

    assert claims == {
        "sub": "ops@example.invalid",
        "role": "super_admin",
        "iat": kit.start_s,
        "nbf": kit.start_s,
        "exp": kit.start_s + 900,
    }
    assert verifier.is_admin(principal)


async def test_minted_token_nests_dotted_role_claim(kit, clock) -> None:
    settings = kit.make_settings(**kit.hs_settings(admin_role_claim="app_metadata.role"))
    token = mint_token(settings, role="ops_admin", now=clock())
    claims = jwt.get_unverified_claims(token)
    assert claims["app_metadata"] == {"role": "ops_admin"}
    assert "role" not in claims


async def test_minted_token_carries_aud_and_iss(kit, clock) -> None:
    settings = kit.make_settings(
        **kit.hs_settings(jwt_audience="lookout", jwt_issuer="https://auth.invalid/")
    )
    token = mint_token(settings, now=clock())
    claims = await TokenVerifier(settings, clock=clock).verify(token)
    assert claims["aud"] == "lookout"
    assert claims["iss"] == "https://auth.invalid/"


def test_mint_uses_first_hmac_algorithm(kit) -> None:
    settings = kit.make_settings(**kit.hs_settings(jwt_algorithms=["HS512", "HS256"]))
    assert jwt.get_unverified_header(mint_token(settings))["alg"] == "HS512"


def test_mint_uses_demo_key_in_demo_mode(kit) -> None:
    token = mint_token(kit.make_settings())
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(DEMO_JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256)
    assert signature == kit.b64url(expected.digest())


def test_mint_rejects_public_key_configuration(kit, rsa_key) -> None:
    settings = kit.make_settings(jwt_public_key=kit.public_pem(rsa_key), jwt_algorithms=["RS256"])
    with pytest.raises(SettingsError, match="JWT_SECRET is not set"):
        mint_token(settings)


def test_mint_rejects_jwks_configuration(kit) -> None:
    settings = kit.make_settings(jwt_jwks_url=kit.jwks_url, jwt_algorithms=["RS256"])
    with pytest.raises(SettingsError, match="JWT_SECRET is not set"):
        mint_token(settings)


def test_mint_rejects_invalid_ttl(kit) -> None:
    with pytest.raises(ValueError, match="invalid token lifetime '2 weeks'"):
        mint_token(kit.make_settings(), ttl="2 weeks")


@pytest.fixture
def host_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Set the process time zone for one test and restore it afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("zone", "abbreviations"),
    [("America/Los_Angeles", {"PST", "PDT"}), ("Asia/Kolkata", {"IST"}), ("UTC", {"UTC"})],
)
def test_mint_lifetime_ignores_host_timezone(
    kit, host_timezone, zone: str, abbreviations: set[str]
) -> None:
    host_timezone(zone)
    assert time.strftime("%Z") in abbreviations

    token = mint_token(kit.make_settings(), ttl="15m")
    claims = jwt.get_unverified_claims(token)

    assert abs(claims["exp"] - time.time() - 900) < 5
    assert abs(claims["iat"] - time.time()) < 5


async def test_cli_token_verifies(
    kit, monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setenv("POLLER_ENABLED", "false")

    code = cli.main(["token", "--ttl", "15m", "--role", "super_admin", "--subject", "me"])
    token = capsys.readouterr().out.strip()

    assert code == 0
    claims = await TokenVerifier(kit.make_settings()).verify(token)
    assert claims["sub"] == "me"
    assert claims["exp"] - claims["iat"] == 900


def test_cli_token_negative_ttl_gets_lookout_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEMO_MODE", "true")

    code = cli.main(["token", "--ttl", "-1h"])

    assert code == 2
    assert capsys.readouterr().err.startswith("lookout: invalid token lifetime '-1h'")
