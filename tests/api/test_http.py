"""Response helpers: model bodies serialised straight to bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from app.api.http import ADMIN_CACHE_CONTROL, admin_model, cors_enabled, json_bytes
from app.config import Settings
from tests.observability.conftest import make_settings


class Sample(BaseModel):
    name: str
    at: datetime
    values: list[float]


SAMPLE = Sample(name='Zürich "API"', at=datetime(2026, 3, 10, tzinfo=UTC), values=[1, 2.5])


def test_json_bytes_matches_model_dump_json() -> None:
    body = json_bytes(SAMPLE)

    assert isinstance(body, bytes)
    assert body == SAMPLE.model_dump_json().encode()


def test_admin_model_sends_json_bytes_uncached() -> None:
    response = admin_model(SAMPLE)

    assert response.body == SAMPLE.model_dump_json().encode()
    assert response.headers["cache-control"] == ADMIN_CACHE_CONTROL
    assert response.media_type == "application/json"


def test_cors_disabled_without_origins_outside_demo_mode() -> None:
    assert cors_enabled(make_settings()) is False


def test_cors_enabled_by_configured_origins() -> None:
    settings = make_settings(cors_allow_origins=["https://app.example.com"])

    assert cors_enabled(settings) is True


def test_cors_enabled_in_demo_mode() -> None:
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]

    assert cors_enabled(settings) is True
