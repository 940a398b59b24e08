"""Model rows for direct multi-horizon forecasting from the feature store's demand table.

One model serves every horizon 1..H (a *direct* strategy): each row's demand features
are lags and trailing means that end at least H periods earlier, so all of them are
known at the forecast origin for every period to forecast, and no forecast is fed back
as an input (no recursive error build-up). What a shop knows ahead — its own prices,
promotions, calendar, holidays, SNAP days — describes the period being forecast.
"""

from __future__ import annotations

import polars as pl

from features.pipelines.demand import SERIES, trailing_means, with_lags
from training.demand.config import DemandConfig

__all__ = ["SERIES", "feature_columns", "model_rows"]
KNOWN_AHEAD = (
    "price", "discount", "promo", "feature", "display", "tpr_only", "snap",
    "day_of_week", "week_of_year", "month", "day_of_year",
)  # fmt: skip
CATEGORICAL = ("item_code", "location_code", "event_code")


def model_rows(demand: pl.DataFrame, period_days: int, cfg: DemandConfig) -> pl.DataFrame:
    """Demand rows with horizon-safe lags, trailing means and relative price.

    Args:
        demand: The feature store's demand table (item_id, location_id, period_start,
            units, censored, price, promo flags, calendar, ...).
        period_days: Length of a period (1 daily, 7 weekly).
        cfg: Horizon, lags and windows.

    Returns:
        One row per demand row, with ``units`` (the target), ``censored`` and features.
    """
    h = cfg.horizon
    base = demand.sort(*SERIES, "period_start").with_columns(
        # codes by sorted value: the same data gives the same codes in every process
        # (categorical codes follow first appearance, which LightGBM's binning of
        # equally frequent categories would turn into run-to-run differences)
        item_code=pl.col("item_id").rank("dense").cast(pl.Int64),
        location_code=pl.col("location_id").rank("dense").cast(pl.Int64),
        event_code=(
            pl.col("event_name").rank("dense").cast(pl.Int64)
            if "event_name" in demand.columns
            else pl.lit(None, pl.Int64)
        ),
        # censored periods say nothing about demand: their units do not feed the lags
        observed=pl.when(~pl.col("censored")).then(pl.col("units")),
    )
    lags = [h + offset for offset in cfg.lag_offsets]
    frame = with_lags(base, "observed", lags, period_days, "lag_{}")
    frame = frame.sort(*SERIES, "period_start").with_columns(
        trailing_means("observed", cfg.rolling_windows, period_days, "_mean_{}")
    )
    # a trailing mean ending H periods before the row: the row H-1 periods back is known
    shifted_means = frame.select(
        *SERIES,
        pl.col("period_start") + pl.duration(days=(h - 1) * period_days),
        *[pl.col(f"_mean_{w}").alias(f"mean_{w}_at_origin") for w in cfg.rolling_windows],
    )
    frame = frame.join(shifted_means, on=[*SERIES, "period_start"], how="left")
    item_price = pl.col("price").mean().over(SERIES)
    known = [c for c in KNOWN_AHEAD if c in frame.columns]
    return (
        frame.with_columns(relative_price=pl.col("price") / item_price)
        .select(
            *SERIES,
            "period_start",
            "units",
            "censored",
            *CATEGORICAL,
            *known,
            "relative_price",
            *[f"lag_{h + o}" for o in cfg.lag_offsets],
            *[f"mean_{w}_at_origin" for w in cfg.rolling_windows],
        )
        .with_columns(pl.col(pl.Boolean).exclude("censored").cast(pl.Int8))
    )


def feature_columns(rows: pl.DataFrame) -> list[str]:
    """The model's inputs: everything but keys, target and the censoring flag."""
    return [c for c in rows.columns if c not in (*SERIES, "period_start", "units", "censored")]
