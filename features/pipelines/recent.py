"""Recent activity per shopper: the batch view behind the real-time push source."""

from __future__ import annotations

import polars as pl

from features.config import RecentActivityConfig
from features.pipelines.daily import TIMESTAMP
from storefront.feeds.schemas import INTERACTION_TYPES

COLUMNS = (
    "user_id",
    TIMESTAMP,
    "last_viewed_items",
    "last_carted_items",
    "session_id",
    "session_views",
    "session_carts",
)


def _last_items(event_type: str, n: int) -> pl.Expr:
    items = pl.col("item_id").filter(pl.col("event_type") == event_type)
    return items.reverse().unique(maintain_order=True).head(n)


def recent_activity(events: pl.LazyFrame, cfg: RecentActivityConfig) -> pl.DataFrame:
    """Each shopper's latest state: last N viewed / carted items (newest first) and the
    counts of their latest session, stamped with their last event's time (returns left
    out: a visit to send something back is not browsing)."""
    ordered = events.filter(pl.col("event_type").is_in(INTERACTION_TYPES)).sort("timestamp")
    last_session = pl.col("session_id").last()
    in_session = pl.col("session_id") == last_session
    return (
        ordered.group_by("user_id")
        .agg(
            pl.col("timestamp").max().alias(TIMESTAMP),
            _last_items("view", cfg.last_n_items).alias("last_viewed_items"),
            _last_items("add_to_cart", cfg.last_n_items).alias("last_carted_items"),
            last_session.alias("session_id"),
            ((pl.col("event_type") == "view") & in_session).sum().alias("session_views"),
            ((pl.col("event_type") == "add_to_cart") & in_session).sum().alias("session_carts"),
        )
        .with_columns(pl.col("session_views", "session_carts").cast(pl.Int64))
        .select(COLUMNS)
        .collect()
    )
