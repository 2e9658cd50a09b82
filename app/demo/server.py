"""Serve the upstream simulator on a port (``lookout simulate``) for load and fault tests."""

from __future__ import annotations

import ipaddress
import logging

import uvicorn

from app.demo.app import create_simulator
from app.demo.state import utc_now
from app.demo.world import DemoWorld

logger = logging.getLogger(__name__)


def build_world(monitors: int | None = None, issues: int | None = None) -> DemoWorld:
    """Anchor a world at the current hour, grown by ``monitors`` and ``issues`` extra items."""
    options: dict[str, int] = {}
    if monitors is not None:
        if monitors < 0:
            raise ValueError(f"monitors must be 0 or more, got {monitors}")
        options["extra_monitors"] = monitors
    if issues is not None:
        if issues < 0:
            raise ValueError(f"issues must be 0 or more, got {issues}")
        options["extra_issues"] = issues
    return DemoWorld.at(utc_now(), **options)


def run_simulator(
    host: str = "127.0.0.1",
    port: int = 8001,
    monitors: int | None = None,
    issues: int | None = None,
) -> None:
    """Serve the simulator with uvicorn until interrupted.

    ``monitors`` and ``issues`` add that many generated monitors and Sentry issues on top of the
    default watched system, for load tests.
    """
    world = build_world(monitors, issues)
    if not _is_loopback(host):
        logger.warning("simulator listening on non-loopback address host=%s", host)
    logger.info(
        "simulator starting host=%s port=%s extra_monitors=%s extra_issues=%s anchor=%s",
        host,
        port,
        world.extra_monitors,
        world.extra_issues,
        world.anchor.isoformat(),
    )
    uvicorn.run(create_simulator(world=world), host=host, port=port, log_level="info")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
