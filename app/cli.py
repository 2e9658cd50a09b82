"""The ``lookout`` command: serve, simulate, token, check, report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from collections.abc import Sequence

from app.config import Settings, SettingsError, load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app
    from app.observability import configure_logging, init_error_reporting
    from app.server import STARTUP_FAILURE, LookoutServer

    settings = load_settings()
    configure_logging(settings)
    init_error_reporting(settings)
    app = create_app(settings)
    # Modules, schemas and routes live as long as the process. Freezing them keeps full
    # collections from scanning them all, which paused a request for up to 55 ms here.
    gc.freeze()
    if settings.demo_mode:
        _print_demo_banner(settings, args.host, args.port)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips or settings.forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        # Lookout logs each request itself, without raw paths (a webhook path contains a token).
        log_config=None,
        access_log=False,
        # Streams end at the stop signal (see LookoutServer); this bounds any other request.
        timeout_graceful_shutdown=5,
    )
    server = LookoutServer(config, on_stop_signal=app.end_streams)
    # After a clean stop uvicorn raises the signal again; Ctrl-C then arrives here.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        return STARTUP_FAILURE
    return 0


def _print_demo_banner(settings: Settings, host: str, port: int) -> None:
    from datetime import timedelta

    from app.auth import mint_token

    base = f"http://{host}:{port}"
    try:
        token = mint_token(settings, role=settings.admin_roles[0], ttl=timedelta(days=1))
    except SettingsError as exc:
        token = f"(none: {exc})"
    print(
        "Lookout demo mode: the real clients read the built-in simulator.\n"
        f"  API docs:      {base}/docs\n"
        f"  Public status: {base}/api/v1/status\n"
        f"  Admin token (valid 24 h, demo key only; paste it into Authorize on /docs):\n"
        f"  {token}\n",
        flush=True,
    )


def _simulate(args: argparse.Namespace) -> int:
    from app.demo.server import run_simulator

    run_simulator(host=args.host, port=args.port, monitors=args.monitors, issues=args.issues)
    return 0


def _token(args: argparse.Namespace) -> int:
    from app.auth import mint_token

    settings = load_settings()
    print(mint_token(settings, role=args.role, ttl=args.ttl, subject=args.subject))
    return 0


def _check(args: argparse.Namespace) -> int:
    from app.check import run_check

    settings = load_settings()
    return asyncio.run(run_check(settings))


def _report(args: argparse.Namespace) -> int:
    from app.reports.command import run_report

    settings = load_settings()
    return asyncio.run(
        run_report(settings, week=args.week, output_format=args.format, send=args.send)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookout", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="Serve the HTTP API with uvicorn.")
    serve.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    serve.add_argument("--port", type=int, default=8000, help="Port to listen on.")
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="Proxies whose X-Forwarded-* headers are trusted (comma list); "
        "default: FORWARDED_ALLOW_IPS, else 127.0.0.1.",
    )
    serve.set_defaults(handler=_serve)

    simulate = commands.add_parser("simulate", help="Serve the upstream simulator.")
    simulate.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    simulate.add_argument("--port", type=int, default=8001, help="Port to listen on.")
    simulate.add_argument("--monitors", type=int, default=None, help="Monitors to simulate.")
    simulate.add_argument("--issues", type=int, default=None, help="Sentry issues to simulate.")
    simulate.set_defaults(handler=_simulate)

    token = commands.add_parser("token", help="Mint an admin token for demo or development.")
    token.add_argument("--role", default="super_admin", help="Role claim value.")
    token.add_argument("--ttl", default="1h", help="Lifetime such as 15m, 1h or 1d.")
    token.add_argument("--subject", default="lookout-cli", help="The token's sub claim.")
    token.set_defaults(handler=_token)

    check = commands.add_parser("check", help="Fetch everything once and print a summary.")
    check.set_defaults(handler=_check)

    report = commands.add_parser(
        "report", help="Print the weekly report, or post its summary to REPORT_WEBHOOK_URL."
    )
    report.add_argument(
        "--week",
        default=None,
        help="ISO week YYYY-Www in UTC, such as 2026-W49; default: the last complete week.",
    )
    report.add_argument(
        "--format", choices=("md", "json", "html"), default="md", help="Output format."
    )
    report.add_argument(
        "--send",
        action="store_true",
        help="Post the Markdown summary to REPORT_WEBHOOK_URL instead of printing the report.",
    )
    report.set_defaults(handler=_report)
    return parser


# Options whose value may start with a dash. argparse takes ``--ttl -1h`` for two options and
# responds "expected one argument"; joined as ``--ttl=-1h``, the value reaches Lookout's check.
_DASHED_VALUE_OPTIONS = frozenset({"--ttl"})


def _join_dashed_values(argv: Sequence[str]) -> list[str]:
    """Write ``--ttl -1h`` as ``--ttl=-1h``, so a negative lifetime gets Lookout's message."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        argument = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if argument in _DASHED_VALUE_OPTIONS and following and following.startswith("-"):
            joined.append(f"{argument}={following}")
            index += 2
            continue
        joined.append(argument)
        index += 1
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_join_dashed_values(sys.argv[1:] if argv is None else argv))
    try:
        code: int = args.handler(args)
    except (SettingsError, ValueError) as exc:
        print(f"lookout: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
