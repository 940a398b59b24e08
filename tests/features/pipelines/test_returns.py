"""Returns in the features: item and shopper return rates (returned / bought units over
a trailing window, as of each day), and every other feature — demand, popularity,
interest, RFM, recent activity — unchanged by adding returns to a shop's events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from features.build import compute_tables
from features.config import FeatureConfig, ItemFeatureConfig, UserFeatureConfig
from features.pipelines.affinity import category_days, user_interest_profile
from features.pipelines.item import item_features
from features.pipelines.user import user_features
from features.tables import DEMAND, ITEM, ITEM_SERVING, RECENT, USER, USER_CATEGORY
from serving.shop import _popular
from simulator import Simulation
from storefront.feeds import Feeds
from training.recommender.baselines import Popularity
from training.recommender.config import PopularityConfig, SplitConfig
from training.recommender.data import temporal_split

D0 = dt.date(2025, 1, 1)
CATALOG = pl.DataFrame(
    {
        "item_id": ["x", "y"],
        "category": ["c", "c"],
        "base_price": [10.0, 20.0],
        "unit_cost": [4.0, 8.0],
        "created_at": [dt.datetime(2024, 12, 1, tzinfo=dt.UTC)] * 2,
    }
)


def _events(rows: list[tuple[str, str, int, str, int]]) -> pl.DataFrame:
    """(user, item, day, type, quantity) rows at noon UTC, price 10."""
    return pl.DataFrame(
        {
            "event_id": [f"e{k}" for k in range(len(rows))],
            "user_id": [r[0] for r in rows],
            "session_id": [f"s{k}" for k in range(len(rows))],
            "item_id": [r[1] for r in rows],
            "event_type": [r[3] for r in rows],
            "timestamp": [
                dt.datetime.combine(D0 + dt.timedelta(days=r[2]), dt.time(12), tzinfo=dt.UTC)
                for r in rows
            ],
            "quantity": [r[4] for r in rows],
            "unit_price": [10.0] * len(rows),
        }
    )


EVENTS = _events(
    [
        ("u1", "x", 0, "purchase", 4),
        ("u2", "x", 0, "purchase", 6),
        ("u1", "x", 5, "return", 1),
        ("u2", "x", 20, "return", 3),
        ("u1", "y", 1, "view", 1),
        ("u2", "y", 100, "purchase", 2),
    ]
)


def _on(frame: pl.DataFrame, key: str, value: str, day: int) -> dict:
    moment = dt.datetime.combine(D0 + dt.timedelta(days=day + 1), dt.time(), tzinfo=dt.UTC)
    return frame.filter((pl.col(key) == value) & (pl.col("event_timestamp") == moment)).row(
        0, named=True
    )


def test_item_return_rate_over_the_window_as_of_each_day() -> None:
    daily = item_features(
        EVENTS.lazy(), CATALOG.lazy(), None, None, D0, D0 + dt.timedelta(days=120),
        ItemFeatureConfig(),
    )  # fmt: skip
    assert _on(daily, "item_id", "x", 4)["return_rate_90d"] == 0.0, "nothing back yet"
    assert _on(daily, "item_id", "x", 5)["return_rate_90d"] == pytest.approx(1 / 10)
    day20 = _on(daily, "item_id", "x", 20)
    assert day20["return_rate_90d"] == pytest.approx(4 / 10) and day20["returned_units_90d"] == 4
    assert _on(daily, "item_id", "x", 95)["return_rate_90d"] is None, (
        "the purchases left the window"
    )
    assert _on(daily, "item_id", "y", 50)["return_rate_90d"] is None, "nothing bought: unknown"
    assert _on(daily, "item_id", "y", 100)["return_rate_90d"] == 0.0
    assert (day20["purchases_30d"], day20["units_30d"]) == (2, 10), "a return is no purchase"
    assert daily.columns[-2:] == ["returned_units_90d", "return_rate_90d"], "appended last"


def test_shopper_return_rate_over_the_window_as_of_each_day() -> None:
    cfg = UserFeatureConfig(return_window_days=10)
    profile = user_interest_profile(
        category_days(EVENTS.lazy(), CATALOG.lazy(), FeatureConfig().affinity), 3
    )
    daily = user_features(EVENTS.lazy(), CATALOG.lazy(), profile, D0 + dt.timedelta(days=120), cfg)
    assert _on(daily, "user_id", "u1", 4)["return_rate_10d"] == 0.0
    assert _on(daily, "user_id", "u1", 5)["return_rate_10d"] == pytest.approx(1 / 4)
    assert _on(daily, "user_id", "u1", 10)["return_rate_10d"] is None, "bought 11 days ago"
    u2 = _on(daily, "user_id", "u2", 20)
    assert u2["returned_units_10d"] == 3 and u2["return_rate_10d"] is None
    assert (u2["frequency"], u2["monetary"], u2["purchases_30d"]) == (1, 60.0, 1)


def _without_returns(feeds: Feeds) -> Feeds:
    return dataclasses.replace(
        feeds, events=feeds.events.filter(pl.col("event_type") != "return"), sales=None
    )


RETURN_COLUMNS = ("returned_units_90d", "return_rate_90d")


def test_adding_returns_changes_no_other_feature(small_sim: Simulation) -> None:
    """Demand (derived from events), popularity, conversion, RFM, interest and recent
    activity are the same with the returns in the events as without them."""
    with_returns = dataclasses.replace(small_sim.feeds, sales=None)
    assert with_returns.events.filter(pl.col("event_type") == "return").height > 50
    cfg = FeatureConfig()
    mixed, plain = (
        compute_tables(with_returns, cfg),
        compute_tables(_without_returns(with_returns), cfg),
    )
    assert mixed[ITEM]["returned_units_90d"].sum() > 0
    assert mixed[USER]["returned_units_90d"].sum() > 0
    for table in (ITEM, USER, USER_CATEGORY, DEMAND, RECENT):
        keys = [*table.keys, "event_timestamp"] if table is not RECENT else list(table.keys)
        left = mixed[table].drop(RETURN_COLUMNS, strict=False)
        right = plain[table].drop(RETURN_COLUMNS, strict=False)
        joined = left.join(right, on=keys, how="inner", suffix="_plain", nulls_equal=True)
        assert joined.height == right.height, table.name
        for column in left.columns:
            if column in keys:
                continue
            a, b = joined[column], joined[f"{column}_plain"]
            same = a.eq_missing(b)
            if a.dtype == pl.Float64:  # sums in another order: equal to rounding
                same = same | ((a - b).abs() <= 1e-9 * b.abs().clip(1.0, None))
            assert same.all(), f"{table.name}.{column}"
    assert (
        mixed[ITEM_SERVING]["vector"].list.len()[0] == plain[ITEM_SERVING]["vector"].list.len()[0]
    )


def test_the_recommenders_data_and_popularity_ignore_returns(small_sim: Simulation) -> None:
    events, catalog = small_sim.feeds.events, small_sim.feeds.catalog
    plain = events.filter(pl.col("event_type") != "return")
    split = temporal_split(events, catalog, SplitConfig())
    assert split.events.equals(temporal_split(plain, catalog, SplitConfig()).events)
    assert "return" not in split.events["event_type"].to_list()
    n = split.catalogue.size
    mixed = Popularity(PopularityConfig()).fit(split.events, n).scores
    again = Popularity(PopularityConfig()).fit(
        temporal_split(plain, catalog, SplitConfig()).events, n
    )
    assert (mixed == again.scores).all()
    items = catalog["item_id"].to_list()
    assert _popular(events, items) == _popular(plain, items), "the service's fallback list"
