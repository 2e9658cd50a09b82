"""Settings: every malformed value stops start-up with one line naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli import main
from app.config import DEMO_JWT_SECRET, Settings, SettingsError, load_settings

SECRET = "a-very-long-random-hmac-secret-for-tests-only-0123456789"

PRODUCTION: dict[str, Any] = {
    "uptimerobot_api_key": "ur-test-key",
    "sentry_auth_token": "sentry-test-token",
    "sentry_org": "acme",
    "jwt_secret": SECRET,
}


def _load(**overrides: Any) -> Settings:
    return load_settings(_env_file=None, **{**PRODUCTION, **overrides})


def _error(**overrides: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        _load(**overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_production_settings_load() -> None:
    settings = _load()

    assert settings.demo_mode is False
    assert settings.uptimerobot_base_url == "https://api.uptimerobot.com/v2"


def test_missing_uptimerobot_key_names_variable() -> None:
    message = _error(uptimerobot_api_key=None)

    assert message == "UPTIMEROBOT_API_KEY is not set; set it or run with DEMO_MODE=true"


def test_missing_sentry_org_names_variable() -> None:
    assert "SENTRY_ORG" in _error(sentry_org=None)


def test_missing_jwt_key_source_names_variables() -> None:
    assert "JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL" in _error(jwt_secret=None)


@pytest.mark.parametrize("value", [-1, 0, "abc", 86_400_000])
def test_bad_ttl_names_variable(value: object) -> None:
    message = _error(cache_ttl_monitors=value)

    assert message.startswith("CACHE_TTL_MONITORS is invalid")


def test_ttl_upper_bound_is_one_day() -> None:
    assert _load(cache_ttl_monitors=86_400).cache_ttl_monitors == 86_400


def test_unknown_algorithm_names_variable() -> None:
    message = _error(jwt_algorithms="HS999")

    assert message.startswith("JWT_ALGORITHMS is invalid: unknown algorithm HS999")


def test_base_url_without_scheme_names_variable() -> None:
    message = _error(sentry_base_url="de.sentry.io")

    assert message.startswith("SENTRY_BASE_URL is invalid: expected an absolute http(s) URL")


def test_secret_value_is_not_echoed_in_error() -> None:
    message = _error(jwt_secret="0123456789" * 4)

    assert "0123456789" not in message


def test_demo_key_refused_outside_demo_mode() -> None:
    assert "demo-only key" in _error(jwt_secret=DEMO_JWT_SECRET)


def test_comma_list_settings_are_split() -> None:
    settings = _load(sentry_projects=" api , web ,", uptimerobot_monitor_ids="1,2")

    assert settings.sentry_projects == ["api", "web"]
    assert settings.uptimerobot_monitor_ids == [1, 2]


def test_components_read_from_json_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPONENTS", '[{"name": "Calls", "monitors": ["Voice"]}]')

    settings = _load()

    assert settings.public_components is not None
    assert settings.public_components[0].monitors == ["Voice"]


def test_without_component_map_each_monitor_is_public() -> None:
    assert _load().public_components is None


def test_demo_mode_uses_default_component_map() -> None:
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]

    assert [component.name for component in settings.public_components or []] == [
        "Website",
        "API",
    ]


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setenv("CACHE_TTL_SENTRY_STATS", "120")

    assert load_settings(_env_file=None).cache_ttl_sentry_stats == 120


def test_cli_prints_one_line_and_exits_2_on_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setenv("CACHE_TTL_MONITORS", "-1")

    code = main(["check"])

    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("lookout: CACHE_TTL_MONITORS is invalid")
    assert error.count("\n") == 1


def test_serve_trusts_forwarded_headers_from_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.server import LookoutServer

    seen: dict[str, Any] = {}

    def run(server: LookoutServer) -> None:
        seen.update(vars(server.config))
        server.started = True

    monkeypatch.chdir("/")
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    monkeypatch.setattr(LookoutServer, "run", run)
    monkeypatch.setattr("app.observability.configure_logging", lambda settings: None)
    monkeypatch.setattr("app.observability.init_error_reporting", lambda settings: False)

    assert main(["serve", "--port", "8999"]) == 0
    assert seen["forwarded_allow_ips"] == "10.0.0.5"
    assert seen["host"] == "127.0.0.1"


def test_serve_exits_3_when_server_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.server import LookoutServer

    monkeypatch.chdir("/")
    monkeypatch.setenv("DEMO_MODE", "true")
    monkeypatch.setattr(LookoutServer, "run", lambda server: None)
    monkeypatch.setattr("app.observability.configure_logging", lambda settings: None)
    monkeypatch.setattr("app.observability.init_error_reporting", lambda settings: False)

    assert main(["serve", "--port", "8999"]) == 3
