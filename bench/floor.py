"""Lookout with the cached status path's per-request duties taken out: the floor of that path.

It runs ``lookout serve`` unchanged but for one method, patched in this benchmark process only.
There ``CachedStatusResponder.serve`` sends the view's prepared headers and body with a fixed
request id. It skips the rate limit, the request id, the metrics and the log line. What it still
costs against ``bench/bare.py`` is the Lookout process itself (a larger heap, background tasks)
and the dispatch to the cached view, which no change to those duties can remove. The
throughput benchmark reports it as context.
"""

from __future__ import annotations

import sys
from typing import Any

from starlette.types import Scope, Send

from app.api import fast_status
from app.cli import main

FIXED_REQUEST_ID = (b"x-request-id", b"0" * 32)


async def serve_without_duties(
    self: fast_status.CachedStatusResponder, scope: Scope, send: Send
) -> bool:
    """Send the cached status for a GET, as the real path does, but do nothing else."""
    runtime: Any = self._runtime
    if runtime is None or scope["method"] != "GET":
        return False
    view = runtime.views.peek()
    if view is None:
        return False

    prepared = self._prepared
    if prepared is None or prepared.view is not view:
        settings = runtime.settings
        prepared = self._prepared = fast_status._PreparedView.of(
            view,
            fast_status.public_cache_control(settings).encode(),
            vary_origin=fast_status.cors_enabled(settings),
        )
    headers = [*prepared.ok_headers, FIXED_REQUEST_ID]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": view.public_body})
    return True


if __name__ == "__main__":
    fast_status.CachedStatusResponder.serve = serve_without_duties  # type: ignore[method-assign]
    sys.exit(main(sys.argv[1:]))
