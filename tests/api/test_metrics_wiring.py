"""The app exposes its own metrics: upstream calls, snapshot reads and requests."""

from __future__ import annotations

from tests.api.conftest import Harness


async def test_metrics_count_upstream_calls(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")

    text = (await harness.client.get("/metrics")).text

    assert 'source="uptimerobot"' in text
    assert 'outcome="ok"' in text


async def test_metrics_count_snapshot_misses_then_hits(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")
    harness.app.state.runtime.views._view = None
    await harness.client.get("/api/v1/status")

    lines = (await harness.client.get("/metrics")).text.splitlines()

    monitors = [line for line in lines if 'kind="uptimerobot:monitors"' in line]
    assert any('outcome="miss"' in line and line.endswith(" 1.0") for line in monitors)
    assert any('outcome="hit"' in line and line.endswith(" 1.0") for line in monitors)


async def test_response_echoes_request_id(harness: Harness) -> None:
    response = await harness.client.get("/healthz", headers={"X-Request-ID": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"
