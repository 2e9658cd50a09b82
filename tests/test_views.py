"""StatusViews: one shared evaluation for concurrent readers of the status."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

import app.views
from app.config import Settings
from app.errors import DataUnavailable
from app.models.upstream import Monitor, MonitorsSnapshot
from app.store.memory import MemorySnapshotStore
from app.views import MONITORS_KEY, StatusViews

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
READERS = 50


def _settings() -> Settings:
    return Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]


async def _monitors() -> MonitorsSnapshot:
    return MonitorsSnapshot(monitors=[Monitor(id=1, name="API")], total=1, pages=1)


def _views(fetch: Any = _monitors) -> StatusViews:
    store = MemorySnapshotStore(max_stale_s=600, fetch_timeout_s=1.0)
    store.register(MONITORS_KEY, fetch, ttl_s=60, upstream="uptimerobot", model=MonitorsSnapshot)
    return StatusViews(store, _settings(), clock=lambda: NOW)


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    evaluate = app.views.evaluate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(app.views, "evaluate", counting)
    return calls


async def test_concurrent_readers_share_one_evaluation(evaluations: list[int]) -> None:
    views = _views()

    results = await asyncio.gather(*(views.current() for _ in range(READERS)))

    assert len(evaluations) == 1
    assert all(view is results[0] for view in results)


async def test_failed_rebuild_reaches_every_reader() -> None:
    async def failing() -> MonitorsSnapshot:
        raise TimeoutError

    views = _views(failing)

    results = await asyncio.gather(
        *(views.current() for _ in range(READERS)), return_exceptions=True
    )

    assert all(isinstance(result, DataUnavailable) for result in results)
    with pytest.raises(DataUnavailable):
        await views.current()


async def test_cancelled_reader_leaves_rebuild_running(evaluations: list[int]) -> None:
    gate = asyncio.Event()

    async def gated() -> MonitorsSnapshot:
        await gate.wait()
        return await _monitors()

    views = _views(gated)
    leaving = asyncio.create_task(views.current())
    staying = asyncio.create_task(views.current())
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()

    view = await staying

    assert leaving.cancelled()
    assert view.public_body
    assert len(evaluations) == 1


async def test_unchanged_status_keeps_body_and_etag_when_rebuilt(
    evaluations: list[int],
) -> None:
    from datetime import timedelta

    clock = {"now": NOW}
    store = MemorySnapshotStore(max_stale_s=600, fetch_timeout_s=1.0, wall_clock=lambda: NOW)
    store.register(
        MONITORS_KEY, _monitors, ttl_s=60, upstream="uptimerobot", model=MonitorsSnapshot
    )
    views = StatusViews(store, _settings(), clock=lambda: clock["now"])
    await views.current()
    first = await views.current()

    clock["now"] = NOW + timedelta(seconds=20)
    later = await views.current()

    assert len(evaluations) == 2
    assert later.public_etag == first.public_etag
    assert later.public_body == first.public_body


async def test_event_loop_keeps_running_during_evaluation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    evaluate = app.views.evaluate

    def slow_evaluate(*args: Any, **kwargs: Any) -> Any:
        # Stands for the rules over a large account, which take most of a second.
        time.sleep(0.2)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(app.views, "evaluate", slow_evaluate)
    views = _views()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await views.current()
    ticker.cancel()

    assert ticks >= 5
