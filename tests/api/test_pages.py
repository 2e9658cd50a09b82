"""Public pages over HTTP: status page, badges, shields JSON and the Atom feed, in demo mode."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

import feedparser
import pytest

from app.api.pages import RenderCache
from app.demo.state import FaultPlan
from app.demo.world import default_monitors
from app.views import etag_of
from tests.api.conftest import Harness

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(body: bytes) -> ET.Element:
    """Parse a badge. The input is Lookout's own output, so the stdlib parser is safe."""
    return ET.fromstring(body)  # noqa: S314


PAGE_PATHS = [
    "/status",
    "/status?refresh=60",
    "/badge/status.svg",
    "/badge/uptime/api.svg",
    "/badge/uptime/website.svg?window=90d",
    "/badge/api.json",
    "/badge/website.json",
    "/feed.atom",
]


async def _private_strings(harness: Harness) -> list[str]:
    """Values no public page may contain: monitor URLs, ids, names, keywords, causes, titles."""
    values: list[str] = []
    component_names = {"Website", "API"}
    for monitor in default_monitors():
        values += [monitor.url, str(monitor.id)]
        if monitor.name not in component_names:
            values.append(monitor.name)
        if monitor.keyword_value:
            values.append(monitor.keyword_value)
    incidents = (await harness.admin_get("/api/v1/admin/incidents")).json()["incidents"]
    causes = [item["cause"] for item in incidents if item.get("cause")]
    errors = await harness.admin_get("/api/v1/admin/errors", params={"per_page": 100})
    titles = [issue["title"] for issue in errors.json()["issues"]]
    assert causes, "the demo data should have an incident cause to look for"
    assert titles, "the demo data should have Sentry issues to look for"
    return [*values, *causes, *titles, "example.test"]


# --- Status page -------------------------------------------------------------------------------


async def test_status_page_lists_components(harness: Harness) -> None:
    response = await harness.client.get("/status")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert re.findall(r'data-component="([^"]+)"', response.text) == ["website", "api"]
    assert "All Systems Operational</h2>" in response.text


async def test_demo_outage_listed_as_past(harness: Harness) -> None:
    html = (await harness.client.get("/status")).text

    past = html.split('id="past-heading"')[1]
    assert "API outage" in past
    assert "Resolved" in past
    assert "2026-12-02: 97.361 % uptime" in html


