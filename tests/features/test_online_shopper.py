"""A shopper's read through the online store's interface (``OnlineStore.online_read``)
gives what Feast's ``get_online_features`` gives, and never creates a missing store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from features.config import FeatureConfig, store_dir
from features.online import OnlineFeatures
from features.store import open_store
from features.tables import USER_CATEGORY
from simulator import Simulation


@pytest.fixture(scope="module")
def reader(store: Any) -> OnlineFeatures:
    return OnlineFeatures(store)


def test_shopper_read_matches_get_online_features(
    reader: OnlineFeatures, store: Any, shop: Simulation
) -> None:
    categories = [*sorted(shop.feeds.catalog["category"].unique().to_list()), "no-such"]
    for user in [*shop.feeds.events["user_id"].tail(5).to_list(), "a-new-shopper"]:
        read = reader.read_shopper(user, categories)
        assert (read.features, read.known) == reader.read_user(user)
        want = store.get_online_features(
            features=reader.user_refs, entity_rows={"user_id": [user]}, full_feature_names=True
        ).to_dict()
        for key, (name, _) in reader.user_fields.items():
            if want[key][0] is not None:
                assert read.features[name] == want[key][0], name
        assert read.known == (user != "a-new-shopper")
        interest = store.get_online_features(
            features=[f"{USER_CATEGORY.name}:interest"],
            entity_rows={"user_id": [user] * len(categories), "category": categories},
        ).to_dict()["interest"]
        assert list(read.interest.values()) == interest
        assert read.interest["no-such"] is None
        assert list(read.interest.values()) == reader.read_interest(user, categories)


def test_item_vectors_match_read_items(reader: OnlineFeatures, shop: Simulation) -> None:
    items = [*shop.feeds.catalog["item_id"].head(20).to_list(), "a-new-item"]
    vectors = reader.read_vectors(items)
    _, known = reader.read_items(items)
    assert [v is not None for v in vectors] == known.to_list()
    assert vectors[-1] is None and len(vectors[0]) == len(reader.item_columns)


def test_a_missing_sqlite_store_is_not_recreated(built_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "feeds"
    shutil.copytree(built_dir, copy)
    store = open_store(copy, FeatureConfig().store)
    reader = OnlineFeatures(store)
    path = store_dir(copy) / "online_store.db"
    assert reader.sqlite_path == path
    path.unlink()
    with pytest.raises(FileNotFoundError, match="online store"):
        reader.read_user("u000001")
    assert not path.exists(), "a read never creates an empty store"
