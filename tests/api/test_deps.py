"""Dependencies shared by the routers."""

from __future__ import annotations

import inspect

from app.api.deps import get_runtime


def test_get_runtime_runs_on_event_loop() -> None:
    # FastAPI runs a plain function dependency in a worker thread, a hop that costs more than
    # the whole cached public status response.
    assert inspect.iscoroutinefunction(get_runtime)
