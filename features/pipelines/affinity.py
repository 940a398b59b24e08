"""User × category interest: each shopper's decayed, weighted interactions per category.

An interaction's weight (view < cart < purchase) halves every ``half_life_days``. Scores
are kept in "origin units" (every weight grown to what it would be at its own day from
a fixed origin), as ``interest = log2(score)``: a category's interest changes only on
days the shopper touches it, yet comparing interests at any moment is exact, because
decay scales every category alike. The share of a category in a shopper's interest is
``2 ** (interest - interest_total)`` (:func:`affinity_share`), with ``interest_total``
from the user features.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import polars as pl

from features.config import AffinityConfig
from features.pipelines.daily import TIMESTAMP, day_of, end_of_day
from storefront.feeds.schemas import INTERACTION_TYPES

T = TypeVar("T")
MAX_CELLS = 20_000_000
"""Largest shopper-day × category block held in memory when ranking categories."""


def affinity_share(interest: T, interest_total: T) -> T:
    """A category's share (0-1) of a shopper's interest, from the two log2 scores:
    ``2 ** (interest - interest_total)`` (Polars expressions or NumPy arrays alike, so
    training and serving compute it the same way)."""
    return 2.0 ** (interest - interest_total)  # type: ignore[operator, return-value]


def _growth(day: pl.Expr, cfg: AffinityConfig) -> pl.Expr:
    elapsed = (day - pl.lit(cfg.origin, dtype=pl.Date)).dt.total_days()
    return pl.lit(2.0).pow(elapsed / cfg.half_life_days)


def category_days(events: pl.LazyFrame, catalog: pl.LazyFrame, cfg: AffinityConfig) -> pl.DataFrame:
    """One row per shopper, category and day touched: ``score`` (origin units, cumulative).

    Returns are not interest: only views, carts and purchases count."""
    weight = (
        pl.when(pl.col("event_type") == "view")
        .then(cfg.view_weight)
        .when(pl.col("event_type") == "add_to_cart")
        .then(cfg.cart_weight)
        .otherwise(cfg.purchase_weight)
    )
    return (
        events.filter(pl.col("event_type").is_in(INTERACTION_TYPES))
        .join(catalog.select("item_id", "category"), on="item_id")
        .with_columns(day=day_of(pl.col("timestamp")), weight=weight)
        .group_by("user_id", "category", "day")
        .agg(pl.col("weight").sum())
        .sort("user_id", "category", "day")
        .with_columns(
            score=(pl.col("weight") * _growth(pl.col("day"), cfg))
            .cum_sum()
            .over("user_id", "category")
        )
        .collect()
    )


def user_category_interest(scored: pl.DataFrame) -> pl.DataFrame:
    """The Feast table: user_id, category, event_timestamp, interest (log2 score)."""
    return scored.select(
        "user_id",
        "category",
        end_of_day(pl.col("day")).alias(TIMESTAMP),
        interest=pl.col("score").log(2),
    ).sort("user_id", "category", TIMESTAMP)


def user_interest_profile(
    scored: pl.DataFrame, top_n: int, categories: pl.Series | None = None
) -> pl.DataFrame:
    """Per shopper and active day: ``interest_total`` and the ``top_n`` categories.

    Args:
        scored: Output of :func:`category_days`.
        top_n: How many top categories to name (``top_category_1`` is the strongest).
        categories: Every category scored in the whole shop (default: those of
            ``scored``); a build partitioned by shopper passes the shop's, so each
            partition sums and ranks the same columns as one run over everyone.

    Returns:
        user_id, day, interest_total, top_category_1 .. top_category_n (null when the
        shopper has touched fewer categories).
    """
    categories = (scored["category"] if categories is None else categories).unique().sort()
    codes = scored.with_columns(code=pl.col("category").cast(pl.Enum(categories)).to_physical())
    rows_per_chunk = max(1, MAX_CELLS // len(categories))
    days = (
        codes.select("user_id", "day")
        .unique()
        .sort("user_id", "day")
        .with_row_index("row")
        # whole shoppers per chunk, so carrying scores forward never crosses a chunk
        .with_columns(chunk=pl.col("row").min().over("user_id") // rows_per_chunk)
    )
    return pl.concat(
        _profile_chunk(codes, part.drop("row", "chunk"), categories, top_n)
        for part in days.partition_by("chunk", maintain_order=True)
    )


def _profile_chunk(
    codes: pl.DataFrame, days: pl.DataFrame, categories: pl.Series, top_n: int
) -> pl.DataFrame:
    """Dense shopper-day × category scores for some shoppers, carried forward, ranked."""
    rows = days.with_row_index("row")
    cells = codes.join(rows, on=["user_id", "day"])
    matrix = np.full((rows.height, len(categories)), np.nan)
    matrix[cells["row"].to_numpy(), cells["code"].to_numpy()] = cells["score"].to_numpy()
    user = rows["user_id"].to_numpy()
    filled = np.nan_to_num(_carry_forward(matrix, np.r_[True, user[1:] != user[:-1]]), nan=0.0)
    return rows.select("user_id", "day").with_columns(
        interest_total=pl.Series(np.log2(filled.sum(axis=1))),
        **_top_categories(filled, categories, top_n),
    )


def _top_categories(filled: np.ndarray, categories: pl.Series, top_n: int) -> dict[str, pl.Series]:
    """``top_category_1 .. top_category_<top_n>`` of each row of scores: null where the
    row has fewer positive scores, or the catalogue fewer categories, than ``top_n``."""
    order = np.argsort(-filled, axis=1, kind="stable")[:, :top_n]
    names = categories.to_numpy()[order].astype(object)
    names[np.take_along_axis(filled, order, axis=1) <= 0] = None
    empty = [None] * filled.shape[0]
    return {
        f"top_category_{k + 1}": pl.Series(
            names[:, k].tolist() if k < names.shape[1] else empty, dtype=pl.String
        )
        for k in range(top_n)
    }


def _carry_forward(matrix: np.ndarray, first_row: np.ndarray) -> np.ndarray:
    """Fill NaNs with the last value above them, restarting at each ``first_row``."""
    n_rows, n_cols = matrix.shape
    source = np.where(~np.isnan(matrix) | first_row[:, None], np.arange(n_rows)[:, None], 0)
    np.maximum.accumulate(source, axis=0, out=source)
    return matrix[source, np.arange(n_cols)[None, :]]
