"""A day's proposal: every price inside the guardrails, honest expectations, reasons."""

from __future__ import annotations

import numpy as np
import polars as pl

from tests.training.pricing.inputs import random_inputs
from training.pricing.config import ExplorationConfig, PricingConfig
from training.pricing.guardrails import violations
from training.pricing.pipeline import EXPLORATION, NO_ALLOWED_PRICE, item_state, propose_all


def _check_guardrails(table: pl.DataFrame, cfg: PricingConfig) -> None:
    for row in table.iter_rows(named=True):
        if NO_ALLOWED_PRICE in row["reasons"]:
            assert row["price"] == row["current_price"]
            continue
        assert violations(row["price"], item_state(row), cfg) == [], row


def test_every_proposed_price_keeps_every_guardrail() -> None:
    cfg = PricingConfig()
    table = propose_all(random_inputs(), cfg)
    assert table.height == 200
    _check_guardrails(table, cfg)


def test_the_proposal_never_expects_less_profit_than_today_where_today_is_allowed() -> None:
    cfg = PricingConfig(price_ending=None)
    inputs = random_inputs()
    table = propose_all(inputs, cfg)
    allowed_today = [
        not violations(row["current_price"], item_state(row), cfg)
        for row in inputs.iter_rows(named=True)
    ]
    kept = table.filter(pl.Series(allowed_today))
    assert (kept["expected_profit"] >= kept["current_profit"] - 1e-9).all()
    assert (table["expected_units"] > 0).all()


def test_exploration_draws_only_for_wide_intervals_and_stays_guarded() -> None:
    explore = ExplorationConfig(enabled=True, min_interval_width=2.0, max_share=0.2, seed=1)
    cfg = PricingConfig(exploration=explore)
    inputs = random_inputs(seed=3)
    table = propose_all(inputs, cfg)
    width = inputs["ci_high"] - inputs["ci_low"]
    exploring = table["exploration"]
    assert 0 < exploring.sum() <= 40
    assert (width.filter(exploring) >= 2.0).all()
    # the widest intervals are explored first
    assert width.filter(exploring).min() >= width.filter(~exploring & (width >= 2.0)).max()
    assert all(EXPLORATION in r for r in table.filter(exploring)["reasons"])
    _check_guardrails(table, cfg)
    # expectations use the point elasticity even where the price came from a draw
    row = table.filter(exploring).row(0, named=True)
    expected = row["current_units"] * (row["price"] / row["current_price"]) ** row["elasticity"]
    assert np.isclose(row["expected_units"], expected)


def test_exploration_off_prices_with_the_point_estimate() -> None:
    inputs = random_inputs(seed=4)
    a = propose_all(inputs, PricingConfig(), np.random.default_rng(0))
    b = propose_all(inputs, PricingConfig(), np.random.default_rng(1))
    assert not a["exploration"].any() and a["price"].equals(b["price"])
