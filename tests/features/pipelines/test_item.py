"""Item snapshots: prices as of each day, the 30-day lowest price, stock and cover."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from features.config import ItemFeatureConfig
from features.pipelines.item import item_features, item_vector_columns, pack_item_vectors

D0 = dt.date(2025, 1, 1)


def _at(day: int) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(10), tzinfo=dt.UTC)


CATALOG = pl.DataFrame(
    {
        "item_id": ["x"],
        "category": ["c"],
        "base_price": [10.0],
        "unit_cost": [4.0],
        "created_at": [dt.datetime(2024, 12, 1, tzinfo=dt.UTC)],
    }
)
EVENTS = pl.DataFrame(
    {
        "item_id": ["x"] * 3,
        "event_type": ["view", "purchase", "purchase"],
        "timestamp": [_at(0), _at(0), _at(2)],
        "quantity": [1, 2, 5],
        "unit_price": [10.0, 10.0, 8.0],
    }
)
PRICES = pl.DataFrame(
    {"item_id": ["x"] * 3, "valid_from": [_at(0), _at(2), _at(40)], "price": [10.0, 8.0, 12.0],
     "promo": [False, True, False]}
)  # fmt: skip
INVENTORY = pl.DataFrame(
    {"item_id": ["x"] * 2, "timestamp": [_at(0), _at(2)], "on_hand": [7, 0], "on_order": [0, 10]}
)


@pytest.fixture(scope="module")
def daily() -> pl.DataFrame:
    return item_features(
        EVENTS.lazy(), CATALOG.lazy(), PRICES.lazy(), INVENTORY.lazy(),
        D0, D0 + dt.timedelta(days=50), ItemFeatureConfig(),
    )  # fmt: skip


def _on(daily: pl.DataFrame, day: int) -> dict:
    moment = dt.datetime.combine(D0 + dt.timedelta(days=day + 1), dt.time(), tzinfo=dt.UTC)
    return daily.filter(pl.col("event_timestamp") == moment).row(0, named=True)


def test_price_discount_margin_and_promo_as_of_each_day(daily: pl.DataFrame) -> None:
    day1, day2 = _on(daily, 1), _on(daily, 2)
    assert (day1["price"], day1["discount"], day1["promo"]) == (10.0, 0.0, False)
    assert (day2["price"], day2["promo"], day2["unit_margin"]) == (8.0, True, 4.0)
    assert day2["discount"] == pytest.approx(0.2)


def test_lowest_price_of_the_last_30_days(daily: pl.DataFrame) -> None:
    assert _on(daily, 35)["lowest_price_30d"] == 8.0
    assert _on(daily, 45)["lowest_price_30d"] == 8.0, "8.0 was in force until day 40"
    assert _on(daily, 50)["price"] == 12.0


def test_stock_cover_and_stockout(daily: pl.DataFrame) -> None:
    day0, day2 = _on(daily, 0), _on(daily, 2)
    assert (day0["on_hand"], day0["stockout"]) == (7, False)
    assert day0["days_of_cover"] == pytest.approx(7 / (2 / 7))
    assert (day2["on_hand"], day2["on_order"], day2["stockout"]) == (0, 10, True)
    assert (day2["units_7d"], day2["purchases_7d"], day2["age_days"]) == (7, 2, 33)


def test_no_inventory_feed_means_unknown_stock() -> None:
    daily = item_features(
        EVENTS.lazy(), CATALOG.lazy(), None, None, D0, D0 + dt.timedelta(days=3),
        ItemFeatureConfig(),
    )  # fmt: skip
    assert daily["on_hand"].null_count() == daily.height
    assert daily["stockout"].null_count() == daily.height
    assert daily["price"].to_list()[:3] == [10.0, 10.0, 8.0], "last price seen in events"


def test_packed_vectors_hold_every_feature_in_order(daily: pl.DataFrame) -> None:
    packed = pack_item_vectors(daily)
    columns = item_vector_columns(daily)
    row = packed.row(3, named=True)["vector"]
    expected = daily.row(3, named=True)
    assert len(row) == len(columns)
    for value, name in zip(row, columns, strict=True):
        want = expected[name]
        if want is None:
            assert math.isnan(value), f"{name}: a missing value travels as NaN"
        else:
            assert value == pytest.approx(float(want)), name


def test_catalog_without_unit_cost_has_unknown_cost_and_margin() -> None:
    daily = item_features(
        EVENTS.lazy(), CATALOG.drop("unit_cost").lazy(), None, None, D0,
        D0 + dt.timedelta(days=3), ItemFeatureConfig(),
    )  # fmt: skip
    assert daily["unit_cost"].null_count() == daily.height
    assert daily["unit_margin"].null_count() == daily.height
    assert daily["price"].to_list()[:3] == [10.0, 10.0, 8.0]
