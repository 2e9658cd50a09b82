"""The status page in headless Chromium at phone width: rendered DOM and no horizontal scroll.

The app runs in demo mode under uvicorn on a free loopback port. Chromium is started with the
flags that keep it off the network. Without Chromium the tests skip, unless ``CI`` is set, in
which case they fail so a missing browser cannot hide.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from app.config import Settings
from app.main import create_app

PHONE_WIDTH = 375
PHONE_HEIGHT = 800
START_TIMEOUT_S = 10.0
BROWSER_TIMEOUT_S = 30.0

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
]

# The page ships no script of its own, so the test measures its layout through DevTools.
LAYOUT_PROBE = """JSON.stringify({
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  bodyScrollWidth: document.body.scrollWidth,
  rows: document.querySelectorAll('[data-component]').length,
  narrowestBar: Math.min(...Array.from(
    document.querySelectorAll('.bars .bar'), bar => bar.getBoundingClientRect().width)),
  widestRight: Math.max(...Array.from(
    document.querySelectorAll('main *'), node => node.getBoundingClientRect().right)),
})"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Find Chromium on PATH; skip without it, but fail when ``CI`` is set."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    reason = "Chromium not found on PATH; install it with `make browser` (Debian package chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """Serve the demo app on a free loopback port for the module, always stopping it."""
    settings = Settings(_env_file=None, demo_mode=True, poller_enabled=False)  # type: ignore[call-arg]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", ws="none", lifespan="on", http="h11"
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail(f"uvicorn did not start within {START_TIMEOUT_S} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        sock.close()


class _DomSummary(HTMLParser):
    """Collect what the assertions need from the dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.components: list[str] = []
        self.bars = 0
        self.bar_labels: list[str] = []
        self.banner_text = ""
        self.stream: str | None = None
        self._in_banner_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "main":
            self.stream = values.get("data-stream")
        if tag == "li" and values.get("data-component"):
            self.components.append(values["data-component"] or "")
        if tag == "li" and "bar" in (values.get("class") or "").split() and "aria-label" in values:
            self.bars += 1
            self.bar_labels.append(values.get("aria-label") or "")
        if tag == "h2" and values.get("id") == "overall-heading":
            self._in_banner_heading = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_banner_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_banner_heading:
            self.banner_text += data


def _run_chromium(
    chromium: str, arguments: list[str], profile: Path
) -> subprocess.CompletedProcess[str]:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )


def test_status_page_renders_in_chromium(chromium: str, base_url: str, tmp_path: Path) -> None:
    screenshot = tmp_path / "status.png"

    result = _run_chromium(
        chromium,
        [f"--screenshot={screenshot}", "--dump-dom", f"{base_url}/status"],
        tmp_path / "profile",
    )

    assert result.returncode == 0, result.stderr[-2000:]
    dom = _DomSummary()
    dom.feed(result.stdout)
    assert dom.lang == "en"
    assert dom.banner_text.strip() == "All Systems Operational"
    assert dom.components == ["website", "api"]
    assert dom.bars == 2 * 90
    assert all(label.endswith(("% uptime", "no data")) for label in dom.bar_labels)
    assert dom.stream == "/api/v1/status/stream"
    assert screenshot.stat().st_size > 10_000


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + BROWSER_TIMEOUT_S
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail("Chromium did not open its DevTools port")


def _page_websocket(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
        targets = json.load(response)
    return str(next(item for item in targets if item["type"] == "page")["webSocketDebuggerUrl"])


class _DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._next_id = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=BROWSER_TIMEOUT_S))
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

    def wait_for(self, event: str) -> None:
        while json.loads(self._socket.recv(timeout=BROWSER_TIMEOUT_S)).get("method") != event:
            pass


@contextmanager
def _devtools_session(chromium: str) -> Iterator[_DevTools]:
    """Start Chromium with a DevTools port, connect to its page, and stop Chromium afterwards."""
    # Chromium helper processes may still write to the profile as the main one exits.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        profile = Path(folder)
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = _page_websocket(_devtools_port(profile, process))
            with connect(url, max_size=None, open_timeout=5) as websocket:
                yield _DevTools(websocket)
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_status_page_has_no_horizontal_scroll_on_phone(chromium: str, base_url: str) -> None:
    with _devtools_session(chromium) as devtools:
        devtools.send(
            "Emulation.setDeviceMetricsOverride",
            width=PHONE_WIDTH,
            height=PHONE_HEIGHT,
            deviceScaleFactor=2,
            mobile=True,
        )
        devtools.send("Page.enable")
        devtools.send("Page.navigate", url=f"{base_url}/status")
        devtools.wait_for("Page.loadEventFired")
        evaluated = devtools.send("Runtime.evaluate", expression=LAYOUT_PROBE, returnByValue=True)

    layout = json.loads(evaluated["result"]["value"])
    assert layout["clientWidth"] == PHONE_WIDTH
    assert layout["scrollWidth"] <= layout["clientWidth"], layout
    assert layout["bodyScrollWidth"] <= layout["clientWidth"], layout
    assert layout["widestRight"] <= PHONE_WIDTH, layout
    assert layout["rows"] == 2
    assert layout["narrowestBar"] > 1, layout
