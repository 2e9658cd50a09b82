"""SentrySource: the requests it sends, Link pagination, project ids and the parsing of issues."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from app.config import Settings
from app.models.upstream import IssueLevel, IssueStatus
from app.sources.base import CallRecorder
from app.sources.errors import SourceAuthError, SourceBadResponse
from app.sources.sentry import SentrySource

HOST = "https://sentry.example.test"
API = f"{HOST}/api/0"
TOKEN = "sentry-test-token-6d1f"
ISSUES_PATH = "/organizations/acme/issues/"
PROJECTS_PATH = "/organizations/acme/projects/"
PROJECTS = [{"id": "11", "slug": "backend"}, {"id": "12", "slug": "frontend"}]


def link(next_results: str = "false", *, cursor: str = "0:100:0", url: str | None = None) -> str:
    """A Sentry Link header: previous first, then next, both always present."""
    base = url or f"{API}{ISSUES_PATH}"
    return (
        f'<{base}?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{base}?cursor={cursor}>; rel="next"; results="{next_results}"; cursor="{cursor}"'
    )


def issue_json(issue_id: str = "4501", **overrides: Any) -> dict[str, Any]:
    """An organization-issues item typed as Sentry sends it."""
    issue: dict[str, Any] = {
        "id": issue_id,
        "shortId": f"BACKEND-{issue_id}",
        "title": "TimeoutError: upstream took too long",
        "culprit": "app.handlers.checkout in pay",
        "permalink": f"https://acme.sentry.example.test/issues/{issue_id}/",
        "level": "error",
        "status": "unresolved",
        "substatus": "ongoing",
        "priority": "high",
        "project": {"id": "11", "name": "Backend", "slug": "backend", "platform": "php"},
        "count": "1532",
        "userCount": 87,
        "firstSeen": "2026-11-30T08:00:00.123456Z",
        "lastSeen": "2026-12-04T15:00:00Z",
        "isUnhandled": True,
    }
    issue.update(overrides)
    return issue


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
def source(client: httpx.AsyncClient) -> SentrySource:
    return SentrySource(client, make_settings(), CallRecorder(), token=TOKEN)


@pytest.fixture
def sentry() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        mock.get(PROJECTS_PATH, name="projects").respond(json=PROJECTS, headers={"Link": link()})
        yield mock


# --- The request ------------------------------------------------------------------------------


async def test_issues_request_filters_by_numeric_project_id(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[], headers={"Link": link()})

    await source.fetch_issues("backend")

    params = route.calls.last.request.url.params
    assert params.get_list("project") == ["11"]
    assert params["statsPeriod"] == "24h"
    assert params["limit"] == "100"
    assert params["sort"] == "date"


async def test_issues_request_sends_empty_query(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[], headers={"Link": link()})

    await source.fetch_issues("backend")

    request = route.calls.last.request
    assert "query" in request.url.params
    assert request.url.params["query"] == ""


async def test_issues_request_carries_bearer_token(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[], headers={"Link": link()})

    await source.fetch_issues("backend")

    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_token_argument_overrides_settings_token(client: httpx.AsyncClient) -> None:
    settings = make_settings(sentry_auth_token="from-settings")
    source = SentrySource(client, settings, CallRecorder(), token="from-argument")
    with respx.mock(base_url=API) as mock:
        mock.get(PROJECTS_PATH).respond(json=PROJECTS)
        route = mock.get(ISSUES_PATH).respond(json=[])

        await source.fetch_issues("backend")

    assert route.calls.last.request.headers["Authorization"] == "Bearer from-argument"


async def test_regional_base_url_used_for_every_path(client: httpx.AsyncClient) -> None:
    settings = make_settings(sentry_base_url="https://de.sentry.io/")
    source = SentrySource(client, settings, CallRecorder(), token=TOKEN)
    with respx.mock(base_url="https://de.sentry.io/api/0") as mock:
        projects = mock.get(PROJECTS_PATH).respond(json=PROJECTS)
        issues = mock.get(ISSUES_PATH).respond(json=[])

        await source.fetch_issues("backend")

    assert projects.calls.last.request.url.path == "/api/0/organizations/acme/projects/"
    assert issues.calls.last.request.url.host == "de.sentry.io"


async def test_issues_window_sends_start_end_and_sort(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[], headers={"Link": link()})
    start = datetime(2026, 11, 30, tzinfo=UTC)

    await source.fetch_issues_window("backend", start, start + timedelta(days=7), "freq")

    params = route.calls.last.request.url.params
    assert params["start"] == "2026-11-30T00:00:00"
    assert params["end"] == "2026-12-07T00:00:00"
    assert params["sort"] == "freq"
    assert params["query"] == ""
    assert "statsPeriod" not in params


async def test_issues_window_rejects_unknown_sort(source: SentrySource) -> None:
    start = datetime(2026, 11, 30, tzinfo=UTC)

    with pytest.raises(ValueError, match="sort must be one of"):
        await source.fetch_issues_window("backend", start, start + timedelta(days=1), "date")


async def test_page_size_never_over_100(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(ISSUES_PATH).respond(json=[])
    start = datetime(2026, 11, 30, tzinfo=UTC)

    await source.fetch_issues("backend")
    await source.fetch_issues_window("backend", start, start + timedelta(days=7), "new")

    sizes = [
        int(value)
        for call in sentry.calls
        for name in ("limit", "per_page")
        for value in call.request.url.params.get_list(name)
    ]
    assert len(sizes) == 3
    assert max(sizes) <= 100


async def test_missing_token_raises_auth_error_without_request(client: httpx.AsyncClient) -> None:
    source = SentrySource(client, make_settings(), CallRecorder())
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        route = mock.get(PROJECTS_PATH).respond(json=PROJECTS)

        with pytest.raises(SourceAuthError, match="SENTRY_AUTH_TOKEN is not set"):
            await source.fetch_issues("backend")

    assert route.call_count == 0


# --- Pagination -------------------------------------------------------------------------------


async def test_next_results_false_stops_after_one_request(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[issue_json()], headers={"Link": link("false")})

    snapshot = await source.fetch_issues("backend")

    assert route.call_count == 1
    assert len(snapshot.issues) == 1
    assert snapshot.truncated is False


async def test_link_parts_parsed_in_either_order(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    next_first = (
        f'<{API}{ISSUES_PATH}?cursor=0:100:0>; rel="next"; results="true"; cursor="0:100:0", '
        f'<{API}{ISSUES_PATH}?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1"'
    )
    route = sentry.get(ISSUES_PATH).mock(
        side_effect=[
            httpx.Response(200, json=[issue_json("1")], headers={"Link": next_first}),
            httpx.Response(200, json=[issue_json("2")], headers={"Link": link("false")}),
        ]
    )

    snapshot = await source.fetch_issues("backend")

    assert route.call_count == 2
    assert route.calls[1].request.url.params["cursor"] == "0:100:0"
    assert [issue.id for issue in snapshot.issues] == ["1", "2"]


async def test_comma_inside_link_url_tolerated(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    url = f"{API}{ISSUES_PATH}?query=is:unresolved,level:error&project=11"
    header = (
        f'<{url}&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{url}&cursor=1735:0:0>; rel="next"; results="true"; cursor="1735:0:0"'
    )
    route = sentry.get(ISSUES_PATH).mock(
        side_effect=[
            httpx.Response(200, json=[issue_json("1")], headers={"Link": header}),
            httpx.Response(200, json=[issue_json("2")], headers={"Link": link("false")}),
        ]
    )

    await source.fetch_issues("backend")

    assert route.call_count == 2
    assert route.calls[1].request.url.params["cursor"] == "1735:0:0"


async def test_next_page_requested_on_configured_host(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    foreign = "https://elsewhere.example.test/api/0/organizations/acme/issues/"
    route = sentry.get(ISSUES_PATH).mock(
        side_effect=[
            httpx.Response(
                200, json=[issue_json("1")], headers={"Link": link("true", url=foreign)}
            ),
            httpx.Response(200, json=[], headers={"Link": link("false")}),
        ]
    )

    await source.fetch_issues("backend")

    second = route.calls[1].request
    assert second.url.host == "sentry.example.test"
    assert second.url.params["cursor"] == "0:100:0"
    assert second.url.params.get_list("project") == ["11"]


async def test_cursor_read_from_url_when_attribute_missing(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    header = (
        f'<{API}{ISSUES_PATH}?cursor=0:0:1>; rel="previous"; results="false", '
        f'<{API}{ISSUES_PATH}?cursor=0:100:0>; rel="next"; results="true"'
    )
    route = sentry.get(ISSUES_PATH).mock(
        side_effect=[
            httpx.Response(200, json=[issue_json("1")], headers={"Link": header}),
            httpx.Response(200, json=[], headers={"Link": link("false")}),
        ]
    )

    await source.fetch_issues("backend")

    assert route.calls[1].request.url.params["cursor"] == "0:100:0"


async def test_empty_page_stops_paging(source: SentrySource, sentry: respx.MockRouter) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[], headers={"Link": link("true")})

    snapshot = await source.fetch_issues("backend")

    assert route.call_count == 1
    assert snapshot.issues == []
    assert snapshot.truncated is False


async def test_missing_link_header_stops_paging(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    route = sentry.get(ISSUES_PATH).respond(json=[issue_json()])

    await source.fetch_issues("backend")

    assert route.call_count == 1


async def test_page_cap_marks_snapshot_truncated(client: httpx.AsyncClient) -> None:
    source = SentrySource(client, make_settings(sentry_issue_page_cap=3), CallRecorder(), TOKEN)
    with respx.mock(base_url=API) as mock:
        mock.get(PROJECTS_PATH).respond(json=PROJECTS)
        pages = iter(range(100))
        route = mock.get(ISSUES_PATH).mock(
            side_effect=lambda request: httpx.Response(
                200, json=[issue_json(str(next(pages)))], headers={"Link": link("true")}
            )
        )

        snapshot = await source.fetch_issues("backend")

    assert route.call_count == 3
    assert snapshot.truncated is True
    assert len(snapshot.issues) == 3


async def test_full_page_without_next_logged(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    page = [issue_json(str(number)) for number in range(100)]
    sentry.get(ISSUES_PATH).respond(json=page, headers={"Link": link("false")})
    caplog.set_level(logging.INFO, logger="app.sources.sentry")

    snapshot = await source.fetch_issues("backend")

    assert len(snapshot.issues) == 100
    assert any("page 1 is full" in record.getMessage() for record in caplog.records)


async def test_issue_repeated_across_pages_kept_once(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).mock(
        side_effect=[
            httpx.Response(
                200, json=[issue_json("1"), issue_json("2")], headers={"Link": link("true")}
            ),
            httpx.Response(200, json=[issue_json("2"), issue_json("3")], headers={"Link": link()}),
        ]
    )

    snapshot = await source.fetch_issues("backend")

    assert [issue.id for issue in snapshot.issues] == ["1", "2", "3"]


# --- Project ids ------------------------------------------------------------------------------


async def test_project_ids_follow_pagination(source: SentrySource) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.get(PROJECTS_PATH).mock(
            side_effect=[
                httpx.Response(
                    200,
                    json=[PROJECTS[0]],
                    headers={"Link": link("true", url=f"{API}{PROJECTS_PATH}")},
                ),
                httpx.Response(200, json=[{"id": 13, "slug": "worker"}], headers={"Link": link()}),
            ]
        )

        ids = await source.fetch_project_ids()

    assert ids == {"backend": "11", "worker": "13"}
    assert route.calls[0].request.url.params["per_page"] == "100"
    assert route.calls[1].request.url.params["cursor"] == "0:100:0"


async def test_project_ids_fetched_once_for_many_calls(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[])

    await asyncio.gather(
        source.fetch_issues("backend"),
        source.fetch_issues("frontend"),
        source.fetch_issues("backend"),
    )

    assert sentry.routes["projects"].call_count == 1


async def test_missing_slug_reloads_project_ids(client: httpx.AsyncClient) -> None:
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    source = SentrySource(client, make_settings(), CallRecorder(), TOKEN, clock=lambda: now[0])
    with respx.mock(base_url=API) as mock:
        projects = mock.get(PROJECTS_PATH).mock(
            side_effect=[
                httpx.Response(200, json=PROJECTS),
                httpx.Response(200, json=[*PROJECTS, {"id": "14", "slug": "mobile"}]),
            ]
        )
        issues = mock.get(ISSUES_PATH).respond(json=[])
        await source.fetch_project_ids()
        now[0] += timedelta(minutes=5)

        await source.fetch_issues("mobile")

    assert projects.call_count == 2
    assert issues.calls.last.request.url.params["project"] == "14"


async def test_missing_slug_not_reloaded_right_after_load(source: SentrySource) -> None:
    with respx.mock(base_url=API) as mock:
        projects = mock.get(PROJECTS_PATH).respond(json=PROJECTS)

        with pytest.raises(SourceBadResponse, match="'mobile' not found") as caught:
            await source.fetch_issues("mobile")

    assert projects.call_count == 1
    assert "backend, frontend" in str(caught.value)


async def test_warm_up_loads_project_ids(source: SentrySource, sentry: respx.MockRouter) -> None:
    await source.warm_up()

    assert sentry.routes["projects"].call_count == 1
    assert await source.fetch_project_ids() == {"backend": "11", "frontend": "12"}
    assert sentry.routes["projects"].call_count == 1


async def test_issues_after_warm_up_skip_projects_call(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    issues = sentry.get(ISSUES_PATH).respond(json=[])
    await source.warm_up()
    calls_after_warm_up = sentry.routes["projects"].call_count

    await source.fetch_issues("frontend")

    assert sentry.routes["projects"].call_count == calls_after_warm_up
    assert issues.calls.last.request.url.params["project"] == "12"


async def test_warm_up_failure_logged_not_raised(
    source: SentrySource, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")
    with respx.mock(base_url=API) as mock:
        mock.get(PROJECTS_PATH).respond(401, json={"detail": "Invalid token"})

        await source.warm_up()

    assert "sentry warm-up" in caplog.text
    assert "kind=auth_failed" in caplog.text
    assert TOKEN not in caplog.text


async def test_failed_warm_up_retried_by_first_fetch(source: SentrySource) -> None:
    with respx.mock(base_url=API) as mock:
        projects = mock.get(PROJECTS_PATH).mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json=PROJECTS)]
        )
        issues = mock.get(ISSUES_PATH).respond(json=[])
        await source.warm_up()

        await source.fetch_issues("backend")

    assert projects.call_count == 2
    assert issues.calls.last.request.url.params["project"] == "11"


# --- Issue parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", ["1532", 1532, " 1532 "])
async def test_issue_count_string_or_int_parsed(
    source: SentrySource, sentry: respx.MockRouter, count: object
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(count=count)])

    snapshot = await source.fetch_issues("backend")

    assert snapshot.issues[0].count == 1532


@pytest.mark.parametrize("count", ["1.5k", None, "", -3, True, "12e3"])
async def test_unusable_issue_count_left_empty_with_warning(
    source: SentrySource,
    sentry: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    count: object,
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json("1", count=count), issue_json("2")])
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    snapshot = await source.fetch_issues("backend")

    first, second = snapshot.issues
    assert first.count is None
    assert first.user_count == 87
    assert second.count == 1532
    assert any("unusable field values" in record.getMessage() for record in caplog.records)


async def test_missing_user_count_is_none(source: SentrySource, sentry: respx.MockRouter) -> None:
    item = issue_json()
    del item["userCount"]
    sentry.get(ISSUES_PATH).respond(json=[item])

    snapshot = await source.fetch_issues("backend")

    assert snapshot.issues[0].user_count is None
    assert snapshot.issues[0].count == 1532


async def test_timestamps_with_and_without_microseconds(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json()])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.first_seen == datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=UTC)
    assert issue.last_seen == datetime(2026, 12, 4, 15, 0, 0, tzinfo=UTC)
    assert issue.first_seen is not None and issue.first_seen.utcoffset() == timedelta(0)


async def test_timestamp_with_offset_converted_to_utc(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(lastSeen="2026-12-04T16:00:00+01:00")])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.last_seen == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert issue.last_seen is not None and issue.last_seen.tzinfo == UTC


async def test_unparsable_timestamp_left_empty(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(firstSeen="last tuesday")])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.first_seen is None
    assert issue.last_seen is not None


async def test_unknown_level_and_status_map_to_unknown(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(level="sample", status="reprocessing")])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.level is IssueLevel.UNKNOWN
    assert issue.status is IssueStatus.UNKNOWN


async def test_known_level_and_status_parsed(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(level="fatal", status="ignored")])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.level is IssueLevel.FATAL
    assert issue.status is IssueStatus.IGNORED


async def test_self_hosted_issue_without_newer_fields(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    item = issue_json()
    for name in ("substatus", "priority", "issueCategory", "isUnhandled", "permalink"):
        item.pop(name, None)
    sentry.get(ISSUES_PATH).respond(json=[item])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.substatus is None
    assert issue.priority is None
    assert issue.is_unhandled is None
    assert issue.count == 1532


async def test_issue_fields_mapped(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(permalink=None)])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.id == "4501"
    assert issue.short_id == "BACKEND-4501"
    assert issue.title == "TimeoutError: upstream took too long"
    assert issue.culprit == "app.handlers.checkout in pay"
    assert issue.permalink is None
    assert issue.project_slug == "backend"
    assert issue.project_id == "11"
    assert issue.user_count == 87
    assert issue.is_unhandled is True


async def test_malformed_issue_skipped_with_warning(
    source: SentrySource, sentry: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    items = ["not an issue", {"title": "no id"}, issue_json("7"), None, {"id": True}]
    sentry.get(ISSUES_PATH).respond(json=items)
    caplog.set_level(logging.WARNING, logger="app.sources.sentry")

    snapshot = await source.fetch_issues("backend")

    assert [issue.id for issue in snapshot.issues] == ["7"]
    assert any("skipped 4 malformed issues" in record.getMessage() for record in caplog.records)


async def test_issue_without_title_kept(source: SentrySource, sentry: respx.MockRouter) -> None:
    item = issue_json()
    del item["title"]
    sentry.get(ISSUES_PATH).respond(json=[item])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.title == "BACKEND-4501"


async def test_integer_issue_id_kept_as_string(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json=[issue_json(id=4501)])

    issue = (await source.fetch_issues("backend")).issues[0]

    assert issue.id == "4501"


async def test_issues_body_not_a_list_is_bad_response(
    source: SentrySource, sentry: respx.MockRouter
) -> None:
    sentry.get(ISSUES_PATH).respond(json={"detail": "unexpected"})

    with pytest.raises(SourceBadResponse, match="expected a JSON array"):
        await source.fetch_issues("backend")


async def test_invalid_json_is_bad_response(source: SentrySource, sentry: respx.MockRouter) -> None:
    sentry.get(ISSUES_PATH).respond(200, text='[{"id":"1","shortId":"BACKEND-1","title":')

    with pytest.raises(SourceBadResponse, match="not valid JSON"):
        await source.fetch_issues("backend")
