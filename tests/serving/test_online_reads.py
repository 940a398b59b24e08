"""The service's online reads are lock-free and one store round trip per shopper: many
request threads read the real SQLite store of a trained shop at once and get exactly
what sequential reads get, each through its own online-store object."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from serving.config import ModelsConfig, ServingConfig
from serving.online import LockedOnline, open_online
from storefront.workspace import Workspace
from tests.serving.client import TrainedShop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def online(trained_shop: TrainedShop) -> LockedOnline:
    cfg = ServingConfig(
        data_dir=str(trained_shop.data_dir),
        models=ModelsConfig(tracking_uri=trained_shop.tracking_uri),
    )
    opened = open_online(Path(trained_shop.data_dir), cfg)
    assert opened is not None
    return opened


@pytest.fixture(scope="module")
def categories(trained_shop: TrainedShop) -> list[str]:
    catalog = pl.read_parquet(Workspace(trained_shop.data_dir).feed_file("catalog.parquet"))
    return sorted(catalog["category"].unique().to_list())


@pytest.fixture(scope="module")
def users(trained_shop: TrainedShop) -> list[str]:
    events = pl.read_parquet(Workspace(trained_shop.data_dir).feed_file("events.parquet"))
    known = events["user_id"].unique().sort().head(60).to_list()
    return [*known, trained_shop.known_user, "nobody-1", "nobody-2"]


def _read(online: LockedOnline, user: str, categories: list[str]) -> tuple[Any, ...]:
    features, known, interest = online.read_user_interest(user, categories)
    return features, known, interest, online.read_user(user)


def test_concurrent_reads_equal_sequential_ones(
    online: LockedOnline, users: list[str], categories: list[str], trained_shop: TrainedShop
) -> None:
    sequential = {u: _read(online, u, categories) for u in users}
    assert sequential[trained_shop.known_user][1], "a buyer is known"
    assert not sequential["nobody-1"][1]
    assert any(v is not None for v in sequential[trained_shop.known_user][2].values())
    stores: dict[int, int] = {}
    start = threading.Barrier(8)

    def work(seed: int) -> list[tuple[str, tuple[Any, ...]]]:
        start.wait()  # every thread reads at the same moment
        stores[threading.get_ident()] = id(online.online.online_store())
        order = random.Random(seed).sample(users, len(users))
        return [(u, _read(online, u, categories)) for u in order * 3]

    with ThreadPoolExecutor(8) as pool:
        results = [r for rows in pool.map(work, range(8)) for r in rows]
    assert len(results) == 8 * 3 * len(users)
    for user, got in results:
        assert got == sequential[user], user
    assert len(set(stores.values())) == 8, "each thread reads through its own store object"
    assert not online.lock.locked()


def test_candidates_concurrently(online: LockedOnline, trained_shop: TrainedShop) -> None:
    items = [*trained_shop.known_items[:120], "no-such-item"]
    want, _ = online.read_candidates(items)
    assert "no-such-item" not in want and len(want) == len(items) - 1
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: online.read_candidates(items)[0], range(16)))
    assert all(g == want for g in got)


def test_a_shopper_is_one_store_round_trip(
    online: LockedOnline, categories: list[str], trained_shop: TrainedShop
) -> None:
    """One :meth:`OnlineFeatures.fetch` per shopper, one ``online_read`` per view in it
    (snapshot, recent activity, interest in every category)."""
    reader = online.online
    fetches: list[list[str]] = []
    reads: list[int] = []
    fetch, store = reader.fetch, reader.online_store()
    online_read = store.online_read

    def counted_fetch(views: Any) -> Any:
        fetches.append([v.view for v in views])
        return fetch(views)

    def counted_read(config: Any, table: Any, keys: Any, features: Any = None) -> Any:
        reads.append(len(keys))
        return online_read(config, table, keys, features)

    reader.fetch, store.online_read = counted_fetch, counted_read
    try:
        features, known, interest = online.read_user_interest(trained_shop.known_user, categories)
    finally:
        del reader.fetch, store.online_read
    assert known and set(interest) == set(categories) and features
    assert fetches == [["user_features", "recent_activity", "user_category_interest"]]
    assert reads == [1, 1, len(categories)]
