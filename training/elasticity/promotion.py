"""Promotion response by price-sensitivity tier: how much more often a shopper of each
tier puts an item in the cart when it is on promotion than when it is not.

For *targeting* promotions at segments only — never for setting a shopper's base price
(one price per item per moment for every shopper; see ../shared/DESIGN.md).

Tiers come from the feature store's ``paid_to_base_ratio`` (what a shopper paid relative
to list prices): the lowest third are ``budget``, the middle ``standard``, the highest
``premium``. A view counts once per session and item; its outcome is an add-to-cart of
that item in the session. The response is the Mantel–Haenszel risk ratio of
add-to-cart, promoted against regular views, stratified by item (so that the items a
tier happens to look at do not masquerade as a response), with the Greenland–Robins
interval.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

TIERS = ("budget", "standard", "premium")


def shopper_tiers(users: pl.DataFrame) -> pl.DataFrame:
    """Each shopper's tier from their latest ``paid_to_base_ratio`` (shoppers without a
    purchase have no tier)."""
    latest = (
        users.sort("event_timestamp")
        .group_by("user_id")
        .agg(pl.col("paid_to_base_ratio").last())
        .filter(pl.col("paid_to_base_ratio").is_not_null() & (pl.col("paid_to_base_ratio") > 0))
    )
    ratio = latest["paid_to_base_ratio"]
    low, high = ratio.quantile(1 / 3), ratio.quantile(2 / 3)
    return latest.select(
        "user_id",
        tier=pl.when(pl.col("paid_to_base_ratio") <= low)
        .then(pl.lit(TIERS[0]))
        .when(pl.col("paid_to_base_ratio") <= high)
        .then(pl.lit(TIERS[1]))
        .otherwise(pl.lit(TIERS[2])),
    )


def view_outcomes(events: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame:
    """One row per session and viewed item: user, item, whether the item was on
    promotion at the first view, and whether it was added to the cart in the session."""
    views = (
        events.filter(pl.col("event_type") == "view")
        .group_by("session_id", "item_id")
        .agg(pl.col("user_id").first(), pl.col("timestamp").min())
        .sort("timestamp")
    )
    promo = prices.select("item_id", pl.col("valid_from").alias("timestamp"), "promo").sort(
        "timestamp"
    )
    carted = (
        events.filter(pl.col("event_type") == "add_to_cart")
        .select("session_id", "item_id")
        .unique()
        .with_columns(carted=pl.lit(True))
    )
    return (
        # both sides are sorted by timestamp, so sorted within every item too
        views.join_asof(
            promo, on="timestamp", by="item_id", strategy="backward", check_sortedness=False
        )
        .join(carted, on=["session_id", "item_id"], how="left")
        .select(
            "user_id",
            "item_id",
            pl.col("promo").fill_null(False),
            pl.col("carted").fill_null(False),
        )
    )


def mantel_haenszel(strata: pl.DataFrame, confidence: float) -> tuple[float, float, float]:
    """Risk ratio of ``a/n1`` against ``b/n0`` pooled over strata, and its interval.

    Args:
        strata: a (promoted carts), n1 (promoted views), b (regular carts), n0 (regular
            views), one row per stratum.
        confidence: Interval level.
    """
    a, n1, b, n0 = (strata[c].to_numpy().astype(float) for c in ("a", "n1", "b", "n0"))
    total = n1 + n0
    r, s = (a * n0 / total).sum(), (b * n1 / total).sum()
    if r == 0 or s == 0:
        return float("nan"), float("nan"), float("nan")
    variance = ((n1 * n0 * (a + b) - a * b * total) / total**2).sum() / (r * s)
    z = stats.norm.ppf(0.5 + confidence / 2)
    log_rr, half = np.log(r / s), z * np.sqrt(max(variance, 0.0))
    return float(np.exp(log_rr)), float(np.exp(log_rr - half)), float(np.exp(log_rr + half))


def promotion_response(
    outcomes: pl.DataFrame, tiers: pl.DataFrame, confidence: float = 0.95
) -> pl.DataFrame:
    """Per tier: views and add-to-cart rates on and off promotion, and the stratified
    response (risk ratio) with its interval."""
    rows = outcomes.join(tiers, on="user_id")
    table = []
    for tier in TIERS:
        mine = rows.filter(pl.col("tier") == tier)
        strata = (
            mine.group_by("item_id")
            .agg(
                a=(pl.col("carted") & pl.col("promo")).sum(),
                n1=pl.col("promo").sum(),
                b=(pl.col("carted") & ~pl.col("promo")).sum(),
                n0=(~pl.col("promo")).sum(),
            )
            .filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
        )
        response, low, high = mantel_haenszel(strata, confidence)
        promoted, regular = mine.filter(pl.col("promo")), mine.filter(~pl.col("promo"))
        table.append(
            {
                "tier": tier,
                "shoppers": mine["user_id"].n_unique(),
                "promoted_views": promoted.height,
                "regular_views": regular.height,
                "cart_rate_promoted": promoted["carted"].mean() if promoted.height else None,
                "cart_rate_regular": regular["carted"].mean() if regular.height else None,
                "response": response,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pl.DataFrame(table)
