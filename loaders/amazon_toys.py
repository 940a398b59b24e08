"""Amazon "Toys and Games" 5-core purchase sequences -> events and catalog (leave-one-out).

Source: ``toys_5core.parquet``, 167,597 rows = 19,412 shoppers x 11,924 items (each
shopper with at least 5 items, each item with at least 5 shoppers), columns user_id,
item_id, position (0-based chronological order of the shopper's items). The reviews of
McAuley et al. (He & McAuley, WWW 2016; McAuley et al., SIGIR 2015), 5-core
preprocessing as published with the ICLRec code (Salesforce, BSD-3).

Drop rules, in order, with the counts measured on the published file:

=================  ===========================================  ====
reason             rule                                         rows
=================  ===========================================  ====
missing_id         user_id, item_id or position missing            0
=================  ===========================================  ====

Kept: 167,597 purchases, 19,412 shoppers, 11,924 items. The data has no returns
(reviews of items kept), so the events hold none.

The data has no time, category or price, so the loader invents them:

* **Timestamps** keep each shopper's order and make the project's temporal split (with
  the default windows of ``configs/recommender.yaml``: 14 validation and 14 test days)
  the usual *leave-one-out* protocol. A shopper's last item is stamped at
  :data:`LAST_MOMENT` (the test window), the one before at ``LAST_MOMENT -``
  :data:`VALIDATION_OFFSET` (21 days: the middle of the validation window), and the
  earlier ones spread evenly, in order, over the :data:`TRAIN_SPAN` (14 days) that end
  :data:`TRAIN_END_OFFSET` (28 days) before the last moment, i.e. before the validation
  window starts. Ties in ``position`` keep the file's row order. Any split whose test
  window is shorter than 21 days and whose test + validation windows together are
  between 21 and 28 days long is leave-one-out as well; 14-day popularity then sees all
  training purchases.
* **Events**: one ``purchase`` per row (quantity 1, unit price 1.0), each its own
  session; ``event_id`` = ``session_id`` = ``"<user_id>-<position>"``.
* **Catalog**: one category (:data:`CATEGORY`), a placeholder ``base_price`` of
  :data:`PLACEHOLDER_PRICE` for every item (so price features carry no information),
  ``created_at`` = the item's first purchase, no name or brand.

No prices, sales or inventory feeds are produced (the feature store derives what it
needs from the events).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from loaders.base import DropRule, LoadResult, apply_drop_rules, require_file

LAST_MOMENT = dt.datetime(2014, 7, 23, 12, tzinfo=dt.UTC)
"""When every shopper's last item is bought (the end of the data; the test window)."""
VALIDATION_OFFSET = dt.timedelta(days=21)
"""The second-to-last item is bought this long before :data:`LAST_MOMENT`."""
TRAIN_END_OFFSET = dt.timedelta(days=28)
"""Earlier items are bought before ``LAST_MOMENT - TRAIN_END_OFFSET``."""
TRAIN_SPAN = dt.timedelta(days=14)
"""Earlier items are spread evenly over this span (ending at the training end)."""
CATEGORY = "toys_and_games"
PLACEHOLDER_PRICE = 1.0
"""Every item's base price and every purchase's unit price (the data has no prices)."""

DROP_RULES: tuple[DropRule, ...] = (
    DropRule(
        "missing_id",
        pl.col("user_id").is_not_null()
        & pl.col("item_id").is_not_null()
        & pl.col("position").is_not_null(),
    ),
)


def synthetic_timestamps(rank: pl.Expr, count: pl.Expr) -> pl.Expr:
    """Order-preserving timestamps that make the temporal split leave-one-out.

    Args:
        rank: 0-based rank of the purchase within its shopper's sequence.
        count: Length of that shopper's sequence.

    Returns:
        ``LAST_MOMENT`` for the last purchase, ``LAST_MOMENT - VALIDATION_OFFSET`` for
        the one before, and ``train_start + rank / (count - 2) x TRAIN_SPAN`` for the
        others, with ``train_start = LAST_MOMENT - TRAIN_END_OFFSET - TRAIN_SPAN``
        (strictly before the training end, increasing with ``rank``).
    """
    last = pl.lit(LAST_MOMENT).dt.cast_time_unit("us")
    train_start = last - pl.lit(TRAIN_END_OFFSET + TRAIN_SPAN)
    span_us = TRAIN_SPAN // dt.timedelta(microseconds=1)
    earlier = pl.max_horizontal(count - 2, pl.lit(1)).cast(pl.Float64)
    offset_us = (rank.cast(pl.Float64) / earlier * span_us).cast(pl.Int64)
    spread = train_start + pl.duration(microseconds=offset_us)
    return (
        pl.when(rank == count - 1)
        .then(last)
        .when(rank == count - 2)
        .then(last - pl.lit(VALIDATION_OFFSET))
        .otherwise(spread)
    )


def build_events(rows: pl.DataFrame) -> pl.DataFrame:
    """One purchase per row, stamped by :func:`synthetic_timestamps`, in time order."""
    ordered = rows.with_row_index("row").sort("user_id", "position", "row")
    rank = pl.int_range(pl.len()).over("user_id")
    count = pl.len().over("user_id")
    key = pl.format("{}-{}", "user_id", "position")
    return (
        ordered.with_columns(synthetic_timestamps(rank, count).alias("timestamp"))
        .select(
            key.alias("event_id"),
            "user_id",
            key.alias("session_id"),
            "item_id",
            pl.lit("purchase").alias("event_type"),
            "timestamp",
            pl.lit(1, dtype=pl.Int64).alias("quantity"),
            pl.lit(PLACEHOLDER_PRICE).alias("unit_price"),
            pl.lit(None, dtype=pl.String).alias("request_id"),
        )
        .sort("timestamp", "user_id")
    )


def build_catalog(events: pl.DataFrame) -> pl.DataFrame:
    """Every item: one category, the placeholder price, created at its first purchase."""
    return (
        events.group_by("item_id")
        .agg(pl.col("timestamp").min().alias("created_at"))
        .select(
            "item_id",
            pl.lit(CATEGORY).alias("category"),
            pl.lit(None, dtype=pl.String).alias("brand"),
            pl.lit(PLACEHOLDER_PRICE).alias("base_price"),
            pl.lit(None, dtype=pl.Float64).alias("unit_cost"),
            "created_at",
            pl.lit(None, dtype=pl.String).alias("name"),
        )
        .sort("item_id")
    )


def load_amazon_toys(source: Path) -> LoadResult:
    """Load the Amazon Toys 5-core sequences into events and a catalog.

    Args:
        source: Path of ``toys_5core.parquet``.

    Returns:
        Events and catalog; ``kept_rows`` counts the purchase events.

    Raises:
        FileNotFoundError: ``source`` does not exist.
    """
    raw = pl.scan_parquet(require_file(source)).with_columns(
        pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String)
    )
    source_rows = raw.select(pl.len()).collect().item()
    kept, dropped = apply_drop_rules(raw, DROP_RULES)
    events = build_events(kept)
    frames = {"events": events, "catalog": build_catalog(events)}
    return LoadResult(frames, source_rows, events.height, dropped)
