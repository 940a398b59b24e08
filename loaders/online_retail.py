"""UCI Online Retail (Chen, Sain & Guo, 2012) -> events, catalog, prices and daily sales.

Source: 541,909 invoice lines of a UK online gift shop, 2010-12-01 -> 2011-12-09 (UCI
data set 352, CC BY 4.0). Lines of cancellation invoices (``InvoiceNo`` starts with
``C``, negative quantities: 9,288 lines) are returns; every other line is a purchase.
Drop rules, in order (a line counts under the first that removes it), with the counts
measured on the published file:

=========================  ==========================================  =======
reason                     rule                                          lines
=========================  ==========================================  =======
non_product_code           StockCode is not a product (see below)        3,080
non_positive_quantity      a purchase with Quantity <= 0 (or missing)    1,324
non_negative_cancellation  a cancellation with Quantity >= 0                 0
non_positive_price         UnitPrice <= 0 (or missing)                   1,159
missing_customer           CustomerID missing                          131,553
returned_item_never_sold   a cancellation of an item no kept line sells     19
=========================  ==========================================  =======

Kept: 404,774 events (of 541,909 lines): 396,255 purchase lines (4,334 customers, 3,657
items, 18,399 invoices) and 8,519 return lines (1,533 customers, 1,897 items, 269,416
units; 585 cancellation lines are non-product codes such as ``D`` discounts and 165
have no customer, counted above). The README's "about 397,900 lines, 4,338 customers,
3,665 items" is the purchases before the non-product rule (397,884 / 4,338 / 3,665
measured): that rule removes 1,629 more purchase lines, 8 codes (POST, M, C2, DOT, BANK
CHARGES, PADS, 23444, 23702) and 4 customers who bought nothing else. Stock codes are
upper-cased, which merges 112 codes written in lower case (e.g. ``85123a`` =
``85123A``). 5,189 kept lines are exact
repeats of another line of the same invoice (item, quantity, price, time); they are
kept, each as its own event.

Non-product codes: every product code starts with a digit (5 digits, optionally
followed by letters, e.g. ``85123A``). Codes without a leading digit are postage,
fees and bookkeeping lines (POST, DOT, C2, M = manual, D = discount, S = samples,
B = bad-debt adjustment, BANK CHARGES, AMAZONFEE, CRUK commission, PADS at 0.001,
gift vouchers ``GIFT_0001_*``, ``DCGS*`` dotcom-shop lines, none of which would pass
the later rules anyway); two digit-led codes are
services too: ``23444`` "Next Day Carriage" and ``23702`` "High Resolution Image".

Derived tables:

* events: one event per kept line, a ``purchase``, or for a cancellation line a
  ``return`` of its units (``quantity`` = -Quantity, ``unit_price`` = the refund per
  unit); ``order_id`` is the line's invoice number (for a return, the cancellation's
  own ``C`` number: the data does not say which invoice it cancels); no reasons.
  ``InvoiceDate`` is UK local time, converted Europe/London -> UTC (an hour ambiguous
  at the autumn change would be read as the earlier, BST, one; the shop has no line
  between 01:00 and 02:00).
* catalog, prices and sales are built from the purchase lines only (sales are gross
  units sold; returns are in the events).
* catalog: ``name`` = the item's most frequent description, ``category`` = its last
  purely alphabetic word, lower case (``"WHITE HANGING HEART T-LIGHT HOLDER"`` ->
  ``"holder"``; ``"unknown"`` when there is none), because the data set has no
  categories. ``base_price`` = the item's modal unit price over its lines (ties: the
  higher price), ``created_at`` = its first sale.
* prices: per item and UTC day the day's modal unit price; one row per change, valid
  from the start of that day (UTC); ``promo`` = price < catalog base price.
* sales: per item and UTC day at location ``"online"``: units = summed quantity,
  price = quantity-weighted mean unit price, promo = price < 0.98 x base price.
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

SERVICE_CODES: frozenset[str] = frozenset({"23444", "23702"})
"""Digit-led stock codes that are services, not products (next-day carriage, image)."""

LOCATION_ID = "online"
PROMO_THRESHOLD = 0.98
"""A day's sales are on promotion when their mean price is below 98 % of the base price."""


def _is_product_code(code: pl.Expr) -> pl.Expr:
    """True for stock codes of products: a leading digit and not a known service code."""
    return code.str.contains(r"^[0-9]") & ~code.is_in(list(SERVICE_CODES))


def _is_cancellation() -> pl.Expr:
    """True for the lines of cancellation invoices (``InvoiceNo`` starts with ``C``)."""
    return pl.col("InvoiceNo").str.starts_with("C")


DROP_RULES: tuple[DropRule, ...] = (
    DropRule("non_product_code", _is_product_code(pl.col("item_id"))),
    DropRule("non_positive_quantity", _is_cancellation() | (pl.col("Quantity") > 0)),
    DropRule("non_negative_cancellation", ~_is_cancellation() | (pl.col("Quantity") < 0)),
    DropRule("non_positive_price", pl.col("UnitPrice") > 0),
    DropRule("missing_customer", pl.col("CustomerID").is_not_null()),
)
RETURN_NOT_SOLD = "returned_item_never_sold"
"""The last rule: a cancellation of an item no kept line sells (it has no catalogue row)."""


