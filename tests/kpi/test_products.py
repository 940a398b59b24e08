"""Product performance: item figures, top and bottom, stock-outs and overstock."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from features.config import ItemFeatureConfig
from kpi.figures import prepare
from kpi.periods import Period
from kpi.products import (
    bottom_items,
    item_table,
    overstocked,
    stock_days,
    stock_summary,
    stockouts,
    top_items,
)
from tests.kpi.frames import DAY, at, catalog, events

PERIOD = Period(DAY + dt.timedelta(days=10), DAY + dt.timedelta(days=19))  # 10 days
ROWS = [
    ("u1", "s1", "a", "purchase", 12, 2, 10.0),
    ("u2", "s2", "a", "purchase", 15, 3, 10.0),
    ("u3", "s3", "b", "view", 12, 1, 5.0),
    ("u3", "s3", "b", "view", 13, 1, 5.0),
    ("u4", "s4", "c", "purchase", 14, 1, 3.0),
    ("u4", "s4", "c", "purchase", 4, 1, 3.0),  # the previous period
]


def _inventory() -> pl.DataFrame:
    """a: 5 on hand, out of stock on days 16-17, 20 at the end; b: 8 all along (never
    sold: overstock); c: 400 (1 sold in 10 days: 4,000 days of cover); d: no rows."""
    rows = [("a", 10, 5), ("a", 16, 0), ("a", 18, 20), ("b", 0, 8), ("c", 0, 400)]
    return pl.DataFrame(
        {
            "item_id": [r[0] for r in rows],
            "timestamp": [at(r[1], 23) for r in rows],
            "on_hand": [r[2] for r in rows],
            "on_order": [0] * len(rows),
        }
    )


@pytest.fixture()
def items():
    raw = events(ROWS)
    stock = stock_days(raw, catalog(), None, _inventory(), PERIOD, ItemFeatureConfig())
    return item_table(prepare(raw, catalog()), catalog(), stock, PERIOD, 60.0), stock


def test_each_item_has_its_figures_and_stock(items) -> None:
    table, _ = items
    rows = {r["item_id"]: r for r in table.to_dicts()}
    assert set(rows) == {"a", "b", "c", "d"}  # the whole live catalog, sold or not
    a = rows["a"]
    assert (a["units_sold"], a["gmv"], a["orders"], a["stockout_days"]) == (5, 50.0, 2, 2)
    assert a["on_hand"] == 20 and a["days_of_cover"] == pytest.approx(20 / (5 / 10))
    assert a["gross_margin"] == pytest.approx(0.6) and not a["overstock"]
    assert (rows["b"]["views"], rows["b"]["gmv"], rows["b"]["overstock"]) == (1, 0.0, True)
    assert rows["c"]["days_of_cover"] == pytest.approx(4000) and rows["c"]["overstock"]
    assert rows["c"]["gmv_previous"] == 3.0
    assert rows["d"]["on_hand"] is None and not rows["d"]["overstock"]  # stock unknown


def test_top_bottom_stockouts_and_overstock(items) -> None:
    table, stock = items
    assert top_items(table, 2)["item_id"].to_list() == ["a", "c"]
    assert bottom_items(table, 2)["item_id"].to_list() == ["b", "d"]  # b viewed, d not
    assert stockouts(table)["item_id"].to_list() == ["a"]
    assert overstocked(table)["item_id"].to_list() == ["c", "b"]
    summary = stock_summary(table, stock)
    assert summary["tracked"] and summary["items_out_of_stock"] == 1
    assert summary["stockout_item_days"] == 2 and summary["items_overstocked"] == 2
    assert summary["stockout_share"] == pytest.approx(2 / 30)  # 3 tracked items × 10 days


def test_without_an_inventory_feed_stock_is_unlimited() -> None:
    raw = events(ROWS)
    stock = stock_days(raw, catalog(), None, None, PERIOD, ItemFeatureConfig())
    table = item_table(prepare(raw, catalog()), catalog(), stock, PERIOD, 60.0)
    assert table["stockout_days"].sum() == 0 and not table["overstock"].any()
    assert stock_summary(table, stock)["tracked"] is False
