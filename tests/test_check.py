"""``lookout check``: one fetch of every source and a one-screen summary."""

from __future__ import annotations

import io

from app.check import run_check
from app.config import Settings


async def test_check_summarises_demo_sources_and_light_reasons() -> None:
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]
    out = io.StringIO()

    code = await run_check(settings, out)

    text = out.getvalue()
    assert code == 0
    assert "uptimerobot:monitors" in text
    assert "Overall: " in text
    assert "  light: " in text
    assert "Staging" in text
