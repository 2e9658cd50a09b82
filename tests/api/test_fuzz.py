"""Fuzz the app over its own OpenAPI spec: every GET operation and the admin refresh, in-process.

Schemathesis generates valid and invalid requests from /openapi.json and sends them to the demo
app through ASGI, with the app's lifespan running and the simulator behind it. Every response
must be a documented status with a matching body and no 5xx, and every error response must be
the JSON error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.python import asgi
from schemathesis.schemas import BaseSchema

from app.auth import mint_token
from app.config import Settings
from app.demo.app import create_simulator
from app.main import create_app
from tests.api.conftest import FROZEN_NOW

# The status stream never ends, so a request to it would never complete.
STREAM_PATH = "/api/v1/status/stream"
LEGACY_ADMIN_PATHS = {
    "/api/monitoring/system-status",
    "/api/monitoring/error-stats",
    "/api/monitoring/incidents",
}
# Readiness returns 503 with its own body, which lists every snapshot key.
READINESS_PATH = "/readyz"

# Examples per operation and generation mode, kept small so the whole file runs in seconds.
MAX_EXAMPLES = 25
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# A project must be one of SENTRY_PROJECTS, and a week must have started and be at most 90 days
# old. The schema cannot express that, so a value it allows may still get the documented 422.
SEMANTIC_422_PATHS = r"^/api/v1/admin/errors$|^/api/v1/admin/reports/weekly"
ACCEPTED_VALID_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


def fuzz_settings() -> Settings:
    """Demo settings with rate limits far above what the fuzzer sends, so no 429 hides a body."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        poller_enabled=False,
        rate_limit_public_per_minute=1_000_000,
        rate_limit_refresh_per_minute=1_000_000,
    )


def build_app(settings: Settings) -> FastAPI:
    simulator = create_simulator(clock=lambda: FROZEN_NOW)
    return create_app(
        settings, transport=httpx.ASGITransport(app=simulator), clock=lambda: FROZEN_NOW
    )


def is_admin(path: str) -> bool:
    return path.startswith("/api/v1/admin/") or path in LEGACY_ADMIN_PATHS


def can_be_invalid(operation: dict[str, Any]) -> bool:
    """Return whether some parameter of the operation has a value its schema rejects.

    A path parameter that is any string has none, so a negative run could generate no case.
    """
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        plain_string = schema.get("type") == "string" and not (
            set(schema) - {"type", "title", "description"}
        )
        if parameter["in"] != "path" or not plain_string:
            return True
    return False


def fuzz_targets() -> list[tuple[str, str, GenerationMode]]:
    """List every GET operation but the stream, and the admin refresh, with the modes to run."""
    spec = build_app(fuzz_settings()).openapi()
    targets = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            fuzzed = (method == "get" and path != STREAM_PATH) or (
                method == "post" and path == "/api/v1/admin/refresh"
            )
            if not fuzzed:
                continue
            targets.append((method.upper(), path, GenerationMode.POSITIVE))
            if can_be_invalid(operation):
                targets.append((method.upper(), path, GenerationMode.NEGATIVE))
    return targets


@pytest.fixture(scope="module")
def fuzz_app() -> FastAPI:
    return build_app(fuzz_settings())


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: FastAPI) -> Iterator[BaseSchema]:
    """Load the app's spec in-process, which starts the app's lifespan until the module ends."""
    config = schemathesis.Config.from_dict(
        {
            "operations": [
                {
                    "include-path-regex": SEMANTIC_422_PATHS,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ACCEPTED_VALID_STATUSES}
                    },
                }
            ]
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, config=config)
    yield schema
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def admin_headers() -> dict[str, str]:
    token = mint_token(fuzz_settings(), role="super_admin", ttl="1h")
    return {"Authorization": f"Bearer {token}"}


def assert_error_body(path: str, response: Any) -> None:
    """Check that an error response is JSON with exactly a string `detail` and `code`."""
    if response.status_code < 400 or (path == READINESS_PATH and response.status_code == 503):
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), content_type

    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert isinstance(body["detail"], str), body
    assert isinstance(body["code"], str), body


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    fuzz_targets(),
    ids=lambda value: value.value if isinstance(value, GenerationMode) else str(value),
)
def test_operation_conforms_to_its_schema(
    fuzz_schema: BaseSchema,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = fuzz_schema[path][method]
    headers = admin_headers if is_admin(path) else None

    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @FUZZ_SETTINGS
    def check(case: Case) -> None:
        response = case.call()

        assert response.status_code < 500, response.text
        case.validate_response(response)
        assert_error_body(path, response)

    check()
