"""uvicorn's server, with one change: the app hears of a stop signal before uvicorn waits.

On SIGTERM or SIGINT uvicorn stops accepting connections, waits up to its graceful timeout for
the open ones to finish, and only then runs the app's shutdown. An open status stream never
finishes by itself, so the stop used to wait the whole timeout and end with the streams
cancelled and an error logged. ``LookoutServer`` calls ``on_stop_signal`` on the event loop as
soon as the signal arrives, and the app ends its streams there.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

# The exit code of ``uvicorn.run`` when the server did not start (a taken port, a failed
# lifespan), kept for ``lookout serve``.
STARTUP_FAILURE = 3


class LookoutServer(uvicorn.Server):
    """A ``uvicorn.Server`` that calls ``on_stop_signal`` on its loop when a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, *, on_stop_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop_signal = on_stop_signal
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and not self._loop.is_closed():
            # A signal handler may run between any two bytecodes, so the call is queued for
            # the loop instead of running here.
            self._loop.call_soon_threadsafe(self._on_stop_signal)
