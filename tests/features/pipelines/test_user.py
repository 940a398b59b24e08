"""User snapshots on a hand-written history, checked value by value."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from features.config import AffinityConfig, UserFeatureConfig
from features.pipelines.affinity import category_days, user_interest_profile
from features.pipelines.user import user_features

D0 = dt.date(2025, 3, 1)


def _events(rows: list[tuple[str, int, str, str, str, float]]) -> pl.DataFrame:
    """(user, day offset, session, item, type, unit price) rows at noon UTC."""
    return pl.DataFrame(
        {
            "event_id": [f"e{k}" for k in range(len(rows))],
            "user_id": [r[0] for r in rows],
            "session_id": [r[2] for r in rows],
            "item_id": [r[3] for r in rows],
            "event_type": [r[4] for r in rows],
            "timestamp": [
                dt.datetime.combine(D0 + dt.timedelta(days=r[1]), dt.time(12), tzinfo=dt.UTC)
                for r in rows
            ],
            "quantity": [1] * len(rows),
            "unit_price": [r[5] for r in rows],
        }
    )


CATALOG = pl.DataFrame(
    {"item_id": ["a", "b"], "category": ["toys", "books"], "base_price": [10.0, 20.0]}
)


@pytest.fixture(scope="module")
def snapshots() -> pl.DataFrame:
    events = _events(
        [
            ("ann", 0, "s1", "a", "view", 10.0),
            ("ann", 0, "s1", "a", "add_to_cart", 10.0),
            ("ann", 0, "s1", "a", "purchase", 8.0),  # on discount
            ("ann", 3, "s2", "b", "view", 20.0),
            ("ann", 3, "s2", "b", "purchase", 20.0),
            ("bob", 1, "s3", "b", "view", 20.0),
        ]
    )
    scored = category_days(events.lazy(), CATALOG.lazy(), AffinityConfig())
    profile = user_interest_profile(scored, top_n=2)
    cfg = UserFeatureConfig(new_days=2, active_days=10, at_risk_days=30)
    return user_features(events.lazy(), CATALOG.lazy(), profile, D0 + dt.timedelta(days=60), cfg)


def _on(snapshots: pl.DataFrame, user: str, offset: int) -> dict:
    moment = dt.datetime.combine(D0 + dt.timedelta(days=offset + 1), dt.time(), tzinfo=dt.UTC)
    return snapshots.filter(
        (pl.col("user_id") == user) & (pl.col("event_timestamp") == moment)
    ).row(0, named=True)


def test_one_row_per_day_from_first_event_stamped_at_day_end(snapshots: pl.DataFrame) -> None:
    ann = snapshots.filter(pl.col("user_id") == "ann")
    assert ann.height == 61
    assert ann["event_timestamp"].min() == dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    assert snapshots.filter(pl.col("user_id") == "bob").height == 60


def test_rfm_and_windows(snapshots: pl.DataFrame) -> None:
    day3 = _on(snapshots, "ann", 3)
    assert (day3["frequency"], day3["monetary"], day3["recency_days"]) == (2, 28.0, 0)
    assert day3["average_order_value"] == 14.0
    assert (day3["views_1d"], day3["views_7d"], day3["purchases_7d"]) == (1, 2, 2)
    assert day3["discount_share"] == 0.5
    assert day3["paid_to_base_ratio"] == pytest.approx((0.8 + 1.0) / 2)
    day12 = _on(snapshots, "ann", 12)
    assert (day12["views_7d"], day12["views_30d"], day12["recency_days"]) == (0, 2, 9)


def test_lifecycle_goes_new_active_at_risk_dormant(snapshots: pl.DataFrame) -> None:
    stages = [_on(snapshots, "ann", d)["lifecycle_stage"] for d in (0, 5, 20, 40)]
    assert stages == ["new", "active", "at_risk", "dormant"]


def test_non_buyers_are_prospects_without_rfm_scores(snapshots: pl.DataFrame) -> None:
    bob = _on(snapshots, "bob", 5)
    assert bob["rfm_segment"] == "prospect"
    assert bob["r_score"] is None and bob["frequency"] == 0 and bob["recency_days"] is None
    assert _on(snapshots, "ann", 1)["rfm_segment"] == "new"


def test_top_categories_follow_interest(snapshots: pl.DataFrame) -> None:
    day0 = _on(snapshots, "ann", 0)
    assert (day0["top_category_1"], day0["top_category_2"]) == ("toys", None)
    # day 3: books (view + purchase = 6) beats toys (9 units, 3 days old)? 9 * 2^(-3/30) = 8.4
    day3 = _on(snapshots, "ann", 3)
    assert (day3["top_category_1"], day3["top_category_2"]) == ("toys", "books")
    assert _on(snapshots, "ann", 30)["top_category_1"] == "toys", "carried forward"
