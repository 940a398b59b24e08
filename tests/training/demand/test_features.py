"""Demand model rows: every lag and trailing mean is known at the forecast origin."""

from __future__ import annotations

import datetime as dt

import polars as pl

from training.demand.config import DemandConfig
from training.demand.features import model_rows

D0 = dt.date(2025, 1, 1)


def _series(n: int, censored_at: int | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["x"] * n,
            "location_id": ["s"] * n,
            "period_start": [D0 + dt.timedelta(days=k) for k in range(n)],
            "units": [float(k) for k in range(n)],
            "censored": [k == censored_at for k in range(n)],
            "price": [2.0] * n,
            "discount": [0.0] * n,
            "promo": [False] * n,
            "day_of_week": [1] * n,
        }
    )


def test_lags_and_means_end_a_horizon_before_the_row() -> None:
    cfg = DemandConfig(horizon=5, lag_offsets=[0, 2], rolling_windows=[3])
    rows = model_rows(_series(20), 1, cfg).sort("period_start")
    row = rows.row(12, named=True)  # units 12, origin is period 7
    assert (row["lag_5"], row["lag_7"]) == (7.0, 5.0)
    assert row["mean_3_at_origin"] == (5 + 6 + 7) / 3, "the 3 periods ending at the origin"


def test_censored_periods_do_not_feed_lags() -> None:
    cfg = DemandConfig(horizon=2, lag_offsets=[0], rolling_windows=[2])
    rows = model_rows(_series(10, censored_at=4), 1, cfg).sort("period_start")
    assert rows["lag_2"][6] is None, "period 4 was out of stock: its units are not demand"
    assert rows["mean_2_at_origin"][7] == 5.0, "periods 4-5: censored 4 is skipped"
