"""Forecasts ahead: one row per series and step after the data, quantiles in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.training.demand.panel import synthetic_panel
from training.demand.config import DemandConfig
from training.demand.features import model_rows
from training.demand.forecast import forecast_ahead, read_forecasts, write_forecasts
from training.demand.model import DemandModel

CFG = DemandConfig(horizon=14, rounds=60, min_child_samples=5)


@pytest.fixture(scope="module")
def ahead() -> tuple[pl.DataFrame, pl.DataFrame]:
    demand = synthetic_panel()
    model = DemandModel(CFG).fit(model_rows(demand, 1, CFG))
    return demand, forecast_ahead(model, demand, 1, CFG)


def test_every_series_gets_every_step_after_the_data(ahead: tuple) -> None:
    demand, forecasts = ahead
    last = demand["period_start"].max()
    assert forecasts.height == demand["item_id"].n_unique() * CFG.horizon
    assert forecasts["step"].min() == 1 and forecasts["step"].max() == CFG.horizon
    first = forecasts.filter(pl.col("step") == 1)["period_start"].unique().to_list()
    assert first == [last + dt.timedelta(days=1)]
    assert forecasts.select(pl.all().is_null().any()).row(0) == (False,) * forecasts.width


def test_quantiles_never_cross_and_weekends_are_busier(ahead: tuple) -> None:
    _, forecasts = ahead
    assert (forecasts["p10"] <= forecasts["p50"]).all()
    assert (forecasts["p50"] <= forecasts["p90"]).all()
    weekend = pl.col("period_start").dt.weekday() >= 6
    means = forecasts.group_by(weekend.alias("weekend")).agg(pl.col("forecast").mean())
    by = dict(zip(means["weekend"], means["forecast"], strict=True))
    assert by[True] > 1.2 * by[False]


def test_written_forecasts_read_back(ahead: tuple, tmp_path: Path) -> None:
    _, forecasts = ahead
    write_forecasts(forecasts, tmp_path)
    assert read_forecasts(tmp_path).equals(forecasts)


def test_missing_forecasts_name_the_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="storefront train demand"):
        read_forecasts(tmp_path)
