"""SentrySource failures: HTTP errors, rate limits, headroom and keeping the token secret."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.sources.base import DEFAULT_RETRY_AFTER_S, CallRecorder
from app.sources.errors import (
    SourceAuthError,
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
    SourceTimeout,
    SourceUnavailable,
)
from app.sources.sentry import SentrySource

HOST = "https://sentry.example.test"
API = f"{HOST}/api/0"
TOKEN = "sntryu_secret-test-token-93c1"
ISSUES_PATH = "/organizations/acme/issues/"
PROJECTS_PATH = "/organizations/acme/projects/"
PROJECTS = [{"id": "11", "slug": "backend"}]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "demo_mode": True,
        "poller_enabled": False,
        "sentry_org": "acme",
        "sentry_base_url": HOST,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


@pytest.fixture
def recorder() -> CallRecorder:
    return CallRecorder()


@pytest.fixture
def source(client: httpx.AsyncClient, recorder: CallRecorder) -> SentrySource:
    return SentrySource(client, make_settings(), recorder, token=TOKEN)


@pytest.fixture
def sentry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        mock.get(PROJECTS_PATH).respond(json=PROJECTS)
        yield mock


# --- HTTP errors ------------------------------------------------------------------------------


async def test_unauthorized_raises_auth_error(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(401, json={"detail": "Invalid token"})

    with pytest.raises(SourceAuthError) as caught:
        await source.fetch_issues("backend")

    assert "HTTP 401" in caught.value.message
    assert "Invalid token" in caught.value.message
    assert "SENTRY_AUTH_TOKEN" in caught.value.message


async def test_forbidden_names_missing_scope(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    detail = "You do not have permission to perform this action."
    sentry.get(ISSUES_PATH).respond(403, json={"detail": detail})

    with pytest.raises(SourceAuthError) as caught:
        await source.fetch_issues("backend")

    message = caught.value.message
    assert "HTTP 403" in message
    assert "token lacks a scope such as event:read" in message
    assert "org auth tokens (sntrys_) only have org:ci" in message


async def test_not_found_names_org_and_project(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(404, json={"detail": "The requested resource does not exist"})

    with pytest.raises(SourceBadResponse) as caught:
        await source.fetch_issues("backend")

    message = caught.value.message
    assert "HTTP 404" in message
    assert "'acme'" in message
    assert "'backend'" in message


async def test_unknown_org_on_projects_list_names_org(source: SentrySource) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get(PROJECTS_PATH).respond(
            404, json={"detail": "The requested resource does not exist"}
        )

        with pytest.raises(SourceBadResponse, match="organization 'acme' not found"):
            await source.fetch_project_ids()


async def test_bad_request_carries_sentry_detail(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    detail = "Invalid per_page value. Cannot exceed 100."
    sentry.get(ISSUES_PATH).respond(400, json={"detail": detail})

    with pytest.raises(SourceBadResponse) as caught:
        await source.fetch_issues("backend")

    assert detail in caught.value.message


async def test_bad_request_field_errors_joined(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(400, json={"statsPeriod": ["Invalid value."]})

    with pytest.raises(SourceBadResponse, match=r"statsPeriod: Invalid value\."):
        await source.fetch_issues("backend")


async def test_redirect_is_bad_response_naming_region(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(302, headers={"Location": "https://de.sentry.io/"})

    with pytest.raises(SourceBadResponse, match="SENTRY_BASE_URL"):
        await source.fetch_issues("backend")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_unavailable(
    source: SentrySource, sentry: respx.MockRouter, status: int
) -> None:
    sentry.get(ISSUES_PATH).respond(status, text="<html>oops</html>")

    with pytest.raises(SourceUnavailable):
        await source.fetch_issues("backend")


async def test_timeout_is_source_timeout(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(ISSUES_PATH).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(SourceTimeout):
        await source.fetch_issues("backend")


async def test_unset_org_raises_bad_response(client: httpx.AsyncClient) -> None:
    source = SentrySource(client, make_settings(sentry_org=None), CallRecorder(), TOKEN)

    with pytest.raises(SourceBadResponse, match="SENTRY_ORG is not set"):
        await source.fetch_project_ids()


# --- Rate limits ------------------------------------------------------------------------------


async def test_rate_limit_waits_until_reset_epoch(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    reset = int(time.time()) + 30
    body = {"detail": "You are attempting to use this endpoint too frequently."}
    headers = {"X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": str(reset)}
    sentry.get(ISSUES_PATH).respond(429, json=body, headers=headers)

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert 27 <= caught.value.retry_after_s <= 30


async def test_rate_limit_reset_as_float_string(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    reset = f"{time.time() + 20.5:.3f}"
    headers = {"X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": reset}
    sentry.get(ISSUES_PATH).respond(429, headers=headers)

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert 18 <= caught.value.retry_after_s <= 20.5


async def test_concurrent_limit_backs_off_briefly(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    headers = {
        "X-Sentry-Rate-Limit-Remaining": "150",
        "X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 600),
        "X-Sentry-Rate-Limit-ConcurrentLimit": "25",
        "X-Sentry-Rate-Limit-ConcurrentRemaining": "0",
    }
    sentry.get(ISSUES_PATH).respond(429, headers=headers)

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert 2.0 <= caught.value.retry_after_s <= 4.0
    assert "concurrent" in caught.value.message


async def test_concurrent_limit_honours_retry_after(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    headers = {"X-Sentry-Rate-Limit-ConcurrentRemaining": "0", "Retry-After": "9"}
    sentry.get(ISSUES_PATH).respond(429, headers=headers)

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert caught.value.retry_after_s == 9


async def test_rate_limit_without_headers_uses_default(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(429, text="Too Many Requests")

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert caught.value.retry_after_s == DEFAULT_RETRY_AFTER_S


async def test_rate_limit_retry_after_wins_over_reset(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    headers = {"Retry-After": "6", "X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 300)}
    sentry.get(ISSUES_PATH).respond(429, headers=headers)

    with pytest.raises(SourceRateLimited) as caught:
        await source.fetch_issues("backend")

    assert caught.value.retry_after_s == 6


async def test_headroom_recorded_from_headers(
    source: SentrySource, sentry: respx.MockRouter, recorder: CallRecorder
) -> None:
    headers = {
        "X-Sentry-Rate-Limit-Limit": "40",
        "X-Sentry-Rate-Limit-Remaining": "38",
        "X-Sentry-Rate-Limit-Reset": "1764864000",
        "X-Sentry-Rate-Limit-ConcurrentLimit": "25",
        "X-Sentry-Rate-Limit-ConcurrentRemaining": "24",
    }
    sentry.get(ISSUES_PATH).respond(json=[], headers=headers)

    await source.fetch_issues("backend")

    headroom = recorder.health("sentry").headroom
    assert headroom.limit == 40
    assert headroom.remaining == 38
    assert headroom.reset_at is not None
    assert headroom.reset_at.timestamp() == 1764864000
    assert headroom.concurrent_limit == 25
    assert headroom.concurrent_remaining == 24


async def test_low_advertised_concurrency_warned_once(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[], headers={"X-Sentry-Rate-Limit-ConcurrentLimit": "2"})
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    await source.fetch_issues("backend")
    await source.fetch_issues("backend")

    warnings = [r for r in caplog.records if "SENTRY_MAX_CONCURRENCY" in r.getMessage()]
    assert len(warnings) == 1


# --- Keeping the token secret -----------------------------------------------------------------

FAILURES: list[tuple[str, Any]] = [
    ("401", httpx.Response(401, json={"detail": "Invalid token"})),
    ("403", httpx.Response(403, json={"detail": "You do not have permission."})),
    ("404", httpx.Response(404, json={"detail": "Not found"})),
    ("400 echoing the token", httpx.Response(400, json={"detail": f"bad token {TOKEN}"})),
    ("429", httpx.Response(429, headers={"X-Sentry-Rate-Limit-ConcurrentRemaining": "0"})),
    ("500", httpx.Response(500, text=f"trace with {TOKEN}")),
    ("timeout", httpx.ConnectTimeout("timed out")),
    ("network", httpx.ConnectError("connection refused")),
    ("invalid JSON", httpx.Response(200, text="{not json")),
]


@pytest.mark.parametrize(("case", "outcome"), FAILURES, ids=[case for case, _ in FAILURES])
async def test_token_never_in_errors_or_logs(
    source: SentrySource,
    sentry: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    case: str,
    outcome: Any,
) -> None:
    sentry.get(ISSUES_PATH).mock(side_effect=[outcome])
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SourceError) as caught:
        await source.fetch_issues("backend")

    assert TOKEN not in str(caught.value), case
    assert TOKEN not in repr(caught.value), case
    assert TOKEN not in caught.value.message, case
    assert TOKEN not in caplog.text, case


def test_token_not_in_repr(source: SentrySource) -> None:
    assert TOKEN not in repr(source)
    assert TOKEN not in str(vars(source))
