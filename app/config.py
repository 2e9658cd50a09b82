"""Lookout's settings: the only module that reads the environment (or a ``.env`` file).

``load_settings()`` turns every validation failure into one ``SettingsError`` line that names the
variable and what it expects, so start-up stops with a message an operator can act on.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Signs the tokens demo mode prints; any configuration outside demo mode that uses it is rejected.
DEMO_JWT_SECRET = "lookout-demo-only-signing-key-never-use-in-production"  # noqa: S105

MAX_TTL_SECONDS = 86_400
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)
KNOWN_ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS

PUBLIC_KEY_MARKERS = ("-----BEGIN", "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class ComponentConfig(BaseModel):
    """One public component: a public name over monitors and Sentry projects.

    ``monitors`` match an UptimeRobot monitor by friendly name or by id; ``projects`` are Sentry
    project slugs. ``outage_message`` is the banner text shown while the component is not
    operational.
    """

    name: str = Field(min_length=1, max_length=100)
    monitors: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)
    outage_message: str | None = None
    description: str | None = None


DEFAULT_COMPONENTS: list[ComponentConfig] = [
    ComponentConfig(
        name="Website",
        monitors=["Frontend", "SSL expiry"],
        projects=["frontend"],
        outage_message="We're experiencing issues with the website. Our team is investigating.",
        description="The web app in your browser.",
    ),
    ComponentConfig(
        name="API",
        monitors=["Backend API", "Database health"],
        projects=["backend"],
        outage_message="We're experiencing issues with the API. Our team is investigating.",
        description="The API behind the app, including its database.",
    ),
]


def _split_list(value: Any) -> Any:
    """Accept a comma list (``a,b``) or a JSON array for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an absolute http(s) URL such as https://api.example.com")
    return value.rstrip("/")


CommaList = Annotated[list[str], NoDecode]
CommaIntList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    """Every setting of Lookout, from the environment or ``.env``; see ``.env.example``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    demo_mode: bool = False

    # UptimeRobot
    uptimerobot_api_key: SecretStr | None = None
    uptimerobot_base_url: str = "https://api.uptimerobot.com/v2"
    uptimerobot_monitor_ids: CommaIntList = Field(default_factory=list)

    # Sentry
    sentry_auth_token: SecretStr | None = None
    sentry_org: str | None = None
    sentry_projects: CommaList = Field(default_factory=lambda: ["backend", "frontend"])
    sentry_base_url: str = "https://sentry.io"
    # Calls in flight per Sentry endpoint (projects, issues, stats_v2, events), because Sentry
    # limits concurrent requests per endpoint. Up to four times this many run in all.
    sentry_max_concurrency: int = Field(default=3, ge=1, le=25)
    sentry_issue_page_cap: int = Field(default=5, ge=1, le=100)

    # JWT
    jwt_secret: SecretStr | None = None
    jwt_public_key: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: CommaList = Field(default_factory=lambda: ["HS256"])
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwt_max_token_bytes: int = Field(default=8192, ge=512, le=65536)
    jwt_jwks_ttl_seconds: int = Field(default=3600, ge=60, le=MAX_TTL_SECONDS)
    admin_role_claim: str = "role"
    admin_roles: CommaList = Field(default_factory=lambda: ["super_admin"])

    # Snapshot store
    cache_ttl_monitors: int = Field(default=60, ge=1, le=MAX_TTL_SECONDS)
    cache_ttl_sentry_issues: int = Field(default=60, ge=1, le=MAX_TTL_SECONDS)
    cache_ttl_sentry_stats: int = Field(default=60, ge=1, le=MAX_TTL_SECONDS)
    cache_ttl_sentry_performance: int = Field(default=300, ge=1, le=MAX_TTL_SECONDS)
    max_stale_seconds: int = Field(default=3600, ge=1, le=7 * MAX_TTL_SECONDS)
    fetch_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    poller_enabled: bool = True
    redis_url: str | None = None

    # Upstream HTTP client
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    http_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_max_connections: int = Field(default=20, ge=1, le=500)

    # Public components and the watched system's rules
    components: list[ComponentConfig] | None = None
    status_page_name: str = "Lookout"
    status_page_url: str = "http://127.0.0.1:8000/status"
    sla_uptime_target_percent: float = Field(default=99.9, gt=0, le=100)
    sla_error_rate_target_percent: float = Field(default=1.0, ge=0, le=100)
    sla_response_time_target_ms: float = Field(default=500.0, gt=0)
    sla_mttr_target_minutes: float = Field(default=60.0, gt=0)
    alert_errors_5m: dict[str, int] = Field(
        default_factory=lambda: {"backend": 50, "frontend": 100}
    )
    alert_lcp_p75_ms: float = Field(default=2500.0, gt=0)
    alert_error_rate_p1_percent: float = Field(default=10.0, gt=0, le=100)
    alert_response_time_p1_ms: float = Field(default=5000.0, gt=0)
    alert_ssl_expiry_days: int = Field(default=30, ge=0, le=365)
    database_monitors: CommaList = Field(default_factory=lambda: ["Database health"])
    auth_monitors: CommaList = Field(default_factory=list)

    # HTTP interface and operations
    cors_allow_origins: CommaList = Field(default_factory=list)
    forwarded_allow_ips: str = "127.0.0.1"
    public_max_age_seconds: int = Field(default=30, ge=0, le=3600)
    public_stale_while_revalidate_seconds: int = Field(default=60, ge=0, le=MAX_TTL_SECONDS)
    sentry_dsn: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    rate_limit_public_per_minute: int = Field(default=600, ge=1)
    rate_limit_refresh_per_minute: int = Field(default=2, ge=1)

    # Webhooks and reports
    uptimerobot_webhook_token: SecretStr | None = None
    sentry_webhook_secret: SecretStr | None = None
    webhook_replay_window_seconds: int = Field(default=300, ge=1, le=MAX_TTL_SECONDS)
    webhook_max_body_bytes: int = Field(default=65_536, ge=1024, le=10_485_760)
    report_webhook_url: SecretStr | None = None

    @field_validator(
        "uptimerobot_monitor_ids",
        "sentry_projects",
        "jwt_algorithms",
        "admin_roles",
        "cors_allow_origins",
        "database_monitors",
        "auth_monitors",
        mode="before",
    )
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("uptimerobot_base_url", "sentry_base_url")
    @classmethod
    def _validate_base_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("jwt_jwks_url")
    @classmethod
    def _validate_jwks_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_base_url(value)

    @field_validator("jwt_algorithms")
    @classmethod
    def _validate_algorithms(cls, value: list[str]) -> list[str]:
        names = [name.upper() for name in value]
        unknown = [name for name in names if name not in KNOWN_ALGORITHMS]
        if unknown or not names:
            raise ValueError(
                f"unknown algorithm {','.join(unknown) or '(empty)'}; expected a comma list of "
                f"{', '.join(sorted(KNOWN_ALGORITHMS))}"
            )
        return names

    @model_validator(mode="after")
    def _validate_combination(self) -> Settings:
        _check_jwt_keys(self)
        if not self.demo_mode:
            _check_production(self)
        return self

    @property
    def public_components(self) -> list[ComponentConfig] | None:
        """The component map in force, or ``None`` for one public component per monitor.

        Demo mode falls back to the map of the default watched system that the simulator serves.
        """
        if self.components is None and self.demo_mode:
            return DEFAULT_COMPONENTS
        return self.components

    @property
    def jwt_hmac_secret(self) -> str | None:
        """The HMAC secret in use: the configured one, or the demo key in demo mode."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.demo_mode and self.jwt_public_key is None and self.jwt_jwks_url is None:
            return DEMO_JWT_SECRET
        return None


