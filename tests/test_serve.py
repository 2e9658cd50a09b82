"""``lookout serve`` as a process: a stop signal ends open status streams at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 30.0
# uvicorn's graceful-shutdown bound in `lookout serve` is 5 s; a stop that waits for an open
# stream takes at least that long.
STOP_BOUND_S = 4.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """Run `lookout serve` in demo mode on a free loopback port; stop it after the test."""
    port = _free_port()
    log_path = tmp_path / "serve.log"
    environ = {**os.environ, "DEMO_MODE": "true", "POLLER_ENABLED": "false"}
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=tmp_path
        )
    try:
        _wait_until_healthy(port, process)
        yield process, port, log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _wait_until_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "lookout serve exited before it was ready"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"lookout serve did not answer /healthz within {START_TIMEOUT_S} s")


def _open_stream(port: int) -> socket.socket:
    """Open a status stream and read until its first status event arrived."""
    stream = socket.create_connection(("127.0.0.1", port), timeout=10)
    stream.sendall(
        b"GET /api/v1/status/stream HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    received = b""
    while b"event: status" not in received:
        chunk = stream.recv(65536)
        assert chunk, "the stream closed before its first event"
        received += chunk
    return stream


def _read_until_closed(stream: socket.socket) -> None:
    while stream.recv(65536):
        pass


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_stop_signal_ends_open_stream_without_waiting(
    served: tuple[subprocess.Popen[bytes], int, Path], stop_signal: signal.Signals
) -> None:
    process, port, log_path = served
    stream = _open_stream(port)

    started = time.monotonic()
    process.send_signal(stop_signal)
    _read_until_closed(stream)
    process.wait(timeout=15)
    stopped_after_s = time.monotonic() - started
    stream.close()

    log = log_path.read_text(errors="replace")
    # uvicorn raises the captured signal again once it has shut down cleanly.
    assert process.returncode in (0, -stop_signal)
    assert stopped_after_s < STOP_BOUND_S
    assert "Traceback" not in log
    assert "lookout stopped" in log
