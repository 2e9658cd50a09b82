"""``lookout report``: printing each format and posting the summary to a chat webhook."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.cli import build_parser
from app.config import Settings
from app.demo.app import create_simulator
from app.reports.command import run_report

FROZEN_NOW = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
FIXTURE = Path(__file__).parent / "fixtures" / "report_2026-W49.md"
WEBHOOK_URL = "https://hooks.example.test/services/T000/B000/cli-test-secret-path"


def demo_settings(**overrides: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, demo_mode=True, poller_enabled=False, **overrides
    )


class Run:
    """One ``run_report`` call against the simulator at FROZEN_NOW, with captured output."""

    def __init__(self) -> None:
        self.simulator = create_simulator(clock=lambda: FROZEN_NOW)
        self.out = io.StringIO()
        self.err = io.StringIO()

    async def __call__(self, settings: Settings, **options: Any) -> int:
        values: dict[str, Any] = {"week": "2026-W49", "output_format": "md", "send": False}
        values.update(options)
        return await run_report(
            settings,
            out=self.out,
            err=self.err,
            transport=httpx.ASGITransport(app=self.simulator),
            clock=lambda: FROZEN_NOW,
            **values,
        )

    @property
    def upstream_calls(self) -> int:
        return sum(self.simulator.state.simulator.calls.values())


@pytest.fixture
def run() -> Run:
    return Run()


async def test_markdown_matches_api_fixture(run: Run) -> None:
    code = await run(demo_settings())

    assert code == 0
    assert run.out.getvalue() == FIXTURE.read_text(encoding="utf-8")


async def test_json_output_is_the_report_model(run: Run) -> None:
    code = await run(demo_settings(), output_format="json")

    body = json.loads(run.out.getvalue())
    assert code == 0
    assert body["week"]["label"] == "2026-W49"
    assert body["incidents"][0]["title"] == "API outage"


async def test_html_output_is_a_page(run: Run) -> None:
    code = await run(demo_settings(), output_format="html")

    assert code == 0
    assert run.out.getvalue().startswith("<!DOCTYPE html>")


async def test_invalid_week_exits_2(run: Run) -> None:
    code = await run(demo_settings(), week="2026-W60")

    assert code == 2
    assert "YYYY-Www" in run.err.getvalue()
    assert run.out.getvalue() == ""


async def test_send_without_webhook_exits_1(run: Run) -> None:
    code = await run(demo_settings(), send=True)

    assert code == 1
    assert "REPORT_WEBHOOK_URL is not set" in run.err.getvalue()
    assert run.upstream_calls == 0


async def test_send_posts_summary_as_text(run: Run, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(WEBHOOK_URL).respond(200, text="ok")

    code = await run(demo_settings(report_webhook_url=WEBHOOK_URL), send=True)

    assert code == 0
    body = json.loads(route.calls.last.request.content)
    assert set(body) == {"text"}
    assert body["text"].startswith("*Weekly monitoring report 2026-W49*")
    assert "• Uptime: 99.435 % (target ≥ 99.9 %), missed" in body["text"]
    assert "• Incidents: 1 (P0 API outage, 38 min)" in body["text"]
    assert run.out.getvalue() == ""
    assert "cli-test-secret-path" not in run.err.getvalue()


async def test_send_rejected_exits_1_with_code(run: Run, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(WEBHOOK_URL).respond(404, text="no_service")

    code = await run(demo_settings(report_webhook_url=WEBHOOK_URL), send=True)

    assert code == 1
    assert "failed with HTTP 404 (no_service)" in run.err.getvalue()


async def test_send_error_body_never_echoed(run: Run, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(WEBHOOK_URL).respond(500, text=f"upstream error for {WEBHOOK_URL}")

    code = await run(demo_settings(report_webhook_url=WEBHOOK_URL), send=True)

    message = run.err.getvalue()
    assert code == 1
    assert "failed with HTTP 500;" in message
    assert "cli-test-secret-path" not in message
    assert "hooks.example.test" not in message


async def test_send_unreachable_exits_1_without_url(run: Run, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(WEBHOOK_URL).mock(side_effect=httpx.ConnectError(f"cannot reach {WEBHOOK_URL}"))

    code = await run(demo_settings(report_webhook_url=WEBHOOK_URL), send=True)

    message = run.err.getvalue()
    assert code == 1
    assert "failed (ConnectError)" in message
    assert "cli-test-secret-path" not in message


async def test_send_timeout_exits_1(run: Run, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(WEBHOOK_URL).mock(side_effect=httpx.ReadTimeout("read timed out"))

    code = await run(demo_settings(report_webhook_url=WEBHOOK_URL), send=True)

    assert code == 1
    assert "timed out after 10 s" in run.err.getvalue()


def test_parser_reads_report_options() -> None:
    args = build_parser().parse_args(["report", "--week", "2026-W49", "--format", "json"])

    assert args.command == "report"
    assert args.week == "2026-W49"
    assert args.format == "json"
    assert args.send is False


def test_parser_rejects_unknown_format() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["report", "--format", "pdf"])

    assert exit_info.value.code == 2
