"""An app in demo mode, its lifespan running, and clients with and without an admin token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth import mint_token
from app.config import Settings
from app.demo.app import create_simulator
from app.main import create_app

FROZEN_NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


class Harness:
    """The app under test, the simulator behind it and a client for each audience."""

    def __init__(self, app: FastAPI, simulator: FastAPI, settings: Settings) -> None:
        self.app = app
        self.simulator = simulator
        self.settings = settings
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lookout.test"
        )
        token = mint_token(settings, role="super_admin", ttl="1h")
        self.admin_headers = {"Authorization": f"Bearer {token}"}

    @property
    def faults(self) -> Any:
        return self.simulator.state.simulator.faults

    @property
    def calls(self) -> Any:
        return self.simulator.state.simulator.calls

    async def admin_get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.admin_headers, **kwargs)


@pytest.fixture
def make_harness() -> Callable[..., Any]:
    """Build a harness factory; each harness runs the app's lifespan for the test."""

    def factory(**overrides: Any) -> Any:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, demo_mode=True, poller_enabled=False, **overrides
        )
        simulator = create_simulator(clock=lambda: FROZEN_NOW)
        app = create_app(
            settings,
            transport=httpx.ASGITransport(app=simulator),
            clock=lambda: FROZEN_NOW,
        )
        return _running(app, simulator, settings)

    return factory


class _running:
    def __init__(self, app: FastAPI, simulator: FastAPI, settings: Settings) -> None:
        self._app = app
        self._harness = Harness(app, simulator, settings)
        self._lifespan: Any = None

    async def __aenter__(self) -> Harness:
        self._lifespan = self._app.router.lifespan_context(self._app)
        await self._lifespan.__aenter__()
        return self._harness

    async def __aexit__(self, *exc: object) -> None:
        await self._harness.client.aclose()
        await self._lifespan.__aexit__(None, None, None)


@pytest.fixture
async def harness(make_harness: Callable[..., Any]) -> AsyncIterator[Harness]:
    async with make_harness() as running:
        yield running
