"""Item × location × period demand rows for forecasting and elasticity.

From the sales feed when there is one (daily or weekly panels), else derived from
purchases, list prices and stock. Periods out of stock are flagged ``censored``: their
units are a lower bound on demand, not demand. Lags and trailing means look only at
earlier periods; gaps in a series give nulls, never a neighbour's value. Rows are
stamped at the end of their period, when their units are known.
"""

from __future__ import annotations

import polars as pl

from features.config import DemandFeatureConfig
from features.pipelines.daily import TIMESTAMP

SERIES = ("item_id", "location_id")
OPTIONAL = ("feature", "display", "tpr_only", "event_name", "snap", "price_test")


def period_days(sales: pl.DataFrame) -> int:
    """Length of a period in days: the most common gap between a series' periods."""
    gaps = (
        sales.select(*SERIES, "period_start")
        .sort(*SERIES, "period_start")
        .select(gap=pl.col("period_start").diff().over(SERIES).dt.total_days())
        .drop_nulls()
    )
    if gaps.is_empty():
        return 1
    return int(gaps["gap"].filter(gaps["gap"] > 0).mode().min())


def sales_from_items(item_daily: pl.DataFrame, location_id: str) -> pl.DataFrame:
    """A daily sales panel from the item features (when the shop sends no sales feed)."""
    return item_daily.select(
        "item_id",
        location_id=pl.lit(location_id),
        period_start=(pl.col(TIMESTAMP) - pl.duration(days=1)).dt.date(),
        units=pl.col("units_1d").cast(pl.Float64),
        price="price",
        base_price="base_price",
        promo="promo",
        stockout=pl.col("stockout").fill_null(False),
    )


def with_lags(
    frame: pl.DataFrame, column: str, lags: list[int], days: int, name: str
) -> pl.DataFrame:
    """Add ``column`` as it was ``lag`` periods earlier in the same series, for each lag
    (``name`` formats the lag into the column name). Gaps give nulls, never a neighbour."""
    values = frame.select(*SERIES, "period_start", column)
    for lag in lags:
        shifted = values.with_columns(pl.col("period_start") + pl.duration(days=lag * days))
        frame = frame.join(
            shifted.rename({column: name.format(lag)}), on=[*SERIES, "period_start"], how="left"
        )
    return frame


def trailing_means(column: str, windows: list[int], days: int, name: str) -> list[pl.Expr]:
    """Means of ``column`` over the ``w`` periods before each row (the row excluded);
    needs the frame sorted by series and period."""
    return [
        pl.col(column)
        .rolling_mean_by("period_start", window_size=f"{w * days}d", closed="left")
        .over(SERIES)
        .alias(name.format(w))
        for w in windows
    ]


def demand_rows(
    sales: pl.DataFrame, cfg: DemandFeatureConfig, days: int | None = None
) -> pl.DataFrame:
    """Demand rows with prices, promotion, calendar, censoring, lags and trailing means.

    Args:
        sales: A validated sales feed (or :func:`sales_from_items`).
        cfg: Lags and trailing-mean windows, in periods.
        days: Length of a period in days (default: :func:`period_days` of ``sales``); a
            build partitioned by item passes the whole panel's.

    Returns:
        item_id, location_id, period_start, event_timestamp (period end), units,
        censored, price, base_price, discount, promo, the source's optional flags,
        calendar columns, ``units_lag_k`` and ``units_mean_k``.
    """
    days = period_days(sales) if days is None else days
    present = [c for c in OPTIONAL if c in sales.columns]
    frame = sales.sort(*SERIES, "period_start").with_columns(
        censored=pl.col("stockout").fill_null(False) if "stockout" in sales.columns else False,
        discount=1 - pl.col("price") / pl.col("base_price"),
        day_of_week=pl.col("period_start").dt.weekday(),
        week_of_year=pl.col("period_start").dt.week(),
        month=pl.col("period_start").dt.month(),
        day_of_year=pl.col("period_start").dt.ordinal_day(),
        **{
            TIMESTAMP: (
                pl.col("period_start").cast(pl.Datetime("us")) + pl.duration(days=days)
            ).dt.replace_time_zone("UTC")
        },
    )
    frame = with_lags(frame, "units", cfg.lags, days, "units_lag_{}")
    frame = frame.sort(*SERIES, "period_start").with_columns(
        trailing_means("units", cfg.rolling_means, days, "units_mean_{}")
    )
    return frame.select(
        *SERIES,
        "period_start",
        TIMESTAMP,
        "units",
        "censored",
        "price",
        "base_price",
        "discount",
        "promo",
        *present,
        "day_of_week",
        "week_of_year",
        "month",
        "day_of_year",
        *[f"units_lag_{k}" for k in cfg.lags],
        *[f"units_mean_{k}" for k in cfg.rolling_means],
    ).with_columns(pl.col(pl.Int8, pl.Int16, pl.Int32, pl.UInt32).cast(pl.Int64))
