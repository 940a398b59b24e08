"""The scale profile's Redis online store through the lock-free reader: a shopper's read
matches the embedded store's, and threads sharing one reader get the same answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from features.config import FeatureConfig
from features.online import OnlineFeatures
from features.store import open_store
from simulator import Simulation
from tests.features.test_scale_profile import scale_cfg, scale_dir, services

pytestmark = pytest.mark.slow
__all__ = ["scale_cfg", "scale_dir", "services"]  # the scale profile's fixtures


def test_redis_shopper_reads_match_sqlite_and_threads(
    scale_dir: Path, scale_cfg: FeatureConfig, built_dir: Path, shop: Simulation
) -> None:
    redis = OnlineFeatures(open_store(scale_dir, scale_cfg.store))
    sqlite = OnlineFeatures(open_store(built_dir, FeatureConfig().store))
    assert redis.sqlite_path is None
    categories = sorted(shop.feeds.catalog["category"].unique().to_list())
    users = [*shop.feeds.events["user_id"].tail(20).unique().to_list(), "a-new-shopper"]
    want = {u: sqlite.read_shopper(u, categories) for u in users}
    for user in users:
        got = redis.read_shopper(user, categories)
        assert got.known == want[user].known and got.interest == want[user].interest
        assert got.features["rfm_segment"] == want[user].features["rfm_segment"]
    with ThreadPoolExecutor(6) as pool:
        reads = list(pool.map(lambda u: (u, redis.read_shopper(u, categories)), users * 6))
    assert all(read == redis.read_shopper(u, categories) for u, read in reads)
