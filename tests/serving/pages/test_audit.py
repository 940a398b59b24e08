"""The audit page against the real server: concurrent ``/price`` traffic from several
shoppers is logged (pseudonymised) and audited with no divergence and no leak; a real
browser sees the page without console errors, with its charts and nothing fetched from
another host; an anonymous one gets the login."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serving.client import ADMIN, Server, TrainedShop, call, get
from tests.serving.pages.browser import rendered_charts, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]
JSON = {**ADMIN, "accept": "application/json"}


def _audit(base: str, query: str = "") -> dict:
    status, body = get(base, f"/audit{query}", JSON)
    assert status == 200, body
    return json.loads(body)


def test_quotes_of_many_shoppers_are_logged_and_audited(
    server: Server, trained_shop: TrainedShop
) -> None:
    before = _audit(server.base)["parity"]["quotes"]
    items = trained_shop.known_items[:20]
    shoppers = [trained_shop.known_user, *[f"audit-shopper-{n}" for n in range(7)]]

    def ask(user: str) -> int:
        for _ in range(3):
            status, answer = call(server.base, "/price", {"item_ids": items, "user_id": user})
            assert status == 200, answer
            assert all(p["was_price"] is None or p["is_reduced"] for p in answer["prices"])
        return len(items) * 3

    with ThreadPoolExecutor(len(shoppers)) as pool:
        asked = sum(pool.map(ask, shoppers))
    deadline = time.monotonic() + 15
    report = _audit(server.base)
    while report["parity"]["quotes"] < before + asked and time.monotonic() < deadline:
        time.sleep(0.5)  # the log is written in batches, off the request path
        report = _audit(server.base)
    assert report["parity"]["quotes"] >= before + asked
    assert report["parity"]["shared_moments"] > 0, "the same item was quoted concurrently"
    assert report["parity"]["divergences"] == []
    assert report["reference_prices"]["violations"] == []
    places = {p["name"]: p for p in report["privacy"]["places"]}
    assert places["experiments.price_quotes"]["searched"] >= asked
    assert report["privacy"]["leaks"] == 0, report["privacy"]
    assert trained_shop.known_user not in json.dumps(report)
    assert get(server.base, "/audit?until=someday", JSON)[0] == 400
    assert get(server.base, "/audit?since=2026-02-02&until=2026-01-01", JSON)[0] == 400


def test_the_page_renders_its_charts_and_tables_for_the_admin_only(
    server: Server, browser: object
) -> None:
    status, body = get(server.base, "/audit")
    assert status == 401 and "<form" in body  # an anonymous browser gets the login
    anonymous = visit(browser, server.base, admin=False)
    assert anonymous.open("/audit").status == 401
    tab = visit(browser, server.base)
    answer = tab.open("/audit")
    assert answer.status == 200
    assert tab.tab.title().startswith("Algorithm audit")
    assert rendered_charts(tab.tab) == 3
    for table_id in ("divergences", "reference-prices", "privacy", "by-category", "by-brand"):
        assert tab.tab.locator(f"table#{table_id}").count() == 1
    tab.tab.fill('input[data-table="privacy"]', "price_quotes")
    visible = tab.tab.locator("table#privacy tbody tr:visible")
    assert visible.count() == 1 and "price_quotes" in visible.inner_text()
    assert not tab.errors, tab.errors
    assert not tab.outside and not anonymous.outside, tab.outside + anonymous.outside