def _check_jwt_keys(settings: Settings) -> None:
    algorithms = set(settings.jwt_algorithms)
    has_asymmetric_key = settings.jwt_public_key is not None or settings.jwt_jwks_url is not None
    if has_asymmetric_key and algorithms & HMAC_ALGORITHMS:
        raise ValueError(
            "JWT_ALGORITHMS must not contain an HMAC algorithm when JWT_PUBLIC_KEY or "
            "JWT_JWKS_URL is set; use RS*, ES* or PS* algorithms"
        )
    if settings.jwt_secret is None:
        return
    secret = settings.jwt_secret.get_secret_value()
    if any(marker in secret for marker in PUBLIC_KEY_MARKERS):
        raise ValueError("JWT_SECRET looks like a public key; set it as JWT_PUBLIC_KEY instead")
    if len(secret.encode()) < 32 or secret.isdigit():
        raise ValueError("JWT_SECRET must be at least 32 bytes of random text, not only digits")
    if algorithms & ASYMMETRIC_ALGORITHMS:
        raise ValueError("JWT_ALGORITHMS must be HS256, HS384 or HS512 when JWT_SECRET is set")


def _check_production(settings: Settings) -> None:
    if settings.uptimerobot_api_key is None:
        raise ValueError("UPTIMEROBOT_API_KEY is not set; set it or run with DEMO_MODE=true")
    if settings.sentry_auth_token is None:
        raise ValueError("SENTRY_AUTH_TOKEN is not set; set it or run with DEMO_MODE=true")
    if not settings.sentry_org:
        raise ValueError("SENTRY_ORG is not set; set it to your Sentry organization slug")
    keys = [settings.jwt_secret, settings.jwt_public_key, settings.jwt_jwks_url]
    if all(key is None for key in keys):
        raise ValueError(
            "JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL must be set to protect admin endpoints"
        )
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value() == (
        DEMO_JWT_SECRET
    ):
        raise ValueError("JWT_SECRET is the demo-only key; set a secret of your own")


def _describe(error: ValidationError) -> str:
    """Turn the first validation error into ``VARIABLE: what is expected``."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    variable = location[0].upper()
    if len(location) > 1:
        variable = f"{variable} (at {'.'.join(location[1:])})"
    value = first.get("input")
    hidden = location[0] in _SECRET_FIELDS or isinstance(value, dict)
    echoed_value = "" if hidden else f" (got {value!r})"
    return f"{variable} is invalid: {message}{echoed_value}"


_SECRET_FIELDS = {
    "uptimerobot_api_key",
    "sentry_auth_token",
    "jwt_secret",
    "jwt_public_key",
    "sentry_dsn",
    "uptimerobot_webhook_token",
    "sentry_webhook_secret",
    "report_webhook_url",
}


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, raising ``SettingsError`` with one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
