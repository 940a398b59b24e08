"""dunnhumby "Breakfast at the Frat" -> weekly sales panel and catalog.

Source (attribution to dunnhumby required; research and education use): a folder with
``transactions.parquet`` (524,950 rows: 77 stores x 55 products x 156 weeks,
2009-01-14 -> 2012-01-04, weeks ending on Wednesdays; a sparse panel, not all 660,660
combinations) and ``products.parquet`` (58 products; three frozen pizzas never sell).
``stores.parquet`` is not needed for the feeds. A sales panel has no shopper events,
so no returns either (units are net sales as published).

Drop rules, in order, with the counts measured on the published data:

===================  ========================  ====
reason               rule                      rows
===================  ========================  ====
missing_price        price is null               23
non_positive_price   price <= 0                   1
negative_units       units < 0 (or missing)       0
===================  ========================  ====

Kept: 524,926 rows, 77 stores, 55 items, 156 weeks. Units are counts from 1 to 1,800:
the panel only lists weeks with a sale (the five 0-unit rows all lack a price).
185 kept rows have no regular price (base_price null) and 6,047 sell above it.

* sales: ``period_start`` = week_end_date - 6 days (Thursday); ``base_price`` is the
  regular price (null where the source has none or a non-positive one);
  ``promo`` = feature or display or tpr_only (missing flags read as false), flags kept.
* catalog: items that appear in sales; category, ``brand`` = manufacturer and
  ``name`` = description from products (``"UNKNOWN"`` category for an item the
  products table lacks); ``base_price`` = median regular price over the kept panel,
  falling back to the median shelf price; ``created_at`` = first period_start, 00:00 UTC.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from loaders.base import DropRule, LoadResult, apply_drop_rules, day_start_utc, require_file

TRANSACTIONS = "transactions.parquet"
PRODUCTS = "products.parquet"
PROMO_FLAGS: tuple[str, ...] = ("feature", "display", "tpr_only")

DROP_RULES: tuple[DropRule, ...] = (
    DropRule("missing_price", pl.col("price").is_not_null()),
    DropRule("non_positive_price", pl.col("price") > 0),
    DropRule("negative_units", pl.col("units") >= 0),
)


def _flag(name: str) -> pl.Expr:
    """A 0/1 (or boolean) promotion flag as a boolean, missing read as false."""
    return pl.col(name).cast(pl.Boolean).fill_null(False).alias(name)


def build_sales(rows: pl.DataFrame) -> pl.DataFrame:
    """The weekly panel in the contract's columns, one row per item, store and week."""
    regular = pl.col("base_price").cast(pl.Float64)
    return (
        rows.lazy()
        .with_columns(_flag(name) for name in PROMO_FLAGS)
        .select(
            pl.col("upc_id").cast(pl.String).alias("item_id"),
            pl.col("store_id").cast(pl.String).alias("location_id"),
            pl.col("week_end_date").dt.offset_by("-6d").alias("period_start"),
            pl.col("units").cast(pl.Float64),
            pl.col("price").cast(pl.Float64),
            pl.when(regular > 0).then(regular).alias("base_price"),
            pl.any_horizontal(PROMO_FLAGS).alias("promo"),
            *PROMO_FLAGS,
        )
        .sort("item_id", "location_id", "period_start")
        .collect()
    )


def build_catalog(sales: pl.DataFrame, products: pl.LazyFrame) -> pl.DataFrame:
    """Catalog rows for the items in ``sales``, described by ``products``."""
    described = products.select(
        pl.col("upc_id").cast(pl.String).alias("item_id"),
        pl.col("category").cast(pl.String),
        pl.col("manufacturer").cast(pl.String).alias("brand"),
        pl.col("description").cast(pl.String).alias("name"),
    ).unique("item_id", keep="first")
    return (
        sales.lazy()
        .group_by("item_id")
        .agg(
            pl.col("base_price").median().fill_null(pl.col("price").median()).alias("base_price"),
            pl.col("period_start").min().alias("first_week"),
        )
        .join(described, on="item_id", how="left")
        .select(
            "item_id",
            pl.col("category").fill_null("UNKNOWN"),
            "brand",
            "base_price",
            pl.lit(None, dtype=pl.Float64).alias("unit_cost"),
            day_start_utc(pl.col("first_week")).alias("created_at"),
            "name",
        )
        .sort("item_id")
        .collect()
    )


def load_breakfast_at_the_frat(source: Path) -> LoadResult:
    """Load the Breakfast at the Frat folder into a weekly sales panel and a catalog.

    Args:
        source: Folder holding ``transactions.parquet`` and ``products.parquet``.

    Returns:
        Sales and catalog; ``kept_rows`` counts the sales rows.

    Raises:
        FileNotFoundError: The folder or one of the two files does not exist.
    """
    transactions = pl.scan_parquet(require_file(source / TRANSACTIONS))
    products = pl.scan_parquet(require_file(source / PRODUCTS))
    source_rows = transactions.select(pl.len()).collect().item()
    kept, dropped = apply_drop_rules(transactions, DROP_RULES)
    sales = build_sales(kept)
    frames = {"sales": sales, "catalog": build_catalog(sales, products)}
    return LoadResult(frames, source_rows, sales.height, dropped)
