"""The headline figures on a hand-made shop whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from kpi.figures import UNCATEGORISED, headline, prepare, summarise, with_previous
from tests.kpi.frames import catalog, events

ROWS = [
    # u1 visits twice and buys in both: order o1 (2 a at 10, 1 b at 5), then c at 3
    # (no order id: the session is the order)
    ("u1", "s1", "a", "view", 0, 1, 10.0),
    ("u1", "s1", "a", "add_to_cart", 0, 2, 10.0),
    ("u1", "s1", "a", "purchase", 0, 2, 10.0, "o1"),
    ("u1", "s1", "b", "purchase", 0, 1, 5.0, "o1"),
    ("u2", "s3", "a", "view", 1, 1, 10.0),
    ("u2", "s3", "b", "view", 1, 1, 5.0),
    ("u1", "s2", "c", "view", 2, 1, 3.0),
    ("u1", "s2", "c", "purchase", 2, 1, 3.0),
    ("u3", "s4", "a", "purchase", 3, 1, 8.0, "o2"),
    # u1 sends one a of o1 back, refunded 10, in a visit of its own
    ("u1", "s5", "a", "return", 4, 1, 10.0, "o1"),
]


@pytest.fixture()
def shop():
    return prepare(events(ROWS), catalog())


def test_each_figure_has_its_worked_answer(shop) -> None:
    got = summarise(shop).row(0, named=True)
    assert got["gmv"] == 36.0  # 2×10 + 5 + 3 + 8
    assert got["orders"] == 3  # o1, u1's session s2, o2
    assert got["buyers"] == 2
    assert got["sessions"] == 4  # s1–s4; s5 only returned something
    assert got["converted_sessions"] == 3
    assert got["conversion"] == pytest.approx(0.75)
    assert got["aov"] == pytest.approx(12.0)
    assert got["repurchase_rate"] == pytest.approx(0.5)  # u1 ordered twice, u3 once
    assert (got["units_sold"], got["units_returned"]) == (5, 1)
    assert got["return_rate"] == pytest.approx(0.2)
    assert got["refunds"] == 10.0 and got["net_revenue"] == 26.0
    # profit: a 2×(10−4) + c (3−1) + a (8−4) − the returned a (10−4); b has no cost
    assert got["gross_profit"] == pytest.approx(12.0)
    assert got["gross_margin"] == pytest.approx(12.0 / 21.0)  # over (20 + 3 + 8) − 10
    assert got["cost_coverage"] == pytest.approx(31.0 / 36.0)


def test_by_category_an_order_and_a_session_count_in_each_category_they_touch(shop) -> None:
    rows = {r["category"]: r for r in summarise(shop, ["category"]).to_dicts()}
    x, y = rows["X"], rows["Y"]
    assert (x["gmv"], x["orders"], x["sessions"], x["converted_sessions"]) == (31.0, 3, 4, 3)
    assert (y["gmv"], y["orders"], y["sessions"], y["converted_sessions"]) == (5.0, 1, 2, 1)
    assert y["gross_margin"] is None and y["cost_coverage"] == 0.0  # b's cost is unknown
    assert y["gross_profit"] is None
    assert x["gross_margin"] == pytest.approx(12.0 / 21.0)


def test_no_events_give_zero_counts_and_no_ratios(shop) -> None:
    got = summarise(shop.head(0)).row(0, named=True)
    assert got["gmv"] == 0 and got["orders"] == 0 and got["sessions"] == 0
    assert got["conversion"] is None and got["aov"] is None and got["gross_margin"] is None
    assert got["gross_profit"] is None


def test_views_only_have_sessions_but_no_conversion_or_order_value(shop) -> None:
    got = summarise(shop.filter(shop["event_type"] == "view")).row(0, named=True)
    assert got["sessions"] == 3 and got["conversion"] == 0.0 and got["aov"] is None


def test_an_item_the_catalog_lacks_is_counted_uncategorised() -> None:
    frame = prepare(events([("u9", "s9", "zz", "purchase", 0, 1, 2.0)]), catalog())
    got = summarise(frame, ["category"]).row(0, named=True)
    assert got["category"] == UNCATEGORISED and got["gmv"] == 2.0
    assert got["gross_margin"] is None and got["cost_coverage"] == 0.0


def test_headline_changes_shares_in_points_and_the_rest_relatively(shop) -> None:
    now = summarise(shop)
    before = summarise(shop.filter(shop["user_id"] == "u1"))  # gmv 28, conversion 2/2
    lines = headline(now, before)
    assert lines["gmv"]["change"] == pytest.approx(36 / 28 - 1)
    assert lines["conversion"]["change"] == pytest.approx(0.75 - 1.0)
    zero = headline(now, summarise(shop.head(0)))
    assert zero["gmv"]["previous"] == 0 and zero["gmv"]["change"] is None


def test_groups_missing_from_a_period_count_zero_there(shop) -> None:
    now = summarise(shop, ["category"])
    before = summarise(shop.filter(shop["category"] == "X"), ["category"])
    rows = {r["category"]: r for r in with_previous(now, before, ["category"]).to_dicts()}
    assert rows["Y"]["gmv_previous"] == 0 and rows["Y"]["orders_previous"] == 0
    assert rows["Y"]["aov_previous"] is None
    assert rows["X"]["gmv_previous"] == 31.0
