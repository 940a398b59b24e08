"""The KPI dashboard in a real browser against the real server: it refuses an anonymous
browser, renders its charts without console errors or requests to other hosts, filters
by date range and bucket, and counts the events posted to the service."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from tests.serving.client import ADMIN, Server, TrainedShop, call, get, price_of
from tests.serving.pages.browser import Visit, rendered_charts, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = 8
"""Trend, by category, by segment, funnel, lifecycle, new vs returning, margin by
category, promotion response."""
JSON = {**ADMIN, "accept": "application/json"}


def _open(tab: Visit, path: str) -> object:
    """Open a dashboard page and wait until its charts are drawn (Plotly draws each
    as the page is parsed, which can outlast the network going quiet)."""
    answer = tab.open(path)
    tab.tab.wait_for_load_state("load")
    tab.tab.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= {CHARTS}",
        timeout=60_000,
    )
    return answer


def _report(server: Server, query: str = "") -> dict:
    status, body = get(server.base, "/dashboard" + query, JSON)
    assert status == 200, body
    return json.loads(body)


def _feed_range(server: Server) -> tuple[str, str]:
    """The last 28 days of the feed (the service's log may hold later events, posted by
    other tests: the default range would end today)."""
    last = dt.date.fromisoformat(_report(server)["freshness"]["feed_last_event"][:10])
    return (last - dt.timedelta(days=27)).isoformat(), last.isoformat()


def test_an_anonymous_browser_gets_the_login_form(server: Server, browser: object) -> None:
    tab = visit(browser, server.base, admin=False)
    answer = tab.open("/dashboard?by=week")
    assert answer.status == 401  # type: ignore[attr-defined]
    assert tab.tab.locator("form#login input[name=key]").is_visible()
    assert "KPI" not in tab.tab.title() and not tab.outside, tab.outside
    status, body = get(server.base, "/dashboard", {"accept": "application/json"})
    assert status == 401 and json.loads(body)["fields"] == ["x-api-key"]


def test_the_dashboard_draws_every_chart_with_nothing_from_elsewhere(
    server: Server, browser: object
) -> None:
    since, until = _feed_range(server)
    tab = visit(browser, server.base)
    answer = _open(tab, f"/dashboard?since={since}&until={until}")
    assert answer.status == 200  # type: ignore[attr-defined]
    assert rendered_charts(tab.tab) >= CHARTS
    assert not tab.errors, tab.errors
    assert not tab.outside, tab.outside
    page = tab.tab
    assert page.locator(".tile[data-figure=gmv] .value").inner_text() not in ("", "–")
    subtitle = page.locator(".subtitle").inner_text()
    assert "28 days, by day" in subtitle and "data through" in subtitle
    for heading in ("Shopper behaviour", "Product performance", "Marketing effect"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator("#freshness").inner_text().count("events") >= 2

    # hovering a chart shows its values
    page.locator("#chart-trend .nsewdrag").first.hover()
    page.wait_for_function(
        "() => document.querySelector('#chart-trend .hoverlayer').childElementCount > 0",
        timeout=10_000,
    )
    hover = page.locator("#chart-trend .hoverlayer").text_content() or ""
    assert "this period" in hover or "previous" in hover, hover

    # the category table sorts by GMV (ascending on the first click) and searches
    gmv = page.locator("#by-category th[data-key=gmv]")
    gmv.click()
    cells = page.locator("#by-category tbody td:nth-child(2)")
    values = [float(v) for v in cells.evaluate_all("cs => cs.map(c => c.dataset.sort)")]
    assert values == sorted(values) and len(values) > 1
    page.fill("input[data-table=by-category]", "category_01")
    visible = page.locator("#by-category tbody tr:not([hidden])")
    assert visible.count() == 1 and "category_01" in visible.inner_text()


def test_the_filters_pick_the_range_and_the_buckets(server: Server, browser: object) -> None:
    since, until = _feed_range(server)
    daily = _report(server, f"?since={since}&until={until}")
    tab = visit(browser, server.base)
    _open(tab, f"/dashboard?since={since}&until={until}")
    page = tab.tab
    later = (dt.date.fromisoformat(since) + dt.timedelta(days=7)).isoformat()
    page.fill("input[name=since]", later)
    page.select_option("select[name=by]", "week")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    page.wait_for_load_state("load")
    assert "by=week" in page.url and f"since={later}" in page.url
    assert page.get_by_role("heading", name="Trend by week").is_visible()
    assert "21 days, by week" in page.locator(".subtitle").inner_text()
    assert not tab.errors, tab.errors

    weekly = _report(server, f"?since={since}&until={until}&by=week")
    assert len(weekly["series"]) == 4 and weekly["headline"] == daily["headline"]
    assert sum(r["gmv"] for r in weekly["series"]) == pytest.approx(
        daily["headline"]["gmv"]["current"]
    )
    for query, field in (
        ("?since=2025-13-01", "since"),
        ("?by=month", "by"),
        ("?since=2025-07-02&until=2025-07-01", "until"),
    ):
        status, body = get(server.base, "/dashboard" + query, JSON)
        assert status == 400 and json.loads(body)["fields"] == [field], (query, body)
    status, body = get(server.base, "/dashboard?by=month", ADMIN)
    assert status == 400 and "by: &#x27;month&#x27; is not one of day, week" in body


def test_events_posted_to_the_service_are_counted(
    server: Server, trained_shop: TrainedShop
) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    query = f"?since={today}&until={today}"
    before = _report(server, query)
    item = trained_shop.known_items[7]
    price = price_of(server.base, item)
    now = dt.datetime.now(dt.UTC).isoformat()
    event = {
        "event_id": uuid.uuid4().hex,
        "user_id": "u-dashboard",
        "session_id": "s-dashboard",
        "item_id": item,
        "event_type": "purchase",
        "timestamp": now,
        "quantity": 2,
        "unit_price": price,
        "order_id": "o-dashboard",
    }
    status, answer = call(server.base, "/events", {"events": [event]})
    assert status == 200 and answer["accepted"] == 1, answer
    after = _report(server, query)
    gain = after["headline"]["gmv"]["current"] - before["headline"]["gmv"]["current"]
    assert gain == pytest.approx(2 * price)
    assert after["headline"]["orders"]["current"] == before["headline"]["orders"]["current"] + 1
    assert after["freshness"]["service_events"] == before["freshness"]["service_events"] + 1
    assert after["freshness"]["service_last_event"] >= now[:19]