def _customer_id(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Customer ids as strings without a trailing ``.0`` (the column may be float)."""
    if dtype.is_numeric():
        return column.cast(pl.Int64).cast(pl.String)
    return column.cast(pl.String).str.strip_chars().str.replace(r"\.0$", "")


def read_lines(source: Path) -> pl.LazyFrame:
    """Scan the invoice lines with row position, normalised ids and UTC timestamps added."""
    lines = pl.scan_parquet(require_file(source))
    customer_dtype = lines.collect_schema()["CustomerID"]
    return lines.with_row_index("row").with_columns(
        pl.col("InvoiceNo").cast(pl.String).str.strip_chars(),
        pl.col("StockCode").cast(pl.String).str.strip_chars().str.to_uppercase().alias("item_id"),
        _customer_id(pl.col("CustomerID"), customer_dtype).alias("user_id"),
        pl.col("InvoiceDate")
        .dt.replace_time_zone("Europe/London", ambiguous="earliest")
        .dt.convert_time_zone("UTC")
        .dt.cast_time_unit("us")
        .alias("timestamp"),
    )


def build_events(lines: pl.DataFrame) -> pl.DataFrame:
    """One event per kept invoice line, in source order: a purchase, or a return for a
    cancellation line (its units positive, the refund per unit its unit price)."""
    cancelled = _is_cancellation()
    return lines.select(
        pl.format("{}-{}", "InvoiceNo", "row").alias("event_id"),
        "user_id",
        pl.col("InvoiceNo").alias("session_id"),
        "item_id",
        pl.when(cancelled).then(pl.lit("return")).otherwise(pl.lit("purchase")).alias("event_type"),
        "timestamp",
        pl.col("Quantity").abs().cast(pl.Int64).alias("quantity"),
        pl.col("UnitPrice").cast(pl.Float64).alias("unit_price"),
        pl.lit(None, dtype=pl.String).alias("request_id"),
        pl.col("InvoiceNo").alias("order_id"),
        pl.lit(None, dtype=pl.String).alias("return_reason"),
    )


def category_from_name(name: pl.Expr) -> pl.Expr:
    """Last purely alphabetic word of a description, lower case (``"unknown"`` if none)."""
    return (
        name.str.extract_all(r"\b[A-Za-z]+\b").list.last().str.to_lowercase().fill_null("unknown")
    )


def build_catalog(lines: pl.DataFrame) -> pl.DataFrame:
    """Items with their modal description, derived category, modal price and first sale."""
    lazy = lines.lazy().with_columns(pl.col("Description").str.strip_chars())
    first_sale = lazy.group_by("item_id").agg(pl.col("timestamp").min().alias("created_at"))
    names = modal_value(lazy, ["item_id"], "Description", "name")
    prices = modal_value(lazy, ["item_id"], "UnitPrice", "base_price")
    return (
        first_sale.join(names, on="item_id", how="left")
        .join(prices, on="item_id", how="left")
        .select(
            "item_id",
            category_from_name(pl.col("name")).alias("category"),
            pl.lit(None, dtype=pl.String).alias("brand"),
            "base_price",
            pl.lit(None, dtype=pl.Float64).alias("unit_cost"),
            "created_at",
            "name",
        )
        .sort("item_id")
        .collect()
    )


def build_prices(events: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """List-price history: each item's daily modal price, one row per change."""
    daily = modal_value(
        events.lazy().with_columns(pl.col("timestamp").dt.date().alias("day")),
        ["item_id", "day"],
        "unit_price",
        "price",
    ).sort("item_id", "day")
    changed = pl.col("price") != pl.col("price").shift(1).over("item_id")
    return (
        daily.filter(changed.fill_null(True))
        .join(catalog.lazy().select("item_id", "base_price"), on="item_id")
        .select(
            "item_id",
            day_start_utc(pl.col("day")).alias("valid_from"),
            "price",
            (pl.col("price") < pl.col("base_price")).alias("promo"),
        )
        .sort("item_id", "valid_from")
        .collect()
    )


def build_sales(events: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """Daily units and quantity-weighted price per item at the single online location."""
    revenue = pl.col("quantity") * pl.col("unit_price")
    return (
        events.lazy()
        .group_by("item_id", pl.col("timestamp").dt.date().alias("period_start"))
        .agg(
            pl.col("quantity").sum().cast(pl.Float64).alias("units"),
            (revenue.sum() / pl.col("quantity").sum()).alias("price"),
        )
        .join(catalog.lazy().select("item_id", "base_price"), on="item_id")
        .select(
            "item_id",
            pl.lit(LOCATION_ID).alias("location_id"),
            "period_start",
            "units",
            "price",
            "base_price",
            (pl.col("price") < PROMO_THRESHOLD * pl.col("base_price")).alias("promo"),
        )
        .sort("item_id", "period_start")
        .collect()
    )


def load_online_retail(source: Path) -> LoadResult:
    """Load the Online Retail parquet file into events, catalog, prices and sales.

    Args:
        source: Path of ``online_retail.parquet``.

    Returns:
        The four feed tables; ``kept_rows`` counts the events (purchases and returns).

    Raises:
        FileNotFoundError: ``source`` does not exist.
    """
    raw = read_lines(source)
    source_rows = raw.select(pl.len()).collect().item()
    kept, dropped = apply_drop_rules(raw, DROP_RULES)
    sold = kept.filter(~_is_cancellation())
    catalog = build_catalog(sold)
    returned = kept.filter(_is_cancellation())
    known = returned["item_id"].is_in(catalog["item_id"].implode())
    dropped[RETURN_NOT_SOLD] = int((~known).sum())
    lines = pl.concat([sold, returned.filter(known)]).sort("row")
    events = build_events(lines)
    purchases = events.filter(pl.col("event_type") == "purchase")
    frames = {
        "events": events,
        "catalog": catalog,
        "prices": build_prices(purchases, catalog),
        "sales": build_sales(purchases, catalog),
    }
    return LoadResult(frames, source_rows, events.height, dropped)
