"""The same definitions on the scale profile: Redis online store, Postgres SQL registry.

The servers are started on loopback by ``scripts/services.sh`` (installed from Debian
packages when missing). If they cannot start, these tests fail with the reason.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from features.build import build_features, reset_store
from features.config import FeatureConfig, StoreConfig
from features.online import OnlineFeatures
from features.realtime import RecentActivity
from features.store import open_store
from features.training_sets import training_set
from simulator import Simulation
from storefront.config import PROJECT_ROOT
from storefront.feeds import write_feeds

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services() -> dict[str, str]:
    script = PROJECT_ROOT / "scripts" / "services.sh"
    done = subprocess.run(
        ["bash", str(script), "start"], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"scale services did not start:\n{done.stderr[-3000:]}")
    return dict(line.split("=", 1) for line in done.stdout.split())


@pytest.fixture(scope="module")
def scale_cfg(services: dict[str, str]) -> FeatureConfig:
    store = StoreConfig(
        project=f"test_{uuid.uuid4().hex[:8]}",  # isolates this run in the shared servers
        online_store="redis",
        redis_connection_string=services["STOREFRONT_TEST_REDIS"],
        registry="sql",
        registry_url=services["STOREFRONT_TEST_POSTGRES"],
    )
    return FeatureConfig(store=store)


@pytest.fixture(scope="module")
def scale_dir(
    shop: Simulation, scale_cfg: FeatureConfig, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    path = tmp_path_factory.mktemp("scale") / "feeds"
    write_feeds(shop.feeds, path)
    build_features(path, scale_cfg)
    yield path
    reset_store(path, scale_cfg)


def test_online_reads_match_the_embedded_store(
    scale_dir: Path, scale_cfg: FeatureConfig, built_dir: Path, shop: Simulation
) -> None:
    scale = OnlineFeatures(open_store(scale_dir, scale_cfg.store))
    embedded = OnlineFeatures(open_store(built_dir, FeatureConfig().store))
    user = shop.feeds.events["user_id"][-1]
    items = shop.feeds.catalog["item_id"].head(100).to_list()
    got, want = scale.read(user, items), embedded.read(user, items)
    assert got.user_known and got.items_known.all()
    assert {k: got.user[k] for k in ("frequency", "rfm_segment", "views_30d")} == {
        k: want.user[k] for k in ("frequency", "rfm_segment", "views_30d")
    }
    assert got.items.equals(want.items)


def test_push_is_readable_within_a_second(scale_dir: Path, scale_cfg: FeatureConfig) -> None:
    store = open_store(scale_dir, scale_cfg.store)
    reader, recent = OnlineFeatures(store), RecentActivity(store, scale_cfg.recent)
    event = pl.DataFrame(
        {
            "user_id": ["scale-user"],
            "session_id": ["s"],
            "item_id": ["i-x"],
            "event_type": ["view"],
            "timestamp": [dt.datetime.now(dt.UTC)],
        }
    )
    started = time.perf_counter()
    recent.push(event)
    features, _ = reader.read_user("scale-user")
    assert features["last_viewed_items"] == ["i-x"]
    assert time.perf_counter() - started < 1.0


def test_training_sets_through_the_sql_registry(
    scale_dir: Path, scale_cfg: FeatureConfig, shop: Simulation
) -> None:
    store = open_store(scale_dir, scale_cfg.store)
    rows = shop.feeds.events.filter(pl.col("event_type") == "purchase").tail(20)
    got = training_set(
        store, rows.select("user_id", event_timestamp="timestamp"), ["user_features:frequency"]
    )
    assert got.height == 20 and got["frequency"].null_count() < 20
