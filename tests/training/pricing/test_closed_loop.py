"""Closed-loop replay: with the true elasticities and exact forecasts the optimiser earns
what the oracle earns; with wrong ones it earns less; nobody breaks a guardrail."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.training.pricing.inputs import random_inputs
from training.pricing.closed_loop import CURRENT, ORACLE, replay
from training.pricing.config import PricingConfig

D0 = dt.date(2025, 6, 1)
DAYS = 10


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    start = random_inputs(60, seed=7)
    forecasts = pl.DataFrame(
        [
            {"item_id": r["item_id"], "period_start": D0 + dt.timedelta(days=d),
             "forecast": r["forecast"] * (1.3 if d % 7 >= 5 else 1.0)}
            for r in start.iter_rows(named=True)
            for d in range(DAYS)
        ]
    )  # fmt: skip
    truth = start.select("item_id", "elasticity")
    return start, forecasts, truth


def _demand(start: pl.DataFrame, forecasts: pl.DataFrame):
    p0 = dict(zip(start["item_id"], start["current_price"], strict=True))
    e = dict(zip(start["item_id"], start["elasticity"], strict=True))
    rows = forecasts.iter_rows(named=True)
    base = {(r["item_id"], r["period_start"]): r["forecast"] for r in rows}

    def demand(item: str, prices: np.ndarray, date: dt.date) -> np.ndarray:
        return base[(item, date)] * (np.asarray(prices) / p0[item]) ** e[item]

    return demand


def test_true_elasticities_earn_the_oracle_profit(world) -> None:
    start, forecasts, truth = world
    result = replay(start, forecasts, {"true": truth}, _demand(start, forecasts), PricingConfig())
    assert result.days == DAYS
    assert result.profit["true"] == pytest.approx(result.profit[ORACLE], rel=1e-9)
    assert result.profit[ORACLE] > result.profit[CURRENT]
    assert result.violations == {CURRENT: 0, "true": 0, ORACLE: 0}


def test_wrong_elasticities_earn_less_than_the_oracle(world) -> None:
    start, forecasts, truth = world
    rng = np.random.default_rng(0)
    noisy = truth.with_columns(pl.col("elasticity") + rng.normal(0, 1.5, truth.height))
    days = []
    result = replay(start, forecasts, {"noisy": noisy, "true": truth},
                    _demand(start, forecasts), PricingConfig(), on_day=days.append)  # fmt: skip
    assert result.profit["noisy"] < result.profit["true"] - 1e-6
    assert days == list(range(DAYS))
    assert result.violations["noisy"] == 0
