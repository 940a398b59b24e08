"""The recommendation path in-process: re-ranked answers, and fallbacks flagged
``degraded`` when the feature store is down (a Redis online store nobody listens on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.config import StoreConfig
from features.online import OnlineFeatures
from features.store import open_store
from serving.config import ModelsConfig, ServingConfig
from serving.online import LockedOnline, open_online
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
    return build_state(cfg, features, BusinessRules(), purchases=None)


def _down(data_dir: Path) -> LockedOnline:
    """The shop's definitions with an online store that refuses connections."""
    store = open_store(
        data_dir, StoreConfig(online_store="redis", redis_connection_string="127.0.0.1:1")
    )
    return LockedOnline(OnlineFeatures(store))


def test_known_shopper_is_reranked(state: State, trained_shop: TrainedShop) -> None:
    answer, version = state.recommender.recommend(
        trained_shop.known_user, 10, "home", [], None, None
    )
    assert version == trained_shop.version and answer.strategy == "reranked"
    assert len(answer.items) == 10 and not answer.degraded


def test_feature_store_down_answers_from_last_good_copy(
    state: State, trained_shop: TrainedShop
) -> None:
    rec, user = state.recommender, trained_shop.known_user
    good, _ = rec.recommend(user, 10, "home", [], None, None)
    healthy = rec.features.online
    rec.features.online = _down(Path(trained_shop.data_dir))
    try:
        cached, _ = rec.recommend(user, 10, "home", [], None, None)
        assert cached.strategy == "reranked" and "feature_store_unavailable" in cached.degraded
        assert cached.items == good.items, "the last good features give the same answer"
        unseen, _ = rec.recommend("someone-new", 5, "home", [], None, None)
        assert unseen.strategy == "popularity" and len(unseen.items) == 5
        assert "feature_store_unavailable" in unseen.degraded
    finally:
        rec.features.online = healthy


def test_no_feature_store_at_all(state: State, trained_shop: TrainedShop) -> None:
    rec = state.recommender
    blind = type(rec)(rec.engines, rec.shop, Features(None), rec.rules, rec.cfg)
    answer, _ = blind.recommend(trained_shop.known_user, 10, "home", [], None, None)
    assert answer.items and answer.strategy == "retrieval"
    assert "feature_store_unavailable" in answer.degraded


def test_no_model_falls_back_to_popularity(state: State) -> None:
    rec = state.recommender
    empty = type(rec)({}, rec.shop, rec.features, rec.rules, rec.cfg)
    answer, version = empty.recommend("anyone", 5, "home", [], None, None)
    assert version is None and answer.strategy == "popularity" and len(answer.items) == 5
    assert "no_model" in answer.degraded
