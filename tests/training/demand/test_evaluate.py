"""Forecast metrics and the seasonal-naive baseline, checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from training.demand.evaluate import pinball, seasonal_naive, wape


def test_seasonal_naive_repeats_the_last_season() -> None:
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=k) for k in range(21)]
    weekly = [float(k % 7) for k in range(21)]
    frame = pl.DataFrame({"item_id": "x", "location_id": "s", "period_start": days,
                          "units": weekly})  # fmt: skip
    history, future = frame.head(14), frame.tail(7)
    assert seasonal_naive(history, future, season=7, period_days=1).to_list() == weekly[14:]


def test_wape_and_pinball() -> None:
    actual, forecast = np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0])
    assert wape(actual, forecast) == pytest.approx(3 / 15)
    assert pinball(np.array([10.0]), np.array([8.0]), 0.9) == pytest.approx(1.8)
    assert pinball(np.array([10.0]), np.array([12.0]), 0.9) == pytest.approx(0.2)
