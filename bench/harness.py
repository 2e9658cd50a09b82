"""Processes the benchmarks run: the upstream simulator, Lookout and a bare ASGI server.

Every server listens on 127.0.0.1 on a free port, runs in its own process group with its output
in a log file, and is stopped (SIGTERM, then SIGKILL) when its ``with`` block ends, whatever
happened inside it. Lookout runs as ``lookout serve``, the way it is deployed, with settings
passed through the environment and a temporary working directory so no ``.env`` file leaks in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 3000

# Settings a developer's shell could carry into the app; the benchmarks set their own.
_INHERITED_PREFIXES = (
    "UPTIMEROBOT_",
    "SENTRY_",
    "JWT_",
    "CACHE_TTL_",
    "REDIS_",
    "DEMO_",
    "POLLER_",
    "RATE_LIMIT_",
    "LOG_",
    "ADMIN_",
    "COMPONENTS",
    "CORS_",
)
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, a request failed)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_environ() -> dict[str, str]:
    """Copy the environment without Lookout settings or proxy settings.

    Without proxies, every upstream call goes straight to the simulator on 127.0.0.1.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(_INHERITED_PREFIXES) and name.lower() not in _PROXY_VARIABLES
    }
    env["NO_PROXY"] = HOST
    return env


def client(timeout_s: float = 10.0) -> httpx.Client:
    """Build an HTTP client for 127.0.0.1 that ignores proxy settings."""
    return httpx.Client(timeout=timeout_s, trust_env=False)


@dataclass
class Server:
    """A server process started by the benchmarks, with its URL and log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-LOG_TAIL_CHARS:]

    def count_log_lines(self, text: str) -> int:
        """Count the lines of the server's log that contain ``text``."""
        try:
            log = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return sum(text in line for line in log.splitlines())

    def peak_rss_kib(self) -> int:
        """Read the process's peak resident set size (``VmHWM``) in KiB from /proc."""
        return _proc_status_kib(self.pid, "VmHWM")

    def rss_kib(self) -> int:
        """Read the process's current resident set size (``VmRSS``) in KiB from /proc."""
        return _proc_status_kib(self.pid, "VmRSS")


def _proc_status_kib(pid: int, field_name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {field_name} line")


def stop(server: Server) -> None:
    """Stop ``server``'s whole process group: SIGTERM, then SIGKILL after a grace period."""
    process = server.process
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def serve(
    name: str,
    argv: list[str],
    *,
    port: int,
    ready_path: str,
    env: Mapping[str, str] | None = None,
    workdir: Path,
) -> Iterator[Server]:
    """Start ``argv`` in a new process group, wait until ``ready_path`` returns 200, then yield.

    The process is stopped when the block ends, also when starting it failed.
    """
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**_clean_environ(), **(env or {})},
            cwd=workdir,
            start_new_session=True,
        )
    server = Server(name=name, process=process, port=port, log_path=log_path)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        stop(server)


