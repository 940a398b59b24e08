"""Item features: daily snapshots of demand, conversion, price, margin, stock and returns.

One row per item and day from the item's first day in the data (or its launch, if later)
to the last day of data, stamped at the end of the day.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from features.config import ItemFeatureConfig
from features.pipelines.daily import (
    BOUGHT,
    RETURNED,
    TIMESTAMP,
    cumulative,
    day_of,
    dense_days,
    end_of_day,
    return_rate,
    return_units,
    safe_ratio,
    trailing_sums,
)
from storefront.feeds import with_optional
from storefront.feeds.schemas import CATALOG

COUNTED = ("views", "carts", "purchases", "units")
RETURNS = (RETURNED, BOUGHT)


def _daily_activity(events: pl.LazyFrame) -> pl.LazyFrame:
    """Per item and day: views, carts, purchases, units bought, units returned, and the
    mean price shown or paid (a return's refund is not a price seen)."""
    purchase = pl.col("event_type") == "purchase"
    return (
        events.with_columns(day=day_of(pl.col("timestamp")))
        .group_by("item_id", "day")
        .agg(
            views=(pl.col("event_type") == "view").sum(),
            carts=(pl.col("event_type") == "add_to_cart").sum(),
            purchases=purchase.sum(),
            units=pl.col("quantity").filter(purchase).sum(),
            **return_units(),
            seen_price=pl.col("unit_price").filter(pl.col("event_type") != "return").mean(),
        )
    )


def _prices_by_day(prices: pl.LazyFrame | None) -> pl.LazyFrame | None:
    """The list price in force at the end of each day a price was set."""
    if prices is None:
        return None
    return (
        prices.with_columns(day=day_of(pl.col("valid_from")))
        .sort("valid_from")
        .group_by("item_id", "day")
        .agg(list_price=pl.col("price").last(), promo=pl.col("promo").last())
        .sort("day")
    )


def _stock_by_day(inventory: pl.LazyFrame | None) -> pl.LazyFrame | None:
    """The last stock snapshot of each day that has one."""
    if inventory is None:
        return None
    return (
        inventory.with_columns(day=day_of(pl.col("timestamp")))
        .sort("timestamp")
        .group_by("item_id", "day")
        .agg(pl.col("on_hand").last(), pl.col("on_order").last())
        .sort("day")
    )


def popularity_rank() -> pl.Expr:
    """Rank of an item's 7-day views among every item of the day (``day``; 1 is the most
    viewed): a partitioned build computes it over all items at once."""
    return pl.col("views_7d").rank("min", descending=True).over("day").cast(pl.Int64)


def item_features(
    events: pl.LazyFrame,
    catalog: pl.LazyFrame,
    prices: pl.LazyFrame | None,
    inventory: pl.LazyFrame | None,
    first_day: dt.date,
    last_day: dt.date,
    cfg: ItemFeatureConfig,
) -> pl.DataFrame:
    """Daily item snapshots.

    Args:
        events: The events feed.
        catalog: The catalog feed (without ``unit_cost``, cost and margin are null).
        prices: The prices feed, if any (else the price seen in events, else base price).
        inventory: The inventory feed, if any (else stock columns are null: unlimited).
        first_day: First day of the grid (items launched later start at launch).
        last_day: Last day of the grid.
        cfg: Windows and horizons.

    Returns:
        item_id, event_timestamp and the features (see the README's feature list).
    """
    starts = catalog.select(
        "item_id",
        first_day=pl.max_horizontal(day_of(pl.col("created_at")), pl.lit(first_day)),
    )
    grid = (
        dense_days(starts, "item_id", last_day)
        .join(_daily_activity(events), on=["item_id", "day"], how="left")
        .with_columns(pl.col(*COUNTED, *RETURNS).fill_null(0))
        .join(
            with_optional(catalog, CATALOG, "unit_cost").select(
                "item_id", "base_price", "unit_cost", "created_at"
            ),
            on="item_id",
        )
        .join(starts, on="item_id")
        .with_columns(days_in=(pl.col("day") - pl.col("first_day")).dt.total_days())
        .sort("day")
    )
    if (daily_prices := _prices_by_day(prices)) is not None:
        grid = grid.join_asof(daily_prices, on="day", by="item_id", check_sortedness=False)
    else:
        grid = grid.with_columns(
            list_price=pl.lit(None, pl.Float64), promo=pl.lit(None, pl.Boolean)
        )
    if (stock := _stock_by_day(inventory)) is not None:
        grid = grid.join_asof(stock, on="day", by="item_id", check_sortedness=False)
    else:
        grid = grid.with_columns(on_hand=pl.lit(None, pl.Int64), on_order=pl.lit(None, pl.Int64))
    price = pl.coalesce(
        "list_price", pl.col("seen_price").forward_fill().over("item_id"), "base_price"
    )
    frame = (
        grid.sort("item_id", "day")
        .with_columns(*cumulative((*COUNTED, *RETURNS)), price=price)
        .with_columns(
            *trailing_sums(COUNTED, cfg.windows_days, "item_id"),
            *trailing_sums(RETURNS, [cfg.return_window_days], "item_id"),
            lowest_price_30d=pl.col("price")
            .rolling_min(window_size=cfg.lowest_price_days, min_samples=1)
            .over("item_id"),
            units_cover=pl.col("units")
            .rolling_sum(window_size=cfg.cover_sales_days, min_samples=1)
            .over("item_id"),
        )
        .with_columns(
            popularity_rank=popularity_rank(),
            cart_rate_7d=safe_ratio(pl.col("carts_7d"), pl.col("views_7d")),
            conversion_rate_30d=safe_ratio(pl.col("purchases_30d"), pl.col("views_30d")),
            discount=1 - pl.col("price") / pl.col("base_price"),
            promo=pl.col("promo").fill_null(False),
            unit_margin=pl.col("price") - pl.col("unit_cost"),
            days_of_cover=safe_ratio(
                pl.col("on_hand").cast(pl.Float64), pl.col("units_cover") / cfg.cover_sales_days
            ),
            stockout=pl.col("on_hand") <= 0,
            age_days=(pl.col("day") - day_of(pl.col("created_at"))).dt.total_days(),
            **return_rate(cfg.return_window_days),
            **{TIMESTAMP: end_of_day(pl.col("day"))},
        )
        .collect()
    )
    return frame.select(
        "item_id",
        TIMESTAMP,
        *[f"{c}_{k}d" for c in COUNTED for k in cfg.windows_days],
        "cart_rate_7d",
        "conversion_rate_30d",
        "popularity_rank",
        "price",
        "base_price",
        "discount",
        "promo",
        "lowest_price_30d",
        "unit_cost",
        "unit_margin",
        "on_hand",
        "on_order",
        "days_of_cover",
        "stockout",
        "age_days",
        # last, so the packed serving vectors of earlier builds keep their positions
        *return_rate(cfg.return_window_days),
    ).with_columns(pl.col(pl.UInt32).cast(pl.Int64))


def item_vector_columns(items: pl.DataFrame) -> list[str]:
    """The item features packed into serving vectors, in vector order."""
    return [c for c in items.columns if c not in ("item_id", TIMESTAMP)]


def pack_item_vectors(items: pl.DataFrame) -> pl.DataFrame:
    """Item features as one ``vector`` (Float64 list) per row: one online value per item
    instead of one per item and feature, which is what makes serving reads fast."""
    columns = item_vector_columns(items)
    matrix = items.select(pl.col(columns).cast(pl.Float64)).to_numpy()  # null -> NaN
    vectors = pl.Series("vector", matrix).cast(pl.List(pl.Float64))
    return items.select("item_id", TIMESTAMP).with_columns(vectors)
