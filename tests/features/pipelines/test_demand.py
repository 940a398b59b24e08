"""Demand rows: lags never cross a gap, trailing means exclude the period itself."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from features.config import DemandFeatureConfig
from features.pipelines.demand import demand_rows, period_days


def _weekly(weeks: list[int], units: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["x"] * len(weeks),
            "location_id": ["s1"] * len(weeks),
            "period_start": [dt.date(2025, 1, 2) + dt.timedelta(weeks=w) for w in weeks],
            "units": units,
            "price": [2.0] * len(weeks),
            "base_price": [2.5] * len(weeks),
            "promo": [False] * len(weeks),
            "stockout": [False, True] + [False] * (len(weeks) - 2),
        }
    )


def test_weekly_panel_lags_and_means_in_periods() -> None:
    sales = _weekly([0, 1, 2, 4], [10.0, 20.0, 30.0, 50.0])  # week 3 missing
    assert period_days(sales) == 7
    rows = demand_rows(sales, DemandFeatureConfig(lags=[1, 2], rolling_means=[2])).sort(
        "period_start"
    )
    assert rows["units_lag_1"].to_list() == [None, 10.0, 20.0, None], "no value across the gap"
    assert rows["units_lag_2"].to_list() == [None, None, 10.0, 30.0]
    assert rows["units_mean_2"].to_list() == [None, 10.0, 15.0, 30.0]
    assert rows["censored"].to_list() == [False, True, False, False]
    assert rows["discount"][0] == pytest.approx(0.2)
    assert rows["event_timestamp"][0] == dt.datetime(2025, 1, 9, tzinfo=dt.UTC), "known at end"
