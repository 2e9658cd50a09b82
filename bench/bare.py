"""A bare ASGI endpoint: the bytes of a captured response, served with no framework at all.

It is the ceiling the public status endpoint is compared with. It responds to every HTTP
request with the same status line, headers and body, which it reads from a file written by the
throughput benchmark. It runs under the uvicorn settings that ``lookout serve`` uses, so the two
servers differ only in the application.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def constant_app(body: bytes, headers: list[tuple[str, str]]) -> ASGIApp:
    """Build an ASGI app that responds to every request with ``body`` and ``headers``."""
    raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    start = {"type": "http.response.start", "status": 200, "headers": raw_headers}
    end = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(end)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="Port to listen on (127.0.0.1).")
    parser.add_argument(
        "--response",
        type=Path,
        required=True,
        help="JSON file with the captured response: {'headers': [[name, value]], 'body': text}.",
    )
    args = parser.parse_args()
    captured = json.loads(args.response.read_text())
    app = constant_app(
        captured["body"].encode(), [(name, value) for name, value in captured["headers"]]
    )
    # The same settings as `lookout serve` gives uvicorn (but the graceful-shutdown bound).
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
