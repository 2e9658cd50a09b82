"""Secrets audit: no configured secret reaches a response, a log record or a Sentry event.

A production-like app (not demo mode) is configured with known secret values and talks to the
upstream simulator in-process. Every endpoint is called while the upstreams succeed and while
they fail in each way they can: timeout, 5xx, 429, invalid JSON, ``stat: fail`` and a rejected
key. Each endpoint is called cold (no data yet) and again while stale data is served after a
failed refresh. A leak is any secret, or any 8-character piece of one, in what was captured.
The signatures of the admin tokens sent are audited too.

Records of the simulator's own loggers (``app.demo``) are not audited: they stand for the
upstream's side, which is given the credentials by design. A response may repeat a secret that
its own request carried (the webhook token in the path), because the caller already has it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI, Request
from jose import jwt
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.logging import unignore_logger
from sentry_sdk.transport import Transport

from app.auth import mint_token
from app.config import Settings
from app.demo.app import create_simulator
from app.demo.state import FaultPlan
from app.main import create_app
from app.observability import init_error_reporting, install_observability
from app.observability.reporting import HANDLED_FAILURE_LOGGERS

UPSTREAM = "http://upstream.test"
LOOKOUT_URL = "http://lookout.test"

UPTIMEROBOT_KEY = "u7719345-Qz4KxWv8TpLm2NrYs6JhGd"
SENTRY_TOKEN = "Aq3Wq8Ez-Vb9NmKj2HgLp-Sn7Tk4Uy"
# The simulator rejects tokens with this prefix (HTTP 403), as Sentry rejects org tokens.
REJECTED_SENTRY_TOKEN = "sntrys_Og4Tk7Ne-Jm2Ik5Ol8Pz"
JWT_SECRET = "Jw7Ts4Ec-Rt9Zq2Xk6Wv1Pm8Ln5Ry3Sh0Gd"
WEBHOOK_TOKEN = "Hk5Pa2Th-Mo6Ni4To8Rr1Ee3"
WEBHOOK_SECRET = "Hm4Ac7Ke-Yq2Xv9Wk5Pt1Nl"
DSN_KEY = "Ds6Nk3Ey-Zx8Cv1Bn4Ma7Qs"
DSN = f"http://{DSN_KEY}@127.0.0.1:9/4242"
REPORT_PATH_SECRET = "Rp2Ho5Ok-Qa9Ws3Ed6Rf"
REPORT_WEBHOOK_URL = f"http://127.0.0.1:9/hooks/{REPORT_PATH_SECRET}"

# Whole values that must never appear, and the secret parts whose 8-character pieces must not.
# The DSN's and the report URL's host and port are not secret, so only their keys are cut up.
WHOLE_SECRETS = (
    UPTIMEROBOT_KEY,
    SENTRY_TOKEN,
    REJECTED_SENTRY_TOKEN,
    JWT_SECRET,
    WEBHOOK_TOKEN,
    WEBHOOK_SECRET,
    DSN,
    REPORT_WEBHOOK_URL,
)
SECRET_PARTS = (
    UPTIMEROBOT_KEY,
    SENTRY_TOKEN,
    REJECTED_SENTRY_TOKEN,
    JWT_SECRET,
    WEBHOOK_TOKEN,
    WEBHOOK_SECRET,
    DSN_KEY,
    REPORT_PATH_SECRET,
)
PIECE_LENGTH = 8

FAILURE_KINDS = ("timeout", "5xx", "429", "bad_json", "stat_fail", "bad_key")

PUBLIC_PATHS = (
    "/api/v1/status",
    "/api/v2/status.json",
    "/api/v2/summary.json",
    "/api/monitoring/public-status",
    "/status",
    "/badge/status.svg",
    "/feed.atom",
)
COMPONENT_PATHS = ("/badge/uptime/{component}.svg", "/badge/{component}.json")
ADMIN_PATHS = (
    "/api/v1/admin/dashboard",
    "/api/v1/admin/monitors",
    "/api/v1/admin/errors",
    "/api/v1/admin/errors?project=backend&level=error&status=unresolved&query=timeout",
    "/api/v1/admin/errors/stats",
    "/api/v1/admin/performance",
    "/api/v1/admin/sla",
    "/api/v1/admin/incidents",
    "/api/v1/admin/alerts",
    "/api/v1/admin/sources",
    "/api/v1/admin/reports/weekly",
    "/api/v1/admin/reports/weekly?format=markdown",
    "/api/v1/admin/reports/weekly?format=html",
    "/api/monitoring/system-status",
    "/api/monitoring/error-stats",
    "/api/monitoring/incidents",
)
OPS_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")
STREAM_PATH = "/api/v1/status/stream"
BUG_PATH = "/_audit/bug"


def secret_pieces() -> set[str]:
    pieces: set[str] = set()
    for secret in SECRET_PARTS:
        for start in range(len(secret) - PIECE_LENGTH + 1):
            pieces.add(secret[start : start + PIECE_LENGTH])
    return pieces


PIECES = secret_pieces()


def find_leaks(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """Return the secrets and secret pieces in ``text``, skipping those of ``allowed``."""
    allowed_pieces = {
        secret[start : start + PIECE_LENGTH]
        for secret in allowed
        for start in range(len(secret) - PIECE_LENGTH + 1)
    }
    leaks = [secret for secret in WHOLE_SECRETS if secret in text and secret not in allowed]
    leaks += sorted(piece for piece in PIECES - allowed_pieces if piece in text)
    return leaks


def audit_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "demo_mode": False,
        "uptimerobot_api_key": UPTIMEROBOT_KEY,
        "uptimerobot_base_url": f"{UPSTREAM}/v2",
        "sentry_auth_token": SENTRY_TOKEN,
        "sentry_org": "demo",
        "sentry_base_url": UPSTREAM,
        "jwt_secret": JWT_SECRET,
        "uptimerobot_webhook_token": WEBHOOK_TOKEN,
        "sentry_webhook_secret": WEBHOOK_SECRET,
        "sentry_dsn": DSN,
        "report_webhook_url": REPORT_WEBHOOK_URL,
        "poller_enabled": False,
        "fetch_timeout_seconds": 2.0,
        "rate_limit_refresh_per_minute": 2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class SwitchableTimeoutTransport(httpx.AsyncBaseTransport):
    """Forwards to the simulator, or raises ``httpx.ReadTimeout`` as a real client would.

    ``httpx.ASGITransport`` enforces no timeouts, so a timeout is raised here instead of
    waiting on the simulator's sleep.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.timing_out = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.timing_out:
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        return await self.inner.handle_async_request(request)


