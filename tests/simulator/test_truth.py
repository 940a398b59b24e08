"""The ground truth file and its demand function."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from simulator import TRUTH_FILE, GroundTruth, Simulation
from storefront.workspace import Workspace


def test_truth_round_trips_through_the_feed_directory(
    small_sim: Simulation, feed_dir: Path
) -> None:
    loaded = GroundTruth.load(feed_dir)
    assert loaded.cfg == small_sim.truth.cfg
    assert loaded.items_frame().equals(small_sim.truth.items_frame())
    assert loaded.users_frame().equals(small_sim.truth.users_frame())
    assert Workspace(feed_dir).feed_file(TRUTH_FILE).exists()


def test_truth_describes_the_catalogue(small_sim: Simulation) -> None:
    items = small_sim.truth.items_frame()
    catalog = small_sim.feeds.catalog.join(items, on="item_id", suffix="_truth")
    assert catalog.height == items.height
    assert (catalog["base_price"] == catalog["base_price_truth"]).all()
    assert items["elasticity"].is_between(-4.5, -0.2).all()
    per_category = items.group_by("category").agg(pl.col("category_elasticity").first())
    assert per_category["category_elasticity"].max() - per_category["category_elasticity"].min() > 3
    users = small_sim.truth.users_frame()
    assert set(users["tier"].unique()) == {"budget", "standard", "premium"}


def test_demand_falls_with_price_at_the_item_elasticity(small_sim: Simulation) -> None:
    truth = small_sim.truth
    items = truth.items_frame().filter(pl.col("created_day") < 0).head(20)
    for item_id, base, elasticity in items.select("item_id", "base_price", "elasticity").rows():
        prices = base * np.exp(np.array([-0.02, 0.02]))
        low, high = truth.demand(item_id, prices, "2025-07-01")
        slope = (np.log(high) - np.log(low)) / 0.04
        # tiers scale elasticity by 1.3 / 1.0 / 0.55 around the item's own: the population
        # slope at the base price equals it up to the sampling of shoppers into tiers
        assert slope == pytest.approx(elasticity, rel=0.15), item_id


def test_demand_follows_the_calendar_and_promotion(small_sim: Simulation) -> None:
    truth = small_sim.truth
    item = truth.items_frame().filter(pl.col("created_day") < 0)["item_id"][0]
    price = float(truth.world.base_price[truth.item_index(item)])
    assert truth.demand(item, price, "2025-06-07") > truth.demand(item, price, "2025-06-03")
    assert truth.demand(item, price, "2025-06-03", promo=True) > truth.demand(
        item, price, "2025-06-03"
    )
    grid = np.array([0.8, 1.0, 1.2]) * price
    assert np.all(np.diff(truth.demand(item, grid, "2025-06-03")) < 0)


def test_demand_matches_simulated_sales(default_sim: Simulation) -> None:
    """Expected units from ``demand`` agree with what the simulation sold, item-days summed."""
    truth = default_sim.truth
    sales = default_sim.feeds.sales.filter(pl.col("price_test") & ~pl.col("stockout"))
    sample = sales.filter(pl.col("period_start").dt.day() == 10)
    expected = sum(
        truth.demand(item, price, day, promo=promo)
        for item, day, price, promo in sample.select(
            "item_id", "period_start", "price", "promo"
        ).rows()
    )
    assert sample["units"].sum() == pytest.approx(expected, rel=0.1)


def test_unknown_item_is_named(small_sim: Simulation) -> None:
    with pytest.raises(KeyError, match="nope"):
        small_sim.truth.demand("nope", 10.0, "2025-06-01")


def test_cart_probability_explains_the_simulated_carts(small_sim: Simulation) -> None:
    """Summed over views, the truth's add-to-cart chances match the carts simulated."""
    events = small_sim.feeds.events
    prices = small_sim.feeds.prices.sort("valid_from")
    promo_at = prices.select("item_id", "promo", timestamp="valid_from")
    views = (
        events.filter(pl.col("event_type") == "view")
        .head(20_000)
        .sort("timestamp")
        .join_asof(promo_at, on="timestamp", by="item_id")
    )
    truth = small_sim.truth
    expected = 0.0
    for (user,), rows in views.group_by("user_id"):
        expected += truth.cart_probability(
            user, rows["item_id"].to_list(), rows["unit_price"].to_numpy(),
            rows["promo"].fill_null(False).to_numpy(),
        ).sum()  # fmt: skip
    sessions = views["session_id"].unique()
    carts = events.filter(
        (pl.col("event_type") == "add_to_cart") & pl.col("session_id").is_in(sessions.implode())
    )
    viewed = views.select("session_id", "item_id").unique()
    observed = carts.join(viewed, on=["session_id", "item_id"]).height
    assert observed == pytest.approx(expected, abs=4 * np.sqrt(expected)), (observed, expected)
    with pytest.raises(KeyError, match="not in the simulated world"):
        truth.cart_probability("nobody", ["i00000"])


def test_tier_sums_equal_the_per_shopper_sum(small_sim: Simulation) -> None:
    """The fast path (sums by tier) gives the per-shopper answer, capped or not."""
    truth, w = small_sim.truth, small_sim.truth.world
    date = small_sim.truth.cfg.start_date + dt.timedelta(days=30)
    for k in range(0, 300, 7):
        item = str(w.item_ids[k])
        prices = w.base_price[k] * np.array([0.5, 0.9, 1.0, 1.3])
        for promo in (False, True):
            fast = truth.demand(item, prices, date, promo)
            day = (date - truth.cfg.start_date).days
            factor = prices / w.base_price[k]
            slow = np.array([truth._capped_carts(k, day, promo, factor[j : j + 1])[0]
                             for j in range(len(prices))])  # fmt: skip
            # same scale: the ratio between prices is all that the carts decide
            assert fast / fast[2] == pytest.approx(slow / slow[2], rel=1e-9)
        # a near-free price caps some shoppers' chances at 1: the exact path takes over
        capped = truth.demand(item, w.base_price[k] * np.array([0.001, 1.0]), date)
        assert capped[1] == pytest.approx(truth.demand(item, w.base_price[k], date), rel=1e-9)
