"""Memory cost of idle status streams: RSS of the app before, with and after N SSE connections.

Run it as ``.venv/bin/python bench/sse_idle.py``. It starts Lookout in demo mode in a child
process (uvicorn on a free 127.0.0.1 port, the upstream simulator in-process), opens the
connections, waits until each has received its first ``status`` event, keeps them idle, reads the
child's ``VmRSS`` from ``/proc/<pid>/status`` and prints a table. Linux only, because of /proc.
Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

HOST = "127.0.0.1"
STREAM_PATH = "/api/v1/status/stream"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Round:
    """One round: RSS before opening the streams, while they are open and idle, after closing."""

    connections: int
    opened: int
    open_s: float
    rss_before_kib: int
    rss_open_kib: int
    rss_closed_kib: int


# --- the server process ------------------------------------------------------------------------


def serve() -> None:
    """Serve the demo app on a free port and print the port on the first line of stdout."""
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        demo_mode=True,
        poller_enabled=False,
        # One client opens every connection, so the per-client limit must not count them.
        rate_limit_public_per_minute=1_000_000,
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    print(listener.getsockname()[1], flush=True)

    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        ws="none",
        timeout_graceful_shutdown=5,
        backlog=4096,
    )
    uvicorn.Server(config).run(sockets=[listener])


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start ``serve()`` in a child process and return it with its base URL once it is ready."""
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    port = child.stdout.readline().strip()
    if not port.isdigit():
        stop_server(child)
        raise RuntimeError(f"the server did not report its port (got {port!r})")
    base_url = f"http://{HOST}:{port}"

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return child, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(child)
    raise RuntimeError(f"/healthz did not return 200 within {START_TIMEOUT_S:.0f} s")


def stop_server(child: subprocess.Popen[str]) -> None:
    """Stop the child with SIGTERM, then SIGKILL if it is still running after a timeout."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(STOP_TIMEOUT_S)
    if child.stdout is not None:
        child.stdout.close()


def rss_kib(pid: int) -> int:
    """Read a process's resident set size (``VmRSS``) in KiB from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line for process {pid}")


# --- the clients -------------------------------------------------------------------------------


class Streams:
    """Counts the streams that got their first status event, and releases them together."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.subscribed = 0
        self.all_subscribed = asyncio.Event()
        self.release = asyncio.Event()

    def count_subscribed(self) -> None:
        self.subscribed += 1
        if self.subscribed == self.target:
            self.all_subscribed.set()


def has_status_event(text: str) -> bool:
    """Return True when ``text`` contains a whole ``status`` event, which ends in a blank line."""
    complete_frames = text.split("\n\n")[:-1]
    return any("event: status" in frame.split("\n") for frame in complete_frames)


async def hold_stream(client: httpx.AsyncClient, streams: Streams) -> None:
    """Open one stream, count it once its first status event arrives, and idle until released."""
    async with client.stream("GET", STREAM_PATH) as response:
        received = ""
        async for text in response.aiter_text():
            received += text
            if has_status_event(received):
                break
        else:
            return
        streams.count_subscribed()
        await streams.release.wait()


async def open_round(
    client: httpx.AsyncClient, pid: int, connections: int, hold_s: float, open_timeout_s: float
) -> Round:
    """Open ``connections`` streams, hold them idle for ``hold_s`` and close them, reading RSS."""
    rss_before = rss_kib(pid)
    streams = Streams(connections)
    started = time.perf_counter()
    tasks = [asyncio.create_task(hold_stream(client, streams)) for _ in range(connections)]
    try:
        try:
            await asyncio.wait_for(streams.all_subscribed.wait(), open_timeout_s)
        except TimeoutError:
            print(
                f"only {streams.subscribed} of {connections} streams opened within "
                f"{open_timeout_s:.0f} s",
                file=sys.stderr,
            )
        open_s = time.perf_counter() - started
        await asyncio.sleep(hold_s)
        rss_open = rss_kib(pid)
        opened = streams.subscribed
    finally:
        streams.release.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Let the server notice the disconnects and unsubscribe the streams.
    await asyncio.sleep(1.0)
    return Round(
        connections=connections,
        opened=opened,
        open_s=open_s,
        rss_before_kib=rss_before,
        rss_open_kib=rss_open,
        rss_closed_kib=rss_kib(pid),
    )


async def measure(
    base_url: str, pid: int, connections: int, rounds: int, hold_s: float, open_timeout_s: float
) -> list[Round]:
    """Run ``rounds`` rounds of idle streams against the server at ``base_url`` (process ``pid``).

    A second round that barely raises RSS shows that closed streams' memory is reused.
    """
    limits = httpx.Limits(max_connections=connections + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        # One request first, so the baseline includes the fetched snapshots and built views.
        warm = await client.get("/api/v1/status")
        warm.raise_for_status()
        await asyncio.sleep(0.5)
        return [
            await open_round(client, pid, connections, hold_s, open_timeout_s)
            for _ in range(rounds)
        ]


# --- the report --------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return [
        ("CPUs (nproc)", str(os.cpu_count())),
        ("RAM", f"{total_kib / 1024 / 1024:.1f} GiB"),
        ("Python", platform.python_version()),
        ("OS", f"{platform.system()} {platform.release()}"),
    ]


def report(rounds: list[Round]) -> str:
    rows: list[tuple[str, ...]] = [
        (
            "round",
            "streams opened",
            "open + first event (s)",
            "RSS before (MiB)",
            "RSS open (MiB)",
            "per stream (KiB)",
            "RSS closed (MiB)",
        )
    ]
    for number, result in enumerate(rounds, start=1):
        per_stream_kib = (result.rss_open_kib - result.rss_before_kib) / max(result.opened, 1)
        rows.append(
            (
                str(number),
                f"{result.opened} / {result.connections}",
                f"{result.open_s:.2f}",
                f"{result.rss_before_kib / 1024:.1f}",
                f"{result.rss_open_kib / 1024:.1f}",
                f"{per_stream_kib:.1f}",
                f"{result.rss_closed_kib / 1024:.1f}",
            )
        )
    lines = [_row(rows[0]), _row(tuple("---" for _ in rows[0]))]
    lines += [_row(row) for row in rows[1:]]
    lines += ["", *(f"{name}: {value}" for name, value in machine())]
    return "\n".join(lines)


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--connections", type=int, default=500, help="number of idle streams to open per round"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="number of open, hold and close rounds"
    )
    parser.add_argument(
        "--hold", type=float, default=2.0, help="seconds to keep the streams open and idle"
    )
    parser.add_argument(
        "--timeout", type=float, default=20.0, help="maximum seconds for the whole measurement"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0

    # Each round's opening gets an equal share of what holding and closing leave of the budget.
    open_timeout_s = max((args.timeout - 1.0) / args.rounds - args.hold - 1.0, 1.0)
    child, base_url = start_server()
    try:
        run = measure(base_url, child.pid, args.connections, args.rounds, args.hold, open_timeout_s)
        rounds = asyncio.run(asyncio.wait_for(run, args.timeout))
    except TimeoutError:
        print(f"the measurement took longer than {args.timeout:.0f} s", file=sys.stderr)
        return 1
    finally:
        stop_server(child)
    print(report(rounds))
    return 0 if all(result.opened == result.connections for result in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
