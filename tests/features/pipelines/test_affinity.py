"""User × category interest: decayed shares that are exact between active days."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from features.config import AffinityConfig
from features.pipelines.affinity import (
    affinity_share,
    category_days,
    user_category_interest,
    user_interest_profile,
)

CATALOG = pl.DataFrame({"item_id": ["t", "b"], "category": ["toys", "books"]})


def _views(days_items: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": ["u"] * len(days_items),
            "item_id": [i for _, i in days_items],
            "event_type": ["view"] * len(days_items),
            "timestamp": [
                dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=d)
                for d, _ in days_items
            ],
        }
    )


def test_interest_halves_every_half_life() -> None:
    cfg = AffinityConfig(half_life_days=10)
    scored = category_days(_views([(0, "t"), (10, "b")]).lazy(), CATALOG.lazy(), cfg)
    interest = user_category_interest(scored)
    profile = user_interest_profile(scored, top_n=2).sort("day")
    toys = interest.filter(pl.col("category") == "toys")["interest"][0]
    books = interest.filter(pl.col("category") == "books")["interest"][0]
    total = profile["interest_total"][-1]
    shares = pl.select(
        toys=affinity_share(pl.lit(toys), pl.lit(total)),
        books=affinity_share(pl.lit(books), pl.lit(total)),
    ).row(0)
    # one view 10 days (one half-life) old weighs half a fresh view: 1/3 vs 2/3
    assert shares == pytest.approx((1 / 3, 2 / 3))
    assert profile["top_category_1"].to_list() == ["toys", "books"]


def test_weights_rank_purchases_above_views() -> None:
    events = _views([(0, "t"), (0, "t")]).vstack(
        _views([(0, "b")]).with_columns(event_type=pl.lit("purchase"))
    )
    scored = category_days(events.lazy(), CATALOG.lazy(), AffinityConfig())
    profile = user_interest_profile(scored, top_n=2)
    assert profile["top_category_1"][0] == "books"


def test_fewer_categories_than_top_n_leaves_the_rest_null() -> None:
    one_category = CATALOG.with_columns(category=pl.lit("toys"))
    scored = category_days(
        _views([(0, "t"), (1, "b")]).lazy(), one_category.lazy(), AffinityConfig()
    )
    profile = user_interest_profile(scored, top_n=3).sort("day")
    assert profile["top_category_1"].to_list() == ["toys", "toys"]
    assert profile["top_category_2"].null_count() == profile["top_category_3"].null_count() == 2
    assert profile["interest_total"].is_finite().all()