async def test_status_page_is_cacheable_with_etag(harness: Harness) -> None:
    first = await harness.client.get("/status")

    second = await harness.client.get("/status", headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"].startswith("public, max-age=")
    assert re.fullmatch(r'"[0-9a-f]{32}"', first.headers["etag"])
    assert second.status_code == 304
    assert second.content == b""


async def test_refresh_adds_meta_refresh(harness: Harness) -> None:
    response = await harness.client.get("/status", params={"refresh": 60})

    assert '<meta http-equiv="refresh" content="60">' in response.text


@pytest.mark.parametrize("refresh", ["9", "3601", "soon", "-1"])
async def test_invalid_refresh_is_422(harness: Harness, refresh: str) -> None:
    response = await harness.client.get("/status", params={"refresh": refresh})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"
    assert "refresh" in response.json()["detail"]


@pytest.mark.parametrize("refresh", ["10", "3600"])
async def test_refresh_bounds_accepted(harness: Harness, refresh: str) -> None:
    response = await harness.client.get("/status", params={"refresh": refresh})

    assert response.status_code == 200


async def test_stale_notice_when_sentry_fails(harness: Harness) -> None:
    harness.faults["sentry"] = FaultPlan(error_status=503)

    html = (await harness.client.get("/status")).text

    assert 'data-role="stale-notice"' in html


async def test_fresh_page_has_no_stale_notice(harness: Harness) -> None:
    html = (await harness.client.get("/status")).text

    assert "stale-notice" not in html


async def test_no_monitor_data_shows_no_data(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(stat_fail=True)

    html = (await harness.client.get("/status")).text

    assert html.count('<span class="pill">No data</span>') == 2


# --- Badges ------------------------------------------------------------------------------------


async def test_status_badge_is_svg_with_title(harness: Harness) -> None:
    response = await harness.client.get("/badge/status.svg")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = parse_svg(response.content)
    assert root.findtext(f"{SVG}title") == "status: operational"


@pytest.mark.parametrize("path", ["/badge/status.svg", "/badge/uptime/api.svg", "/badge/api.json"])
async def test_badge_is_no_cache_with_etag_and_304(harness: Harness, path: str) -> None:
    first = await harness.client.get(path)

    second = await harness.client.get(path, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', first.headers["etag"])
    assert second.status_code == 304
    assert second.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize(
    ("window", "message"), [("24h", "100%"), ("7d", "99.62%"), ("30d", "99.91%"), ("90d", "99.97%")]
)
async def test_uptime_badge_per_window(harness: Harness, window: str, message: str) -> None:
    response = await harness.client.get("/badge/uptime/api.svg", params={"window": window})

    root = parse_svg(response.content)
    assert root.findtext(f"{SVG}title") == f"API uptime {window}: {message}"


async def test_uptime_badge_defaults_to_thirty_days(harness: Harness) -> None:
    response = await harness.client.get("/badge/uptime/api.svg")

    assert "API uptime 30d: 99.91%" in response.text


async def test_uptime_badge_unknown_component_404(harness: Harness) -> None:
    response = await harness.client.get("/badge/uptime/payments.svg")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "payments" in response.json()["detail"]


@pytest.mark.parametrize("window", ["1y", "30", "mtd"])
async def test_uptime_badge_bad_window_is_422_json(harness: Harness, window: str) -> None:
    response = await harness.client.get("/badge/uptime/api.svg", params={"window": window})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"


async def test_shields_endpoint_shape(harness: Harness) -> None:
    response = await harness.client.get("/badge/api.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "schemaVersion": 1,
        "label": "API",
        "message": "operational",
        "color": "green",
        "isError": False,
    }


async def test_shields_endpoint_is_error_without_data(harness: Harness) -> None:
    harness.faults["uptimerobot"] = FaultPlan(stat_fail=True)

    body = (await harness.client.get("/badge/website.json")).json()

    assert body["isError"] is True
    assert body["color"] == "lightgrey"


async def test_shields_unknown_component_is_404(harness: Harness) -> None:
    response = await harness.client.get("/badge/payments.json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Feed --------------------------------------------------------------------------------------


async def test_feed_is_atom_with_demo_incident(harness: Harness) -> None:
    response = await harness.client.get("/feed.atom")

    parsed = feedparser.parse(response.content)
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert parsed.bozo == 0
    assert [entry.title for entry in parsed.entries] == ["API outage (resolved)"]
    assert parsed.feed.id == "tag:127.0.0.1,2026:incidents"
    assert parsed.entries[0].updated == "2026-12-02T11:50:00Z"


async def test_feed_is_cacheable_with_etag(harness: Harness) -> None:
    first = await harness.client.get("/feed.atom")

    second = await harness.client.get(
        "/feed.atom", headers={"If-None-Match": first.headers["etag"]}
    )

    assert first.headers["cache-control"].startswith("public, max-age=")
    assert second.status_code == 304


# --- Leaks, upstream calls and the schema ------------------------------------------------------


@pytest.mark.parametrize("path", PAGE_PATHS)
async def test_page_leaks_no_private_detail(harness: Harness, path: str) -> None:
    private = await _private_strings(harness)

    response = await harness.client.get(path)

    assert response.status_code == 200
    for value in private:
        assert value not in response.text, f"{value!r} leaked in {path}"


async def test_pages_make_no_extra_upstream_calls(harness: Harness) -> None:
    await harness.client.get("/api/v1/status")
    before = Counter(harness.calls)

    for _ in range(5):
        for path in PAGE_PATHS:
            response = await harness.client.get(path)
            assert response.status_code == 200

    assert Counter(harness.calls) == before


async def test_pages_are_documented_under_one_tag(harness: Harness) -> None:
    schema = (await harness.client.get("/openapi.json")).json()

    paths = schema["paths"]
    for path in [
        "/status",
        "/badge/status.svg",
        "/badge/uptime/{component}.svg",
        "/badge/{component}.json",
        "/feed.atom",
    ]:
        assert paths[path]["get"]["tags"] == ["public pages"], path
    assert "text/html" in paths["/status"]["get"]["responses"]["200"]["content"]
    assert "404" in paths["/badge/{component}.json"]["get"]["responses"]
    assert "422" in paths["/badge/uptime/{component}.svg"]["get"]["responses"]


# --- Render cache ------------------------------------------------------------------------------


async def test_render_cache_reuses_body_per_status(harness: Harness) -> None:
    status = (await harness.app.state.runtime.views.current()).status
    cache = RenderCache()
    renders: list[int] = []

    def render() -> bytes:
        renders.append(1)
        return b"body"

    first = cache.get(status, ("page",), render)
    second = cache.get(status, ("page",), render)

    assert first == second
    assert len(renders) == 1


async def test_render_cache_renders_again_for_new_status(harness: Harness) -> None:
    status = (await harness.app.state.runtime.views.current()).status
    newer = status.model_copy(update={"stale": True})
    cache = RenderCache()

    cache.get(status, ("page",), lambda: b"old")
    body, etag = cache.get(newer, ("page",), lambda: b"new")

    assert body == b"new"
    assert etag == etag_of(b"new")


async def test_live_script_subscribes_to_status_stream(harness: Harness) -> None:
    page = (await harness.client.get("/status")).text
    script = await harness.client.get("/status/live.js")

    assert '<script src="/status/live.js" defer></script>' in page
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "new EventSource(root.dataset.stream)" in script.text


def _fail_every_upstream(harness: Harness) -> None:
    """Make every upstream call fail, so a fresh app has no data at all (a cold failure)."""
    harness.faults["uptimerobot"] = FaultPlan(error_status=500)
    harness.faults["sentry"] = FaultPlan(error_status=500)


async def test_status_badge_grey_on_cold_failure(harness: Harness) -> None:
    _fail_every_upstream(harness)

    response = await harness.client.get("/badge/status.svg")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "no data" in response.text
    assert response.headers["cache-control"] == "no-cache"


async def test_uptime_badge_grey_on_cold_failure(harness: Harness) -> None:
    _fail_every_upstream(harness)

    response = await harness.client.get("/badge/uptime/api.svg?window=7d")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "api uptime 7d" in response.text
    assert "no data" in response.text


async def test_shields_badge_reports_error_on_cold_failure(harness: Harness) -> None:
    _fail_every_upstream(harness)

    response = await harness.client.get("/badge/api.json")

    assert response.status_code == 200
    assert response.json() == {
        "schemaVersion": 1,
        "label": "api",
        "message": "no data",
        "color": "lightgrey",
        "isError": True,
    }


@pytest.mark.parametrize(
    "path", ["/badge/uptime/a%01b.svg", "/badge/a%01b.json", "/badge/uptime/" + "a" * 101 + ".svg"]
)
async def test_badge_refuses_impossible_slug_on_cold_failure(harness: Harness, path: str) -> None:
    _fail_every_upstream(harness)

    response = await harness.client.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "lowercase letters, digits and dashes" in response.json()["detail"]


async def test_status_page_html_on_cold_failure(harness: Harness) -> None:
    _fail_every_upstream(harness)

    response = await harness.client.get("/status")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "5"
    assert "No status data is available yet" in response.text
    assert '<html lang="en">' in response.text
