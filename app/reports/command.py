"""``lookout report``: print a weekly report, or post its summary to a chat webhook.

It builds the same runtime as the server (sources, store, rules) without the poller, so a cron
job needs no running server. ``--send`` posts ``{"text": <summary>}`` to
``REPORT_WEBHOOK_URL``, the body a Slack-compatible incoming webhook expects. The URL is a
secret: no message or log line contains it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

import httpx
from pydantic import SecretStr

from app.config import Settings
from app.errors import DataUnavailable, InvalidParameter
from app.main import build_runtime
from app.models.report import WeeklyReport
from app.reports.gather import WeeklyReports
from app.reports.render import render_html, render_markdown, render_summary

logger = logging.getLogger(__name__)

FORMATS = ("md", "json", "html")
WEBHOOK_TIMEOUT_S = 10.0
ERROR_CODE_PATTERN = re.compile(r"[a-z0-9_]{1,60}")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ReportSendError(Exception):
    """Posting the summary failed; the message never contains the webhook URL."""


def render_report(report: WeeklyReport, output_format: str, settings: Settings) -> str:
    """Render the report in one of ``FORMATS``."""
    if output_format == "json":
        return report.model_dump_json(indent=2) + "\n"
    if output_format == "html":
        return render_html(report, response_target_ms=settings.sla_response_time_target_ms)
    if output_format == "md":
        return render_markdown(report)
    raise ValueError(f"unknown report format {output_format!r}; expected one of {FORMATS}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def post_summary(url: SecretStr, text: str) -> None:
    """Post ``{"text": text}`` to the webhook, raising ``ReportSendError`` on any failure."""
    secret = url.get_secret_value()
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False) as client:
        try:
            response = await client.post(secret, json={"text": text})
        except httpx.TimeoutException:
            raise ReportSendError(
                f"posting the report to REPORT_WEBHOOK_URL timed out after {WEBHOOK_TIMEOUT_S:g} s"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # httpx messages can contain the URL, so only the exception type is shown.
            raise ReportSendError(
                f"posting the report to REPORT_WEBHOOK_URL failed ({type(exc).__name__}); "
                "check that it is a reachable https URL"
            ) from None
    if not response.is_success:
        # Slack returns errors as a short code such as "no_service". Any other body is left
        # out, because it could echo the URL.
        body = response.text.strip()
        detail = f" ({body})" if ERROR_CODE_PATTERN.fullmatch(body) else ""
        raise ReportSendError(
            f"posting the report to REPORT_WEBHOOK_URL failed with HTTP "
            f"{response.status_code}{detail}; check the webhook in your chat tool"
        )


async def run_report(
    settings: Settings,
    *,
    week: str | None,
    output_format: str,
    send: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Print the report (or post its summary) and return the exit code.

    0 on success, 1 when the webhook is not set or the post fails or no data can be had, and 2
    for an invalid week. ``transport`` and ``clock`` reach the runtime, so tests can read the
    simulator at a fixed time.
    """
    url = settings.report_webhook_url
    if send and (url is None or not url.get_secret_value()):
        err.write(
            "lookout: REPORT_WEBHOOK_URL is not set; set it to a Slack-compatible incoming "
            "webhook URL to use --send\n"
        )
        return EXIT_FAILED

    runtime = build_runtime(
        settings.model_copy(update={"poller_enabled": False}),
        transport=transport,
        clock=clock or _utc_now,
    )
    try:
        reports = WeeklyReports.from_runtime(runtime)
        report = await reports.build(reports.resolve_week(week))
    except InvalidParameter as exc:
        err.write(f"lookout: {exc.detail}\n")
        return EXIT_USAGE
    except DataUnavailable as exc:
        err.write(f"lookout: {exc.detail}\n")
        return EXIT_FAILED
    finally:
        await runtime.store.close()
        await runtime.http_client.aclose()

    if not send:
        out.write(render_report(report, output_format, runtime.settings))
        return EXIT_OK

    assert url is not None
    try:
        await post_summary(url, render_summary(report))
    except ReportSendError as exc:
        err.write(f"lookout: {exc}\n")
        return EXIT_FAILED
    logger.info("weekly report summary posted week=%s", report.week.label)
    err.write(f"lookout: posted the summary of {report.week.label} to REPORT_WEBHOOK_URL\n")
    return EXIT_OK
