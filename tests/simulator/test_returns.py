"""Simulated returns: each follows a purchase of the same shopper and order, refunds
what was paid, comes at a share set by category and price, and leaves every other event
as it was."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from simulator import Simulation, SimulationConfig, simulate
from simulator.config import RETURN_REASONS, ReturnsConfig
from storefront.config import ConfigError, load_config


def _returns(sim: Simulation) -> pl.DataFrame:
    return sim.feeds.events.filter(pl.col("event_type") == "return")


def test_every_return_follows_its_purchase_and_refunds_what_was_paid(
    small_sim: Simulation,
) -> None:
    events = small_sim.feeds.events
    returns = _returns(small_sim)
    assert returns.height > 0, "returns are on by default"
    purchases = events.filter(pl.col("event_type") == "purchase")
    assert purchases["order_id"].null_count() == 0, "purchases carry their order"
    matched = returns.join(
        purchases, on=["order_id", "item_id", "user_id"], how="left", suffix="_bought"
    )
    assert matched["timestamp_bought"].null_count() == 0, "each return has its purchase"
    delay = (pl.col("timestamp") - pl.col("timestamp_bought")).dt.total_days()
    # an order may buy an item twice: one of its purchases is the one returned
    found = matched.group_by("event_id").agg(
        (
            delay.is_between(1, 31)
            & (pl.col("unit_price") == pl.col("unit_price_bought"))  # refund = price paid
            & (pl.col("quantity") == pl.col("quantity_bought"))
        )
        .any()
        .alias("ok")
    )
    assert found.height == returns.height and found["ok"].all()
    assert set(returns["return_reason"].unique()) <= set(RETURN_REASONS)
    others = events.filter(pl.col("event_type") != "return")
    assert others["return_reason"].null_count() == others.height
    assert returns["session_id"].is_in(purchases["session_id"].implode()).sum() == 0, (
        "a return is a visit of its own"
    )
    assert returns["timestamp"].max() < purchases["timestamp"].max() + np.timedelta64(1, "D")


def test_returns_off_leaves_every_other_event_as_it_was(small_sim: Simulation, make_config) -> None:
    off = simulate(make_config(returns=ReturnsConfig(enabled=False)))
    assert _returns(off).is_empty()
    columns = ["user_id", "session_id", "item_id", "event_type", "timestamp", "quantity"]
    kept = small_sim.feeds.events.filter(pl.col("event_type") != "return").select(columns)
    assert kept.equals(off.feeds.events.select(columns))
    for name in ("sales", "inventory", "prices"):
        assert getattr(off.feeds, name).equals(getattr(small_sim.feeds, name)), name
    assert (off.truth.items_frame()["return_rate"] == 0).all()


def test_the_share_depends_on_category_and_rises_with_price(default_sim: Simulation) -> None:
    events, catalog = default_sim.feeds.events, default_sim.feeds.catalog
    units = (
        events.filter(pl.col("event_type").is_in(["purchase", "return"]))
        .join(catalog.select("item_id", "category", "base_price"), on="item_id")
        .with_columns(
            dear=pl.col("base_price") > pl.col("base_price").median().over("category"),
            returned=pl.col("event_type") == "return",
        )
    )

    def rate(by: str) -> pl.DataFrame:
        return units.group_by(by).agg(
            rate=pl.col("quantity").filter("returned").sum()
            / pl.col("quantity").filter(~pl.col("returned")).sum()
        )

    overall = (
        units.filter("returned")["quantity"].sum()
        / units.filter(~pl.col("returned"))["quantity"].sum()
    )
    assert 0.04 <= overall <= 0.15
    by_category = rate("category")["rate"]
    assert by_category.min() < 0.06 and by_category.max() > 0.11, "a spread by category"
    by_price = dict(rate("dear").iter_rows())
    assert by_price[True] > 1.2 * by_price[False], "dearer items come back more"
    truth = default_sim.truth.items_frame()
    assert truth["return_rate"].is_between(0.0, 0.6).all()


def test_a_category_rate_set_in_the_config_wins(make_config) -> None:
    cfg = make_config(
        returns=ReturnsConfig(category_rates={"category_00": 0.0, "category_01": 0.5})
    )
    sim = simulate(cfg)
    back = _returns(sim).join(sim.feeds.catalog.select("item_id", "category"), on="item_id")
    assert "category_00" not in back["category"].to_list()
    by_category = back["category"].value_counts(sort=True)
    assert by_category["category"][0] == "category_01", "the highest rate comes back most"


def test_bad_return_settings_are_refused_naming_them(make_config, tmp_path) -> None:
    with pytest.raises(ValueError, match="category_rates: no category 'shoes'"):
        simulate(make_config(returns=ReturnsConfig(category_rates={"shoes": 0.1})))
    with pytest.raises(ValidationError, match="not a probability"):
        ReturnsConfig(category_rates={"category_00": 1.5})
    with pytest.raises(ValidationError, match="rate_range"):
        ReturnsConfig(rate_range=(0.2, 0.1))
    path = tmp_path / "simulation.yaml"
    path.write_text("returns:\n  enabled: true\n  rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"returns\.rate"):
        load_config(SimulationConfig, path)
