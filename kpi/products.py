"""Product performance: every item's figures, the top and bottom sellers, stock-outs
and overstock.

Stock comes from the feature store's item snapshots
(:func:`features.pipelines.item.item_features`: each day's latest inventory snapshot):

- **stock-out days** of an item = days of the period whose stock snapshot has nothing
  on hand;
- **days of cover** at the period's end = units on hand on its last day / mean daily
  units sold in the period (the whole period, not the feature store's 7-day window:
  a dashboard period is long enough to smooth out a slow week);
- **overstock** = more days of cover than ``overstock_cover_days``
  (``configs/inventory.yaml``), or stock on hand and nothing sold in the period (cover
  without end).

Without an inventory feed stock is unlimited: no stock-outs, no overstock.
"""

from __future__ import annotations

import polars as pl

from features.config import ItemFeatureConfig
from features.pipelines.item import item_features
from kpi.figures import summarise
from kpi.periods import Period
from kpi.sources import contract_events

ITEM_COLUMNS = (
    "item_id",
    "category",
    "name",
    "views",
    "carts",
    "units_sold",
    "orders",
    "gmv",
    "conversion",
    "return_rate",
    "gross_profit",
    "gross_margin",
    "gmv_previous",
    "on_hand",
    "days_of_cover",
    "stockout_days",
    "overstock",
)


def stock_days(
    events: pl.DataFrame,
    catalog: pl.DataFrame,
    prices: pl.DataFrame | None,
    inventory: pl.DataFrame | None,
    period: Period,
    cfg: ItemFeatureConfig,
) -> pl.DataFrame:
    """Per item and day of the period: ``on_hand`` and ``stockout`` (null without an
    inventory feed)."""
    upto = contract_events(events.filter(pl.col("timestamp") < period.end))
    snaps = item_features(
        upto.lazy(),
        catalog.lazy(),
        prices.lazy() if prices is not None else None,
        inventory.lazy() if inventory is not None else None,
        period.since,
        period.until,
        cfg,
    )
    return snaps.select(
        "item_id",
        day=(pl.col("event_timestamp") - pl.duration(days=1)).dt.date(),
        on_hand="on_hand",
        stockout="stockout",
    ).filter(pl.col("day").is_between(period.since, period.until))


def item_table(
    events: pl.DataFrame,
    catalog: pl.DataFrame,
    stock: pl.DataFrame,
    period: Period,
    overstock_cover_days: float,
) -> pl.DataFrame:
    """One row per item of the catalog live in the period (created by its end): the
    figures of :mod:`kpi.figures` for the item's events in the period, views and
    carts (sessions), last period's GMV, and stock (:func:`stock_days` over ``period``).

    Args:
        events: Prepared events covering the period and the previous one.
        catalog: The catalog.
        stock: :func:`stock_days` of ``period``.
        period: The current period.
        overstock_cover_days: More days of cover than this is overstock.
    """
    mine = events.filter(period.contains(pl.col("timestamp")))
    figures = summarise(mine, ["item_id"])
    interest = mine.group_by("item_id").agg(
        views=pl.col("session_id").filter(pl.col("event_type") == "view").n_unique().cast(pl.Int64),
        carts=pl.col("session_id")
        .filter(pl.col("event_type") == "add_to_cart")
        .n_unique()
        .cast(pl.Int64),
    )
    before = summarise(
        events.filter(period.previous().contains(pl.col("timestamp"))), ["item_id"]
    ).select("item_id", gmv_previous="gmv")
    last = stock.filter(pl.col("day") == period.until).select("item_id", "on_hand")
    outs = stock.group_by("item_id").agg(
        stockout_days=pl.col("stockout").fill_null(False).sum().cast(pl.Int64)
    )
    name = pl.col("name") if "name" in catalog.columns else pl.lit(None, pl.String)
    names = catalog.select("item_id", "category", name=name)
    live = (
        names.join(catalog.select("item_id", "created_at"), on="item_id")
        .filter(pl.col("created_at") < period.end)
        .drop("created_at")
    )
    table = (
        live.join(figures, on="item_id", how="left")
        .join(interest, on="item_id", how="left")
        .join(before, on="item_id", how="left")
        .join(last, on="item_id", how="left")
        .join(outs, on="item_id", how="left")
    )
    zero = [
        "views",
        "carts",
        "sessions",
        "units_sold",
        "orders",
        "gmv",
        "gmv_previous",
        "stockout_days",
        "units_returned",
        "converted_sessions",
    ]
    daily = pl.col("units_sold") / period.days
    return (
        table.with_columns(pl.col(zero).fill_null(0))
        .with_columns(days_of_cover=pl.when(daily > 0).then(pl.col("on_hand") / daily))
        .with_columns(
            overstock=(pl.col("days_of_cover") > overstock_cover_days)
            | ((pl.col("units_sold") == 0) & (pl.col("on_hand") > 0)),
        )
        .with_columns(pl.col("overstock").fill_null(False))
        .select(ITEM_COLUMNS)
        .sort("gmv", "item_id", descending=[True, False])
    )


def top_items(items: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` items with the highest GMV."""
    return items.sort("gmv", "units_sold", descending=True).head(n)


def bottom_items(items: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` items with the lowest GMV (unsold items included); of equal GMV, the
    most viewed first (looked at, not bought: the ones worth a look)."""
    return items.sort(["gmv", "views"], descending=[False, True]).head(n)


def stockouts(items: pl.DataFrame) -> pl.DataFrame:
    """Items out of stock on some day of the period, the most days first."""
    return items.filter(pl.col("stockout_days") > 0).sort(
        ["stockout_days", "gmv_previous"], descending=True
    )


def overstocked(items: pl.DataFrame) -> pl.DataFrame:
    """Items overstocked at the period's end, the most stock first."""
    return items.filter(pl.col("overstock")).sort("on_hand", descending=True, nulls_last=True)


def stock_summary(items: pl.DataFrame, stock: pl.DataFrame) -> dict[str, object]:
    """Counts for the headline: items with a stock-out, stock-out item-days and their
    share of all item-days, overstocked items; ``tracked`` false without stock data."""
    tracked = stock["on_hand"].is_not_null().any() if stock.height else False
    item_days = stock.filter(pl.col("on_hand").is_not_null()).height
    out_days = int(items["stockout_days"].sum())
    return {
        "tracked": bool(tracked),
        "items_out_of_stock": int((items["stockout_days"] > 0).sum()),
        "stockout_item_days": out_days,
        "stockout_share": out_days / item_days if item_days else None,
        "items_overstocked": int(items["overstock"].sum()),
    }
