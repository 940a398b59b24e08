"""Training sets are point-in-time correct: nothing from after the label time leaks in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from features.training_sets import training_set
from simulator import Simulation


@pytest.fixture(scope="module")
def labelled(shop: Simulation) -> pl.DataFrame:
    """Purchases as labels: (user, time of purchase) for 300 purchases."""
    purchases = shop.feeds.events.filter(pl.col("event_type") == "purchase")
    return purchases.sample(300, seed=1).select(
        "user_id", event_timestamp=pl.col("timestamp"), label=pl.lit(1)
    )


def test_no_value_from_after_the_label_time(
    store: Any, shop: Simulation, labelled: pl.DataFrame
) -> None:
    got = training_set(store, labelled, ["user_features:frequency", "user_features:purchases_7d"])
    assert got.height == labelled.height
    assert got.select("user_id", "event_timestamp").equals(
        labelled.select("user_id", "event_timestamp")
    ), "rows come back in input order"
    orders = (
        shop.feeds.events.filter(pl.col("event_type") == "purchase")
        .group_by("user_id", "session_id")
        .agg(pl.col("timestamp").min().alias("ordered_at"))
    )
    # a daily snapshot holds the events before the label's day: recompute that from raw events
    expected = (
        labelled.with_row_index()
        .join(orders, on="user_id", how="left")
        .with_columns(day_start=pl.col("event_timestamp").dt.truncate("1d"))
        .group_by("index")
        .agg(
            before_day=(pl.col("ordered_at") < pl.col("day_start")).sum(),
            before_label=(pl.col("ordered_at") < pl.col("event_timestamp")).sum(),
        )
        .sort("index")
    )
    frequency = got["frequency"].fill_null(0)
    assert (frequency == expected["before_day"]).all()
    # the label's own purchase (and anything later) is never counted
    assert (frequency < expected["before_label"] + 1).all()
    assert (frequency <= expected["before_label"]).all()


def test_rows_before_any_feature_are_kept_with_nulls(store: Any, shop: Simulation) -> None:
    first = shop.feeds.events["timestamp"].min()
    rows = pl.DataFrame(
        {
            "user_id": ["u000001", "u000001", "nobody"],
            "event_timestamp": [first - dt.timedelta(days=5), first, first + dt.timedelta(days=20)],
        }
    )
    got = training_set(store, rows, ["user_features"])
    assert got.height == 3
    assert got["frequency"][0] is None and got["frequency"][2] is None


def test_join_on_two_entities_and_whole_views(store: Any, shop: Simulation) -> None:
    start = shop.feeds.events["timestamp"].min() + dt.timedelta(days=10)
    events = shop.feeds.events.filter(
        (pl.col("event_type") == "add_to_cart") & (pl.col("timestamp") > start)
    ).head(50)
    rows = events.join(shop.feeds.catalog.select("item_id", "category"), on="item_id").select(
        "user_id", "item_id", "category", event_timestamp=pl.col("timestamp")
    )
    got = training_set(store, rows, ["item_features:price", "user_category_interest:interest"])
    assert got["price"].null_count() == 0, "every item has a snapshot 10 days in"
    assert {"price", "interest"} <= set(got.columns)


def test_naive_timestamps_are_refused(store: Any) -> None:
    rows = pl.DataFrame({"user_id": ["u1"], "event_timestamp": [dt.datetime(2025, 6, 1)]})
    with pytest.raises(ValueError, match="timezone-aware"):
        training_set(store, rows, ["user_features:frequency"])