class MemoryTransport(Transport):
    """A Sentry transport that keeps every envelope item payload in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[str] = []
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        # Envelope headers carry the DSN's public key to Sentry by design, so only the
        # items (events, breadcrumbs, sessions) are audited.
        for item in envelope.items:
            self.payloads.append(item.payload.get_bytes().decode("utf-8", "replace"))
        event = envelope.get_event()
        if event is not None:
            self.events.append(dict(event))


@dataclass
class Exchange:
    """One request made during the audit and what came back."""

    label: str
    status: int
    text: str
    carried: tuple[str, ...] = ()


@dataclass
class Audit:
    """Everything captured during one failure kind, to be checked for secrets."""

    exchanges: list[Exchange] = field(default_factory=list)
    token_signatures: set[str] = field(default_factory=set)

    def admin_headers(self, settings: Settings, role: str = "super_admin") -> dict[str, str]:
        """Mint an admin token and remember its signature, which must never be echoed."""
        token = mint_token(settings, role=role, ttl="10m")
        self.token_signatures.add(token.rsplit(".", 1)[-1])
        return {"Authorization": f"Bearer {token}"}

    def add(self, label: str, response: httpx.Response, carried: tuple[str, ...] = ()) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        text = f"{response.status_code}\n{headers}\n\n{response.text}"
        self.exchanges.append(Exchange(label, response.status_code, text, carried))


def apply_fault(simulator: FastAPI, timeouts: SwitchableTimeoutTransport, kind: str) -> None:
    faults = simulator.state.simulator.faults
    timeouts.timing_out = kind == "timeout"
    plans = {
        "5xx": (FaultPlan(error_status=503), FaultPlan(error_status=502)),
        "429": (FaultPlan(rate_limit_retry_after="7"), FaultPlan(rate_limit_retry_after="7")),
        "bad_json": (FaultPlan(malformed=True), FaultPlan(malformed=True)),
        "stat_fail": (FaultPlan(stat_fail=True), FaultPlan()),
        "bad_key": (FaultPlan(bad_key=True), FaultPlan()),
    }
    uptimerobot, sentry = plans.get(kind, (FaultPlan(), FaultPlan()))
    faults["uptimerobot"] = uptimerobot
    faults["sentry"] = sentry


def add_bug_route(app: FastAPI) -> None:
    """Add a route that fails like a Lookout bug, with the runtime in its frame variables."""

    async def bug(request: Request) -> None:
        runtime = request.app.state.runtime
        settings = runtime.settings
        sources = (runtime.uptimerobot, runtime.sentry)
        raise RuntimeError(f"audit bug with {len(sources)} sources for {settings.sentry_org}")

    app.add_api_route(BUG_PATH, bug, methods=["GET"], include_in_schema=False)


@asynccontextmanager
async def running_app(
    settings: Settings,
) -> AsyncIterator[tuple[FastAPI, FastAPI, SwitchableTimeoutTransport]]:
    simulator = create_simulator()
    timeouts = SwitchableTimeoutTransport(httpx.ASGITransport(app=simulator))
    app = create_app(settings, transport=timeouts)
    if getattr(app.state, "observability", None) is None:
        install_observability(app, settings)
    add_bug_route(app)
    async with app.router.lifespan_context(app):
        yield app, simulator, timeouts


def client_for(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 51000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=LOOKOUT_URL)


def foreign_token() -> str:
    """A well-formed admin token signed with a key Lookout does not have."""
    claims = {"sub": "intruder", "role": "super_admin", "exp": int(time.time()) + 600}
    return str(jwt.encode(claims, "another-signing-key-of-at-least-32-bytes!", "HS256"))


async def read_stream_start(app: FastAPI, path: str, timeout_s: float = 2.0) -> str:
    """Read a Server-Sent Events response until its first event, then disconnect."""
    chunks: list[bytes] = []
    status: list[int] = []
    first_event = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await first_event.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            chunks.extend(name + b": " + value for name, value in message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if b"\n\n" in b"".join(chunks) or not message.get("more_body", False):
                first_event.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"lookout.test"), (b"accept", b"text/event-stream")],
        "client": ("198.51.100.99", 51000),
        "server": ("lookout.test", 80),
        "state": {},
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(first_event.wait(), timeout_s)
    except TimeoutError:
        first_event.set()
    try:
        await asyncio.wait_for(task, timeout_s)
    except (TimeoutError, Exception):
        task.cancel()
    return f"{status}\n" + b"\n".join(chunks).decode("utf-8", "replace")


def sentry_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def call_every_endpoint(app: FastAPI, address: str, audit: Audit, phase: str) -> None:
    """Call each endpoint once as its audience would, and a few ways it can go wrong."""
    settings: Settings = app.state.runtime.settings
    admin = audit.admin_headers(settings)
    viewer = audit.admin_headers(settings, role="viewer")
    intruder = {"Authorization": f"Bearer {foreign_token()}"}

    async with client_for(app, address) as client:
        for path in PUBLIC_PATHS + OPS_PATHS:
            audit.add(f"{phase} GET {path}", await client.get(path))
        component = _first_component_id(await client.get("/api/v1/status"))
        for template in COMPONENT_PATHS:
            path = template.format(component=component)
            audit.add(f"{phase} GET {template}", await client.get(path))
        for path in ADMIN_PATHS:
            audit.add(f"{phase} GET {path}", await client.get(path, headers=admin))
        audit.add(f"{phase} no token", await client.get(ADMIN_PATHS[0]))
        audit.add(f"{phase} foreign token", await client.get(ADMIN_PATHS[0], headers=intruder))
        audit.add(f"{phase} wrong role", await client.get(ADMIN_PATHS[0], headers=viewer))
        audit.add(
            f"{phase} bad parameter",
            await client.get("/api/v1/admin/monitors/not-a-number", headers=admin),
        )
        audit.add(f"{phase} unknown path", await client.get("/api/v1/nowhere?x=1"))

        monitors = await client.get("/api/v1/admin/monitors", headers=admin)
        monitor_id = _first_monitor_id(monitors)
        audit.add(
            f"{phase} monitor",
            await client.get(f"/api/v1/admin/monitors/{monitor_id}", headers=admin),
        )

        for attempt in range(3):
            response = await client.post("/api/v1/admin/refresh", headers=admin)
            audit.add(f"{phase} refresh {attempt}", response)

        webhook_path = f"/api/v1/webhooks/uptimerobot/{WEBHOOK_TOKEN}"
        form = {"monitorID": "1", "alertType": "1", "alertDetails": "HTTP 503"}
        response = await client.post(webhook_path, data=form)
        audit.add(f"{phase} uptimerobot webhook", response, carried=(WEBHOOK_TOKEN,))
        response = await client.post("/api/v1/webhooks/uptimerobot/wrong-token-1234", data=form)
        audit.add(f"{phase} uptimerobot webhook wrong token", response)

        body = json.dumps({"action": "created", "data": {"issue": {"id": "1"}}}).encode()
        signed = {
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": sentry_signature(body, WEBHOOK_SECRET),
        }
        response = await client.post("/api/v1/webhooks/sentry", content=body, headers=signed)
        audit.add(f"{phase} sentry webhook", response)
        forged = {**signed, "Sentry-Hook-Signature": "0" * 64}
        response = await client.post("/api/v1/webhooks/sentry", content=body, headers=forged)
        audit.add(f"{phase} sentry webhook forged", response)

        audit.add(f"{phase} bug", await client.get(BUG_PATH))

    stream = await read_stream_start(app, STREAM_PATH)
    audit.exchanges.append(Exchange(f"{phase} GET {STREAM_PATH}", 0, stream))


def _first_component_id(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "api"
    items = body.get("components") if isinstance(body, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return str(items[0].get("id", "api"))
    return "api"


def _first_monitor_id(response: httpx.Response) -> int:
    try:
        body = response.json()
    except ValueError:
        return 1
    items = body.get("monitors") if isinstance(body, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return int(items[0].get("id", 1))
    return 1


async def run_failure_kind(kind: str, settings: Settings) -> Audit:
    """Call every endpoint cold under ``kind``, then again while stale data is served."""
    audit = Audit()
    async with running_app(settings) as (app, simulator, timeouts):
        apply_fault(simulator, timeouts, kind)
        await call_every_endpoint(app, "198.51.100.1", audit, f"{kind} cold")

        apply_fault(simulator, timeouts, "none")
        async with client_for(app, "198.51.100.2") as client:
            await client.post("/api/v1/admin/refresh", headers=audit.admin_headers(settings))

        apply_fault(simulator, timeouts, kind)
        async with client_for(app, "198.51.100.3") as client:
            admin = audit.admin_headers(settings)
            response = await client.post("/api/v1/admin/refresh", headers=admin)
            audit.add(f"{kind} failed refresh", response)
        await call_every_endpoint(app, "198.51.100.4", audit, f"{kind} stale")
    return audit


@pytest.fixture
def sentry_capture() -> Iterable[MemoryTransport]:
    transport = MemoryTransport()
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_isolation_scope().clear()
    sentry_sdk.get_current_scope().clear()
    for name in HANDLED_FAILURE_LOGGERS:
        unignore_logger(name)


def audited_log_text(records: Iterable[logging.LogRecord]) -> list[tuple[str, str]]:
    formatter = logging.Formatter()
    texts = []
    for record in records:
        if record.name.startswith("app.demo"):
            continue
        if record.name == "httpx" and f"{LOOKOUT_URL}/" in record.getMessage():
            # The test's own client logs the URLs it requests, webhook token included.
            continue
        parts = [record.getMessage()]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        parts.extend(str(value) for value in record.__dict__.values() if isinstance(value, str))
        texts.append((f"{record.name}:{record.levelname}", "\n".join(parts)))
    return texts


def leak_report(audit: Audit, logs: list[tuple[str, str]], sentry: MemoryTransport) -> list[str]:
    def leaks_in(text: str, allowed: Iterable[str] = ()) -> list[str]:
        tokens = [signature for signature in audit.token_signatures if signature in text]
        return find_leaks(text, allowed) + tokens

    found = []
    for exchange in audit.exchanges:
        leaks = leaks_in(exchange.text, allowed=exchange.carried)
        if leaks:
            found.append(f"response to {exchange.label}: {_hint(leaks)}")
    for origin, text in logs:
        leaks = leaks_in(text)
        if leaks:
            found.append(f"log record {origin}: {_hint(leaks)}")
    for payload in sentry.payloads:
        leaks = leaks_in(payload)
        if leaks:
            found.append(f"Sentry payload: {_hint(leaks)}")
    return found


def _hint(leaks: list[str]) -> str:
    # The first characters are enough to tell which secret leaked, without printing it whole.
    return ", ".join(sorted({leak[:4] + "…" for leak in leaks}))


@pytest.mark.parametrize("kind", ["success", *FAILURE_KINDS])
async def test_no_secret_leaks(
    kind: str, caplog: pytest.LogCaptureFixture, sentry_capture: MemoryTransport
) -> None:
    overrides = {"sentry_auth_token": REJECTED_SENTRY_TOKEN} if kind == "bad_key" else {}
    settings = audit_settings(**overrides)
    init_error_reporting(settings, transport=sentry_capture)
    caplog.set_level(logging.DEBUG)

    audit = await run_failure_kind(kind, settings)
    sentry_sdk.flush()

    assert len(audit.exchanges) > 2 * len(PUBLIC_PATHS + ADMIN_PATHS)
    assert leak_report(audit, audited_log_text(caplog.records), sentry_capture) == []
    # Upstream trouble never causes a 500, so only the deliberate bug route may return one.
    server_errors = [
        exchange.label
        for exchange in audit.exchanges
        if exchange.status == 500 and not exchange.label.endswith(" bug")
    ]
    assert server_errors == []


async def test_bug_reported_without_secrets(sentry_capture: MemoryTransport) -> None:
    settings = audit_settings()
    init_error_reporting(settings, transport=sentry_capture)

    async with running_app(settings) as (app, _simulator, _timeouts):
        client = client_for(app, "198.51.100.7")
        async with client:
            response = await client.get(BUG_PATH)
    sentry_sdk.flush()

    assert response.status_code == 500
    messages = [
        value.get("value", "")
        for event in sentry_capture.events
        for value in event.get("exception", {}).get("values", [])
    ]
    assert any("audit bug" in message for message in messages)
    assert leak_report(Audit(), [], sentry_capture) == []


def test_find_leaks_catches_pieces() -> None:
    fragment = UPTIMEROBOT_KEY[5:15]

    assert find_leaks(f"prefix {fragment} suffix") != []
    assert find_leaks("nothing to see here") == []
    assert find_leaks(f"/hooks/{WEBHOOK_TOKEN}", allowed=(WEBHOOK_TOKEN,)) == []
