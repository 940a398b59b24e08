"""User features: daily snapshots of RFM, lifecycle, activity windows, price sensitivity
and returns.

One row per shopper and day from the shopper's first event to the last day of data,
stamped at the end of the day, so recency, windows and lifecycle stages are right on
every day, including days the shopper did nothing (that is how they go dormant).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from features.config import UserFeatureConfig
from features.pipelines.daily import (
    BOUGHT,
    RETURNED,
    TIMESTAMP,
    cumulative,
    day_of,
    dense_days,
    end_of_day,
    last_day_where,
    return_rate,
    return_units,
    running_total,
    safe_ratio,
    trailing_sums,
)
from storefront.feeds.schemas import INTERACTION_TYPES

COUNTED = ("views", "carts", "purchases")
RETURNS = (RETURNED, BOUGHT)


def _daily_activity(events: pl.LazyFrame, catalog: pl.LazyFrame) -> pl.LazyFrame:
    purchase = pl.col("event_type") == "purchase"
    return (
        events.join(catalog.select("item_id", "base_price"), on="item_id", how="left")
        .with_columns(day=day_of(pl.col("timestamp")))
        .group_by("user_id", "day")
        .agg(
            # a day with only returns is no shopping: lifecycle stages count these
            interactions=pl.col("event_type").is_in(INTERACTION_TYPES).sum(),
            views=(pl.col("event_type") == "view").sum(),
            carts=(pl.col("event_type") == "add_to_cart").sum(),
            purchases=purchase.sum(),
            orders=pl.col("session_id").filter(purchase).n_unique(),
            spend=(pl.col("quantity") * pl.col("unit_price")).filter(purchase).sum(),
            discounted=(pl.col("unit_price") < 0.999 * pl.col("base_price")).filter(purchase).sum(),
            paid_to_base=(pl.col("unit_price") / pl.col("base_price")).filter(purchase).sum(),
            **return_units(),
        )
    )


def rfm_scores() -> list[pl.Expr]:
    """R, F and M scores 1-5 by quintile among the day's buyers (5 is best): ranks over
    every shopper of the day (``day``), so a partitioned build computes them globally."""

    def quintile(value: pl.Expr, descending: bool) -> pl.Expr:
        rank = value.rank("average", descending=descending).over("day")
        share = rank / value.count().over("day")
        return (share * 5).ceil().clip(1, 5).cast(pl.Int64)

    buyer = pl.col("frequency") > 0
    return [
        quintile(pl.when(buyer).then(pl.col("recency_days")), descending=True).alias("r_score"),
        quintile(pl.when(buyer).then(pl.col("frequency")), descending=False).alias("f_score"),
        quintile(pl.when(buyer).then(pl.col("monetary")), descending=False).alias("m_score"),
    ]


def rfm_segment(cfg: UserFeatureConfig) -> pl.Expr:
    """The RFM segment: the first rule of ``cfg.segments`` the R and F scores match."""
    expr = pl.when(pl.col("frequency") == 0).then(pl.lit("prospect"))
    expr = expr.when(
        (pl.col("frequency") == 1) & (pl.col("recency_days") <= cfg.new_buyer_days)
    ).then(pl.lit("new"))
    for rule in cfg.segments:
        expr = expr.when(
            pl.col("r_score").is_between(rule.r_min, rule.r_max)
            & pl.col("f_score").is_between(rule.f_min, rule.f_max)
        ).then(pl.lit(rule.name))
    return expr.otherwise(pl.lit("other"))


def _lifecycle(cfg: UserFeatureConfig) -> pl.Expr:
    return (
        pl.when(pl.col("tenure_days") < cfg.new_days)
        .then(pl.lit("new"))
        .when(pl.col("days_since_active") <= cfg.active_days)
        .then(pl.lit("active"))
        .when(pl.col("days_since_active") <= cfg.at_risk_days)
        .then(pl.lit("at_risk"))
        .otherwise(pl.lit("dormant"))
    )


def _days_since(day_column: str) -> pl.Expr:
    return (pl.col("day") - pl.col(day_column)).dt.total_days()


def user_features(
    events: pl.LazyFrame,
    catalog: pl.LazyFrame,
    profile: pl.DataFrame,
    last_day: dt.date,
    cfg: UserFeatureConfig,
) -> pl.DataFrame:
    """Daily user snapshots.

    Args:
        events: The events feed.
        catalog: The catalog feed (base prices, for discounts).
        profile: Per shopper and active day: ``interest_total`` and top categories
            (:func:`features.pipelines.affinity.user_interest_profile`).
        last_day: Last day to build (normally the last day with data).
        cfg: Windows, lifecycle thresholds and segment rules.

    Returns:
        user_id, event_timestamp and the features (see the README's feature list).
    """
    daily = _daily_activity(events, catalog)
    first = daily.group_by("user_id").agg(first_day=pl.col("day").min())
    grid = (
        dense_days(first, "user_id", last_day)
        .join(daily, on=["user_id", "day"], how="left")
        .join(first, on="user_id")
        .with_columns(
            active=pl.col("interactions").fill_null(0) > 0,
            days_in=(pl.col("day") - pl.col("first_day")).dt.total_days(),
        )
        .fill_null(0)
        .sort("user_id", "day")
    )
    totals = [
        *(running_total(c).alias(f"total_{c}") for c in ("orders", "purchases", "discounted")),
        # sums of money per shopper (a running total over everyone would lose precision)
        *(
            pl.col(c).cum_sum().over("user_id").alias(f"total_{c}")
            for c in ("spend", "paid_to_base")
        ),
    ]
    last_seen = [
        last_day_where(pl.col("active"), "user_id").alias("last_active"),
        last_day_where(pl.col("orders") > 0, "user_id").alias("last_order"),
    ]
    longest = max(cfg.windows_days)
    frame = (
        grid.with_columns(*cumulative((*COUNTED, *RETURNS)), *totals, *last_seen)
        .with_columns(
            *trailing_sums(COUNTED, cfg.windows_days, "user_id"),
            *trailing_sums(RETURNS, [cfg.return_window_days], "user_id"),
            frequency=pl.col("total_orders"),
            monetary=pl.col("total_spend"),
            recency_days=_days_since("last_order"),
            days_since_active=_days_since("last_active"),
            tenure_days=_days_since("first_day"),
        )
        .with_columns(*rfm_scores(), lifecycle_stage=_lifecycle(cfg))
        .with_columns(
            rfm_segment=rfm_segment(cfg),
            average_order_value=safe_ratio(pl.col("monetary"), pl.col("frequency")),
            conversion_rate_30d=safe_ratio(
                pl.col(f"purchases_{longest}d"), pl.col(f"views_{longest}d")
            ),
            discount_share=safe_ratio(pl.col("total_discounted"), pl.col("total_purchases")),
            paid_to_base_ratio=safe_ratio(pl.col("total_paid_to_base"), pl.col("total_purchases")),
            **return_rate(cfg.return_window_days),
        )
        .collect()
    )
    top = [c for c in profile.columns if c not in ("user_id", "day")]
    frame = (
        frame.sort("day")
        # the profile of the shopper's latest active day, as of each day
        .join_asof(profile.sort("day"), on="day", by="user_id", check_sortedness=False)
        .sort("user_id", "day")
        .with_columns(**{TIMESTAMP: end_of_day(pl.col("day"))})
    )
    return frame.select(
        "user_id",
        TIMESTAMP,
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "lifecycle_stage",
        "days_since_active",
        "tenure_days",
        *[f"{c}_{k}d" for c in COUNTED for k in cfg.windows_days],
        "conversion_rate_30d",
        "average_order_value",
        "discount_share",
        "paid_to_base_ratio",
        *top,
        *return_rate(cfg.return_window_days),
    ).with_columns(pl.col(pl.UInt32).cast(pl.Int64))
