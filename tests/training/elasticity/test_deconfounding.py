"""Estimates on simulated panels with known truth: degenerate items are flagged, the
confounded panel's truth is recovered better than by the naive slope."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.training.elasticity.panels import confounded_panel
from training.elasticity.config import ElasticityConfig
from training.elasticity.pipeline import POSITIVE, estimate

pytestmark = pytest.mark.slow


def _with_degenerate_item(demand: pl.DataFrame, catalog: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
    """Add the quickstart shop's case: an item of its own category with 32 weekly rows
    in one store whose units rise steeply with its price."""
    rng = np.random.default_rng(7)
    price = rng.uniform(4.0, 6.0, 32).round(2)
    weeks = [dt.date(2024, 1, 4) + dt.timedelta(weeks=k) for k in range(32)]
    extra = pl.DataFrame(
        {
            "item_id": "q00",
            "location_id": "s00",
            "period_start": weeks,
            "units": rng.poisson(np.exp(1.0 + 3.0 * (price - 5.0))).astype(float),
            "price": price,
            "base_price": 5.0,
            "promo": False,
        }
    ).with_columns(
        censored=pl.lit(False),
        discount=1 - pl.col("price") / pl.col("base_price"),
        day_of_week=pl.col("period_start").dt.weekday().cast(pl.Int64),
        week_of_year=pl.col("period_start").dt.week().cast(pl.Int64),
        month=pl.col("period_start").dt.month().cast(pl.Int64),
        day_of_year=pl.col("period_start").dt.ordinal_day().cast(pl.Int64),
    )
    demand = pl.concat([demand, extra.select(demand.columns)]).sort(
        "item_id", "location_id", "period_start"
    )
    catalog = pl.concat([catalog, pl.DataFrame({"item_id": ["q00"], "category": ["cq"]})])
    return demand, catalog


def test_a_few_rows_with_a_positive_slope_are_flagged_with_their_category() -> None:
    demand, catalog, truth = confounded_panel(n_items=4, n_stores=4, n_weeks=52, seed=3)
    demand, catalog = _with_degenerate_item(demand, catalog)
    table = estimate(demand, catalog, ElasticityConfig(rounds=50)).sort("item_id")
    odd = table.filter(pl.col("item_id") == "q00").row(0, named=True)
    assert odd["n_obs"] <= 32 and odd["elasticity"] > 0
    assert POSITIVE in odd["flags"] and odd["implausible"] and odd["category_implausible"]
    usual = table.filter(pl.col("item_id") != "q00")
    assert not usual["implausible"].any(), usual
    assert (usual["ci_low"] < usual["elasticity"]).all()
    assert truth.height == usual.height


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_double_ml_removes_the_confounding_that_biases_the_naive_slope(seed: int) -> None:
    demand, catalog, truth = confounded_panel(seed=seed)
    table = estimate(demand, catalog, ElasticityConfig()).join(truth, on="item_id")
    error = table.select(
        dml=(pl.col("elasticity") - pl.col("true")).abs().mean(),
        naive=(pl.col("naive") - pl.col("true")).abs().mean(),
        naive_bias=(pl.col("naive") - pl.col("true")).mean(),
    ).row(0, named=True)
    # the panel is confounded (dearer after strong weeks: the naive slope is too flat)
    assert error["naive_bias"] > 0.25, error
    assert error["dml"] <= 0.5 * error["naive"], error
