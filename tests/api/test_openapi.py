"""The OpenAPI spec front ends generate types from: named schemas, field descriptions, examples,
documented errors and the bearer scheme."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_schema_validator import OAS31Validator
from pydantic import BaseModel

from app.api import errors as error_models
from app.config import Settings
from app.main import create_app
from app.models import admin as admin_models
from app.models import api as public_models
from app.models import report as report_models
from app.observability.ratelimit import rule_for
from app.services import pages as page_services
from app.services import webhooks as webhook_services

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
LEGACY_ADMIN_PATHS = {
    "/api/monitoring/system-status",
    "/api/monitoring/error-stats",
    "/api/monitoring/incidents",
}
ERROR_SCHEMA = "#/components/schemas/ErrorBody"
# Where the models behind top-level response schemas are defined.
RESPONSE_MODULES = (
    public_models,
    admin_models,
    report_models,
    error_models,
    page_services,
    webhook_services,
)

# Operations that never return 503: they read no snapshot, (webhooks) accept the call, or
# (badges) show a grey "no data" badge while nothing is known.
NEVER_UNAVAILABLE = {
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/status/stream"),
    ("post", "/api/v1/webhooks/uptimerobot/{token}"),
    ("post", "/api/v1/webhooks/sentry"),
    ("get", "/badge/status.svg"),
    ("get", "/badge/uptime/{component}.svg"),
    ("get", "/badge/{component}.json"),
}
# Readiness returns 503 with its own body, which lists every snapshot key, not an error body.
READINESS = ("get", "/readyz")
# The status page returns 503 with a short HTML page for people, not a JSON error body.
STATUS_PAGE = ("get", "/status")

# Schemas whose fields have no descriptions yet; remove a name once its fields are described.
UNDESCRIBED_SCHEMAS: set[str] = set()
# Response schemas without an example yet.
UNEXAMPLED_SCHEMAS: set[str] = set()
# Schemas FastAPI had to name by module path because two models share a class name.
MANGLED_SCHEMA_NAMES: set[str] = set()


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]
    return create_app(settings)


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def is_admin(path: str) -> bool:
    return path.startswith("/api/v1/admin/") or path in LEGACY_ADMIN_PATHS


def json_schema_of(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content", {})
    media = content.get("application/json")
    if media is None:
        return None
    schema: dict[str, Any] = media.get("schema", {})
    return schema


def error_schema_problems(operation: dict[str, Any], status: str) -> list[str]:
    """Say what is wrong with the documentation of one error status, or nothing."""
    response = operation["responses"].get(status)
    if response is None:
        return [f"{status} is not documented"]
    schema = json_schema_of(response)
    if schema is None or schema.get("$ref") != ERROR_SCHEMA:
        return [f"{status} does not use the error body: {response.get('content')}"]
    return []


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.removeprefix("#/components/schemas/")
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def reachable_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas that some operation's responses use, directly or not."""
    schemas = spec["components"]["schemas"]
    pending = [
        name
        for _, _, operation in operations(spec)
        for name in refs_in(operation.get("responses", {}))
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(refs_in(schemas[name]))
    return seen


def top_level_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas that operations' responses reference directly."""
    return {
        name
        for _, _, operation in operations(spec)
        for response in operation["responses"].values()
        for name in refs_in(json_schema_of(response) or {})
    }


def model_named(name: str) -> type[BaseModel]:
    for module in RESPONSE_MODULES:
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise LookupError(f"no response model named {name}")


def test_json_responses_reference_named_schemas(spec: dict[str, Any]) -> None:
    unnamed = []
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            schema = json_schema_of(response)
            if schema is not None and "$ref" not in schema:
                unnamed.append(f"{method.upper()} {path} {status}: {schema}")

    assert unnamed == []


def test_json_success_responses_are_named(spec: dict[str, Any]) -> None:
    json_operations = 0
    for method, path, operation in operations(spec):
        success = operation["responses"].get("200") or operation["responses"].get("202")
        schema = json_schema_of(success) if success else None
        if schema is None:
            continue
        json_operations += 1
        assert "$ref" in schema, f"{method.upper()} {path}"

    assert json_operations >= 20


def test_component_names_are_plain_model_names(spec: dict[str, Any]) -> None:
    mangled = {name for name in spec["components"]["schemas"] if "__" in name}

    assert mangled == MANGLED_SCHEMA_NAMES


def test_component_properties_have_descriptions(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    undescribed = [
        f"{name}.{prop}"
        for name in sorted(reachable_schemas(spec) - UNDESCRIBED_SCHEMAS)
        for prop, definition in schemas[name].get("properties", {}).items()
        if not str(definition.get("description", "")).strip()
    ]

    assert undescribed == []


def test_undescribed_exceptions_are_still_needed(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in sorted(UNDESCRIBED_SCHEMAS):
        properties = schemas[name].get("properties", {}).values()
        assert any(not item.get("description") for item in properties), (
            f"{name} is fully described now; remove it from UNDESCRIBED_SCHEMAS"
        )


def test_response_schemas_have_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    names = top_level_schemas(spec) - UNEXAMPLED_SCHEMAS

    assert sorted(name for name in names if "example" not in schemas[name]) == []


@pytest.mark.parametrize("name", sorted(UNEXAMPLED_SCHEMAS))
def test_unexampled_exceptions_are_still_needed(spec: dict[str, Any], name: str) -> None:
    assert "example" not in spec["components"]["schemas"][name]


def test_examples_round_trip_through_models(spec: dict[str, Any]) -> None:
    checked = 0
    for name in sorted(top_level_schemas(spec) - UNEXAMPLED_SCHEMAS):
        model = model_named(name)
        # The model's own example: /openapi.json has lost its null values (see below).
        example = model.model_json_schema()["example"]
        dumped = model.model_validate(example).model_dump(mode="json", by_alias=True)
        assert dumped == example, f"{name}: the example has fields the model drops or changes"
        checked += 1

    assert checked >= 20


def test_examples_validate_against_published_schemas(spec: dict[str, Any]) -> None:
    # FastAPI 0.165 drops null values from every example when it builds /openapi.json
    # (get_openapi encodes with exclude_none=True), so a required nullable field that is null
    # in an example would leave the published example invalid.
    schemas = spec["components"]["schemas"]
    with_examples = sorted(name for name, schema in schemas.items() if "example" in schema)
    for name in with_examples:
        root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        validator = OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)
        errors = [error.message for error in validator.iter_errors(schemas[name]["example"])]
        assert errors == [], name

    assert len(with_examples) >= 20


def test_admin_operations_document_auth_errors(spec: dict[str, Any]) -> None:
    problems = [
        f"{method.upper()} {path}: {problem}"
        for method, path, operation in operations(spec)
        if is_admin(path)
        for status in ("401", "403")
        for problem in error_schema_problems(operation, status)
    ]

    assert problems == []


def test_operations_with_parameters_document_422(spec: dict[str, Any]) -> None:
    problems = [
        f"{method.upper()} {path}: {problem}"
        for method, path, operation in operations(spec)
        if operation.get("parameters")
        for problem in error_schema_problems(operation, "422")
    ]

    assert problems == []


def test_operations_reading_snapshots_document_503(spec: dict[str, Any]) -> None:
    problems = [
        f"{method.upper()} {path}: {problem}"
        for method, path, operation in operations(spec)
        if (method, path) not in NEVER_UNAVAILABLE
        and (method, path) not in (READINESS, STATUS_PAGE)
        for problem in error_schema_problems(operation, "503")
    ]

    assert problems == []


def test_readiness_documents_503_with_its_own_body(spec: dict[str, Any]) -> None:
    method, path = READINESS
    response = spec["paths"][path][method]["responses"]["503"]

    assert json_schema_of(response) == {"$ref": "#/components/schemas/Readiness"}


def test_status_page_documents_html_503(spec: dict[str, Any]) -> None:
    method, path = STATUS_PAGE
    response = spec["paths"][path][method]["responses"]["503"]

    assert set(response["content"]) == {"text/html"}
    assert "Retry-After" in response["headers"]


def test_rate_limited_operations_document_429(spec: dict[str, Any]) -> None:
    limited = [
        (method, path, operation)
        for method, path, operation in operations(spec)
        if rule_for(method.upper(), path) is not None
    ]
    problems = [
        f"{method.upper()} {path}: {problem}"
        for method, path, operation in limited
        for problem in error_schema_problems(operation, "429")
    ]

    assert len(limited) >= 10
    assert problems == []


def test_retry_after_is_documented_on_429_and_503(spec: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path} {status}"
        for method, path, operation in operations(spec)
        for status in ("429", "503")
        if status in operation["responses"] and (method, path) != READINESS
        if "Retry-After" not in operation["responses"][status].get("headers", {})
    ]

    assert missing == []


def test_error_responses_use_the_error_body(spec: dict[str, Any]) -> None:
    problems = [
        f"{method.upper()} {path}: {problem}"
        for method, path, operation in operations(spec)
        for status in operation["responses"]
        if status[0] in "45"
        and (method, path, status) not in ((*READINESS, "503"), (*STATUS_PAGE, "503"))
        for problem in error_schema_problems(operation, status)
    ]

    assert problems == []


def test_bearer_scheme_is_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]

    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["HTTPBearer"]["bearerFormat"] == "JWT"


def test_admin_operations_require_bearer(spec: dict[str, Any]) -> None:
    admin = [(method, path, op) for method, path, op in operations(spec) if is_admin(path)]

    assert len(admin) >= 15
    for method, path, operation in admin:
        assert operation.get("security") == [{"HTTPBearer": []}], f"{method.upper()} {path}"


def test_public_operations_require_no_auth(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if not is_admin(path):
            assert "security" not in operation, f"{method.upper()} {path}"
