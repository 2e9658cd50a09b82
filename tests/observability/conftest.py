"""Fixtures for the observability tests: settings with known secrets, a clock, Sentry capture."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import unignore_logger
from sentry_sdk.transport import Transport

from app.config import Settings
from app.observability.reporting import HANDLED_FAILURE_LOGGERS

UPTIMEROBOT_KEY = "u1234567-abcdefghijklmnopqrstuvwx"
SENTRY_TOKEN = "sntrys_tokenvalue0123456789abcdefghij"
JWT_SECRET = "jwt-signing-secret-for-tests-0123456789"
WEBHOOK_TOKEN = "webhook-path-token-9876543210"
WEBHOOK_SECRET = "sentry-webhook-hmac-secret-5555"
DSN_KEY = "dsnpublickey0123456789abcdef"
DSN = f"http://{DSN_KEY}@127.0.0.1:9/4242"

SECRETS = (UPTIMEROBOT_KEY, SENTRY_TOKEN, JWT_SECRET, WEBHOOK_TOKEN, WEBHOOK_SECRET, DSN_KEY)


def make_settings(**overrides: Any) -> Settings:
    """Production-like settings holding the known secrets above, ignoring any ``.env``."""
    values: dict[str, Any] = {
        "uptimerobot_api_key": UPTIMEROBOT_KEY,
        "sentry_auth_token": SENTRY_TOKEN,
        "sentry_org": "acme",
        "jwt_secret": JWT_SECRET,
        "uptimerobot_webhook_token": WEBHOOK_TOKEN,
        "sentry_webhook_secret": WEBHOOK_SECRET,
        "sentry_dsn": DSN,
        "poller_enabled": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class FakeClock:
    """Monotonic seconds that only move when a test advances them."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryTransport(Transport):
    """A Sentry transport that keeps envelopes in memory and sends nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            event = envelope.get_event()
            if event is not None:
                found.append(dict(event))
        return found

    def serialized(self) -> str:
        return "".join(envelope.serialize().decode("utf-8") for envelope in self.envelopes)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sentry_transport() -> Iterator[MemoryTransport]:
    """An in-memory transport; the Sentry SDK is reset afterwards so other tests see no client."""
    transport = MemoryTransport()
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_isolation_scope().clear()
    sentry_sdk.get_current_scope().clear()
    for name in HANDLED_FAILURE_LOGGERS:
        unignore_logger(name)


@pytest.fixture
def restore_root_logger() -> Iterator[logging.Logger]:
    """Restore the root logger's handlers and level, and uvicorn's loggers, after the test."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    uvicorn_state = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (saved_handlers, propagate) in uvicorn_state.items():
        logging.getLogger(name).handlers[:] = saved_handlers
        logging.getLogger(name).propagate = propagate