def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with client(2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(
                    f"{server.name} exited with code {server.process.returncode} before it was "
                    f"ready; its log ends with:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if http.get(server.url + path).status_code == 200:
                    return
            time.sleep(0.1)
    raise BenchError(
        f"{server.name} did not answer {path} within {START_TIMEOUT_S:.0f} s; its log ends "
        f"with:\n{server.log_tail()}"
    )


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A temporary directory for logs and working directories, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as path:
        yield Path(path)


def _python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@contextlib.contextmanager
def simulator(
    workdir: Path, *, monitors: int | None = None, issues: int | None = None, name: str = "sim"
) -> Iterator[Server]:
    """Run ``lookout simulate`` on a free port."""
    port = free_port()
    argv = _python_module("app.cli", "simulate", "--host", HOST, "--port", str(port))
    if monitors is not None:
        argv += ["--monitors", str(monitors)]
    if issues is not None:
        argv += ["--issues", str(issues)]
    with serve(name, argv, port=port, ready_path="/_simulator/stats", workdir=workdir) as server:
        yield server


@dataclass
class AppConfig:
    """The environment of one Lookout process pointed at a simulator."""

    simulator_url: str
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(30)[:40])
    extra: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        env = {
            "DEMO_MODE": "false",
            "UPTIMEROBOT_BASE_URL": f"{self.simulator_url}/v2",
            "UPTIMEROBOT_API_KEY": "ur-bench-read-only-key",
            "SENTRY_BASE_URL": self.simulator_url,
            "SENTRY_ORG": "demo",
            "SENTRY_AUTH_TOKEN": "bench-sentry-token",
            "JWT_SECRET": self.jwt_secret,
            # The throughput runs send thousands of requests a second from one address; the
            # per-client limit would answer them with 429 and measure the limiter instead.
            "RATE_LIMIT_PUBLIC_PER_MINUTE": "100000000",
        }
        env.update(self.extra)
        return env


@contextlib.contextmanager
def lookout(
    workdir: Path, config: AppConfig, *, name: str = "lookout", script: Path | None = None
) -> Iterator[Server]:
    """Run ``lookout serve`` on a free port with ``config``'s environment.

    ``script`` runs instead of ``app.cli``, taking the same arguments (``bench/floor.py``).
    """
    port = free_port()
    command = [sys.executable, str(script)] if script is not None else _python_module("app.cli")
    argv = [*command, "serve", "--host", HOST, "--port", str(port)]
    app_dir = workdir / name
    app_dir.mkdir(exist_ok=True)
    with serve(
        name, argv, port=port, ready_path="/healthz", env=config.environ(), workdir=app_dir
    ) as server:
        yield server


def mint_admin_token(workdir: Path, config: AppConfig) -> str:
    """Mint an admin token with ``lookout token`` and the app's ``JWT_SECRET``."""
    result = subprocess.run(
        _python_module("app.cli", "token", "--ttl", "1h"),
        env={**_clean_environ(), **config.environ()},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"lookout token failed: {result.stderr.strip()}")
    return result.stdout.strip()


class SimulatorControl:
    """The simulator's control endpoints: fault plans, call counts and reset."""

    def __init__(self, server: Server) -> None:
        self._url = server.url

    def set_latency(self, latency_ms: int) -> None:
        """Delay every call of both upstreams by ``latency_ms``."""
        with client() as http:
            for upstream in ("uptimerobot", "sentry"):
                response = http.put(
                    f"{self._url}/_simulator/faults/{upstream}", json={"latency_ms": latency_ms}
                )
                response.raise_for_status()

    def calls(self) -> dict[str, int]:
        """Return the call counts by key, such as ``uptimerobot:getMonitors``."""
        with client() as http:
            response = http.get(f"{self._url}/_simulator/stats")
            response.raise_for_status()
            body: dict[str, Any] = response.json()
        return {str(key): int(value) for key, value in body["calls"].items()}

    def reset(self) -> None:
        with client() as http:
            http.post(f"{self._url}/_simulator/reset").raise_for_status()


def resource_calls(calls: Mapping[str, int]) -> dict[str, int]:
    """Keep the per-resource counts: drop the per-upstream totals the simulator also keeps."""
    return {key: count for key, count in calls.items() if ":" in key}


def subtract(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """Return the calls made between two readings of the counts."""
    return {
        key: after[key] - before.get(key, 0) for key in after if after[key] - before.get(key, 0)
    }


def wait_until_available(url: str, path: str = "/api/v1/status", timeout_s: float = 60.0) -> None:
    """Wait until ``path`` answers 200 with ``stale: false`` (every source fetched)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with client(30.0) as http:
        while time.monotonic() < deadline:
            try:
                response = http.get(url + path)
                if response.status_code == 200 and response.json().get("stale") is False:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
    raise BenchError(f"{url}{path} was not fresh within {timeout_s:.0f} s (last: {last})")
