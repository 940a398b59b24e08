"""The ranking cache: a shopper's ranked feed is reused until they act, the engine
changes or it ages out, and the answer is the one ranking afresh would give."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from serving.activity import RecentActivity
from serving.config import ModelsConfig, RecommendConfig, ServingConfig
from serving.online import open_online
from serving.rankings import RankingCache
from serving.reader import Features
from serving.rules import BusinessRules
from serving.state import State, build_state
from tests.serving.client import TrainedShop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state(trained_shop: TrainedShop) -> State:
    cfg = ServingConfig(
        data_dir=str(trained_shop.data_dir),
        models=ModelsConfig(tracking_uri=trained_shop.tracking_uri),
    )
    features = Features(open_online(Path(trained_shop.data_dir), cfg))
    return build_state(
        cfg, features, BusinessRules(), None, activity=RecentActivity(),
        rankings=RankingCache(ttl_seconds=60),
    )  # fmt: skip


def test_a_feed_is_reused_until_the_shopper_acts(state: State, trained_shop: TrainedShop) -> None:
    rec, user = state.recommender, trained_shop.known_user
    engine = rec.engines["champion"]
    first = rec.cached_rank(engine, user)
    assert first is not None and rec.cached_rank(engine, user) is first, "a hit"
    fresh = rec.rank(engine, user)
    assert fresh is not None and fresh.items.tolist() == first.items.tolist()
    answer, _ = rec.recommend(user, 10, "home", [], None, None)
    uncached = type(rec)(rec.engines, rec.shop, rec.features, rec.rules, rec.cfg)
    assert answer.items == uncached.recommend(user, 10, "home", [], None, None)[0].items
    viewed = next(i for i in engine.item_ids.tolist() if i not in first.items.tolist()[:5])
    at = dt.datetime.now(dt.UTC)
    rec.activity.record([("e-cache-1", user, "s-cache", viewed, "view", at)])
    after = rec.cached_rank(engine, user)
    assert after is not first, "the shopper acted: ranked again"
    assert rec.history(engine, user, None, [])[1][-1] == engine.index[viewed]


def test_entries_age_out_and_belong_to_their_engine(
    state: State, trained_shop: TrainedShop
) -> None:
    rec, user = state.recommender, trained_shop.known_user
    engine = rec.engines["champion"]
    short = type(rec)(
        rec.engines, rec.shop, rec.features, rec.rules, rec.cfg, activity=rec.activity,
        rankings=RankingCache(ttl_seconds=0.2),
    )  # fmt: skip
    first = short.cached_rank(engine, user)
    assert short.cached_rank(engine, user) is first
    time.sleep(0.3)
    assert short.cached_rank(engine, user) is not first, "older than the TTL"
    other = object()
    assert short.rankings.get(f"u:{user}", other, rec.activity.stamp(user)) is None
    off = type(rec)(rec.engines, rec.shop, rec.features, rec.rules, RecommendConfig(),
                    rankings=RankingCache(ttl_seconds=0))  # fmt: skip
    assert off.cached_rank(engine, user) is not off.cached_rank(engine, user), "0: off"


def test_a_degraded_ranking_is_not_kept(state: State, trained_shop: TrainedShop) -> None:
    rec = state.recommender
    blind = type(rec)(
        rec.engines, rec.shop, Features(None), rec.rules, rec.cfg,
        rankings=RankingCache(ttl_seconds=60),
    )  # fmt: skip
    engine = rec.engines["champion"]
    degraded: list[str] = []
    blind.cached_rank(engine, trained_shop.known_user, degraded=degraded)
    assert "feature_store_unavailable" in degraded
    assert len(blind.rankings) == 0


def test_expired_feeds_do_not_pile_up_until_the_size_bound() -> None:
    """Memory follows the shoppers of the last ``ttl`` seconds, not ``size``: the soak's
    worker grew 211 MB in 10 minutes while 4,250 shoppers' stale feeds stayed kept."""
    cache = RankingCache(ttl_seconds=0.05, size=50_000)
    engine = object()
    for n in range(100):
        cache.put(f"u{n}", engine, 0, [n])
    assert len(cache) == 100
    time.sleep(0.06)
    cache.put("late", engine, 0, ["late"])
    assert len(cache) == 1 and cache.get("late", engine, 0) == ["late"]
    assert cache.get("u1", engine, 0) is None
