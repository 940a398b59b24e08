"""M5 forecasting competition (Walmart), tiny subset -> daily sales panel and catalog.

Source: ``m5_tiny.parquet``, 535,640 rows = 280 daily series (28 items x 10 stores in
CA, TX, WI), 2011-01-29 -> 2016-04-24, with weekly sell prices, events and SNAP days.
A sales panel has no shopper events, so no returns either.

Drop rules, in order, with the counts measured on the published file:

===================  =====================================================  ======
reason               rule                                                   rows
===================  =====================================================  ======
not_on_sale          sell_price is null (days before the item is on sale)   81,193
non_positive_price   sell_price <= 0                                             0
===================  =====================================================  ======

Kept: 454,447 rows, 280 series, 28 items, 10 stores. Every null price lies before a
series' first price and every such day sells 0 units, so nothing sold is lost.

* sales: ``location_id`` = store_id, ``period_start`` = date, ``units`` = value,
  ``price`` = sell_price; ``base_price`` = the item-store's modal sell_price over its
  days on sale (ties: the higher price), i.e. the price it usually sells at (a later
  permanent price change makes prices above it possible); ``promo`` is always false
  (M5 has no promotion flags); ``event_name`` = event_name_1, ``snap`` as boolean.
* catalog: category = cat_id, name = dept_id, brand null, base_price = median
  sell_price over all stores and days on sale, created_at = first day on sale (UTC).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from loaders.base import (
    DropRule,
    LoadResult,
    apply_drop_rules,
    day_start_utc,
    modal_value,
    require_file,
)

DROP_RULES: tuple[DropRule, ...] = (
    DropRule("not_on_sale", pl.col("sell_price").is_not_null()),
    DropRule("non_positive_price", pl.col("sell_price") > 0),
)

_SERIES = ("item_id", "store_id")


def build_sales(rows: pl.DataFrame) -> pl.DataFrame:
    """The daily panel in the contract's columns, one row per item, store and day."""
    lazy = rows.lazy()
    regular = modal_value(lazy, _SERIES, "sell_price", "base_price")
    return (
        lazy.join(regular, on=list(_SERIES), how="left")
        .select(
            pl.col("item_id").cast(pl.String),
            pl.col("store_id").cast(pl.String).alias("location_id"),
            pl.col("date").alias("period_start"),
            pl.col("value").cast(pl.Float64).alias("units"),
            pl.col("sell_price").cast(pl.Float64).alias("price"),
            "base_price",
            pl.lit(False).alias("promo"),
            pl.col("event_name_1").cast(pl.String).alias("event_name"),
            pl.col("snap").cast(pl.Boolean),
        )
        .sort("item_id", "location_id", "period_start")
        .collect()
    )


def build_catalog(rows: pl.DataFrame) -> pl.DataFrame:
    """One catalog row per item: category, department, median price, first day on sale."""
    return (
        rows.lazy()
        .group_by("item_id")
        .agg(
            pl.col("cat_id").first().cast(pl.String).alias("category"),
            pl.col("sell_price").median().alias("base_price"),
            pl.col("date").min().alias("first_day"),
            pl.col("dept_id").first().cast(pl.String).alias("name"),
        )
        .select(
            "item_id",
            "category",
            pl.lit(None, dtype=pl.String).alias("brand"),
            "base_price",
            pl.lit(None, dtype=pl.Float64).alias("unit_cost"),
            day_start_utc(pl.col("first_day")).alias("created_at"),
            "name",
        )
        .sort("item_id")
        .collect()
    )


def load_m5_tiny(source: Path) -> LoadResult:
    """Load the M5 tiny parquet file into a daily sales panel and a catalog.

    Args:
        source: Path of ``m5_tiny.parquet``.

    Returns:
        Sales and catalog; ``kept_rows`` counts the sales rows.

    Raises:
        FileNotFoundError: ``source`` does not exist.
    """
    raw = pl.scan_parquet(require_file(source))
    source_rows = raw.select(pl.len()).collect().item()
    kept, dropped = apply_drop_rules(raw, DROP_RULES)
    frames = {"sales": build_sales(kept), "catalog": build_catalog(kept)}
    return LoadResult(frames, source_rows, kept.height, dropped)
