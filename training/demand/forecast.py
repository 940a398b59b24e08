"""Batch forecasts for the periods after the data: what pricing, replenishment and the
``/forecast`` endpoint read.

The periods ahead are described by what the shop knows of them: the calendar, and each
series' current price with no promotion (a proposal then moves the price through the
item's elasticity). Lags and trailing means come from the history, all at least one
horizon old, exactly as in training (direct strategy).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import polars as pl

from features.pipelines.demand import SERIES
from storefront.workspace import workspace
from training.demand.config import DemandConfig
from training.demand.features import model_rows
from training.demand.model import DemandModel

FORECAST_FILE = "demand.parquet"


def forecast_path(data_dir: Path) -> Path:
    """The shop's batch demand forecasts (part of its state)."""
    return workspace(data_dir).forecasts / FORECAST_FILE


FLAGS = ("promo", "feature", "display", "tpr_only", "snap")


def future_frame(demand: pl.DataFrame, period_days: int, horizon: int) -> pl.DataFrame:
    """Rows for the ``horizon`` periods after the last one, per series: units unknown,
    the series' last price and base price, no promotion, calendar filled in."""
    origin = demand["period_start"].max()
    assert isinstance(origin, dt.date)
    ahead = range(1, horizon + 1)
    steps = pl.DataFrame(
        {
            "step": list(ahead),
            "period_start": [origin + dt.timedelta(days=k * period_days) for k in ahead],
        }
    )
    last = (
        demand.sort("period_start")
        .group_by(SERIES)
        .agg(pl.col("price").last(), pl.col("base_price").last())
    )
    flags = [c for c in FLAGS if c in demand.columns]
    return last.join(steps, how="cross").with_columns(
        units=pl.lit(None, pl.Float64),
        censored=pl.lit(False),
        discount=1 - pl.col("price") / pl.col("base_price"),
        day_of_week=pl.col("period_start").dt.weekday().cast(pl.Int64),
        week_of_year=pl.col("period_start").dt.week().cast(pl.Int64),
        month=pl.col("period_start").dt.month().cast(pl.Int64),
        day_of_year=pl.col("period_start").dt.ordinal_day().cast(pl.Int64),
        **{flag: pl.lit(0).cast(demand.schema[flag]) for flag in flags},
    )


def forecast_ahead(
    model: DemandModel, demand: pl.DataFrame, period_days: int, cfg: DemandConfig
) -> pl.DataFrame:
    """Forecasts (mean and quantiles) for the ``cfg.horizon`` periods after the data.

    Returns:
        item_id, location_id, period_start, step (1 = the next period), forecast and one
        column per quantile (``p10``, ``p50``, ``p90``).
    """
    future = future_frame(demand, period_days, cfg.horizon)
    rows = model_rows(pl.concat([demand, future.drop("step")], how="diagonal_relaxed"),
                      period_days, cfg)  # fmt: skip
    ahead = rows.join(future.select(*SERIES, "period_start", "step"), on=[*SERIES, "period_start"])
    return (
        model.predict(ahead)
        .join(ahead.select(*SERIES, "period_start", "step"), on=[*SERIES, "period_start"])
        .select(*SERIES, "period_start", "step", pl.exclude(*SERIES, "period_start", "step"))
    )


def write_forecasts(forecasts: pl.DataFrame, data_dir: Path) -> Path:
    """Replace the shop's batch forecasts (atomically)."""
    path = forecast_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".parquet.tmp")
    os.close(handle)
    forecasts.write_parquet(tmp)
    os.replace(tmp, path)
    return path


def read_forecasts(data_dir: Path) -> pl.DataFrame:
    """The shop's latest batch forecasts (written by ``storefront train demand``).

    Raises:
        FileNotFoundError: No forecasts yet.
    """
    path = forecast_path(data_dir)
    if not path.exists():
        raise FileNotFoundError(f"no demand forecasts in {data_dir}; run `storefront train demand`")
    return pl.read_parquet(path)
