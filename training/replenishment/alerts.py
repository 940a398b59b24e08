"""Which items will run out before a new order could arrive, and which have far more
stock than they will sell.

Reorder point = forecast demand over the lead time + safety stock. The safety stock is
``z(service level) × σ`` where each period's σ is read off the forecast's P10–P90 spread
(``(P90 − P10) / (2 × z(0.9))``) and periods add in variance. An item is at risk when
its stock position (on hand + on order) is below the reorder point; the suggested order
brings it up to the reorder point plus the review period's demand.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
from scipy import stats

from training.replenishment.config import InventoryConfig

STOCKOUT_RISK, OVERSTOCK, OK = "stockout_risk", "overstock", "ok"


def periods_of(days: int, forecasts: pl.DataFrame) -> int:
    """How many forecast periods cover ``days`` (daily or weekly forecasts)."""
    starts = forecasts["period_start"].unique().sort()
    step = (starts[1] - starts[0]).days if len(starts) > 1 else 1
    return max(1, math.ceil(days / step))


def _sum_steps(forecasts: pl.DataFrame, steps: int, name: str) -> pl.DataFrame:
    z90 = stats.norm.ppf(0.9)
    return (
        forecasts.filter(pl.col("step") <= steps)
        .group_by("item_id")
        .agg(
            pl.col("forecast").sum().alias(f"{name}_demand"),
            ((pl.col("p90") - pl.col("p10")) / (2 * z90)).pow(2).sum().sqrt().alias(f"{name}_sd"),
        )
    )


def stockout_day(forecasts: pl.DataFrame, stock: pl.DataFrame) -> pl.DataFrame:
    """The first forecast period whose cumulative demand exceeds the stock on hand."""
    return (
        forecasts.group_by("item_id", "period_start")
        .agg(pl.col("forecast").sum())
        .sort("item_id", "period_start")
        .with_columns(cumulative=pl.col("forecast").cum_sum().over("item_id"))
        .join(stock.select("item_id", "on_hand"), on="item_id")
        .filter(pl.col("cumulative") > pl.col("on_hand"))
        .group_by("item_id")
        .agg(pl.col("period_start").min().alias("projected_stockout"))
    )


def alerts(forecasts: pl.DataFrame, stock: pl.DataFrame, cfg: InventoryConfig) -> pl.DataFrame:
    """One row per item with a forecast and a stock level.

    Args:
        forecasts: Batch forecasts (item_id, period_start, step, forecast, p10, p90),
            summed over locations by the caller or not: rows of one item add up.
        stock: item_id, on_hand, on_order.
        cfg: Lead time, review period, service level, overstock threshold.

    Returns:
        item_id, on_hand, on_order, lead_time_demand, safety_stock, reorder_point,
        position, days_of_cover, projected_stockout, status and suggested_order, the
        items at risk first (soonest stock-out), then overstock, then the rest.
    """
    lead = periods_of(cfg.lead_time_days, forecasts)
    cover = periods_of(cfg.lead_time_days + cfg.review_days, forecasts)
    per_day = forecasts.group_by("item_id").agg(
        (pl.col("forecast").sum() / (pl.col("period_start").max() - pl.col("period_start").min()
                                     + dt.timedelta(days=1)).dt.total_days()).alias("daily")
    )  # fmt: skip
    z = stats.norm.ppf(cfg.service_level)
    table = (
        stock.select("item_id", pl.col("on_hand").fill_null(0), pl.col("on_order").fill_null(0))
        .join(_sum_steps(forecasts, lead, "lead_time"), on="item_id")
        .join(_sum_steps(forecasts, cover, "cover"), on="item_id")
        .join(per_day, on="item_id")
        .join(stockout_day(forecasts, stock), on="item_id", how="left")
        .with_columns(safety_stock=z * pl.col("lead_time_sd"))
        .with_columns(
            reorder_point=pl.col("lead_time_demand") + pl.col("safety_stock"),
            position=pl.col("on_hand") + pl.col("on_order"),
            days_of_cover=pl.col("on_hand") / pl.col("daily"),
        )
    )
    status = (
        pl.when(pl.col("position") < pl.col("reorder_point"))
        .then(pl.lit(STOCKOUT_RISK))
        .when(pl.col("days_of_cover") > cfg.overstock_cover_days)
        .then(pl.lit(OVERSTOCK))
        .otherwise(pl.lit(OK))
    )
    order = pl.col("cover_demand") + z * pl.col("cover_sd") - pl.col("position")
    return (
        table.with_columns(status=status)
        .with_columns(
            suggested_order=pl.when(pl.col("status") == STOCKOUT_RISK)
            .then(order.ceil().clip(lower_bound=1).cast(pl.Int64))
            .otherwise(0)
        )
        .select(
            "item_id", "on_hand", "on_order", "lead_time_demand", "safety_stock",
            "reorder_point", "position", "days_of_cover", "projected_stockout", "status",
            "suggested_order",
        )
        .sort(
            pl.col("status").replace_strict({STOCKOUT_RISK: 0, OVERSTOCK: 1, OK: 2}),
            "projected_stockout", pl.col("days_of_cover").neg(), nulls_last=True,
        )
    )  # fmt: skip
