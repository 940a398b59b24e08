"""The pipelines run on a real shop's feeds (UCI Online Retail), not only the simulator's."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from features.build import build_features
from features.config import FeatureConfig, store_dir
from features.online import OnlineFeatures
from features.store import open_store
from features.tables import DEMAND, RECENT, USER, USER_CATEGORY
from loaders import load
from storefront.feeds import write_feeds
from storefront.workspace import Workspace

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def retail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("retail") / "feeds"
    write_feeds(load("online_retail").frames, path)
    return path


def test_online_retail_builds_every_table(retail_dir: Path) -> None:
    report = build_features(retail_dir, FeatureConfig())
    assert report.new_rows[RECENT.name] == 4334, "one recent-activity row per customer"
    assert all(report.new_rows[t.name] > 0 for t in (USER, USER_CATEGORY, DEMAND))

    users = pl.read_parquet(USER.offline_dir(store_dir(retail_dir)) / "*.parquet")
    last = users.filter(pl.col("event_timestamp") == pl.col("event_timestamp").max())
    events = pl.read_parquet(Workspace(retail_dir).feed_file("events.parquet"))
    assert last.height == events["user_id"].n_unique() == 4362, (
        "one row per customer, those with only returns (their purchases before the data) too"
    )
    bought = events.filter(pl.col("event_type") == "purchase")
    invoices = bought.group_by("user_id").agg(pl.col("session_id").n_unique().alias("orders"))
    check = last.join(invoices, on="user_id")
    assert (check["frequency"] == check["orders"]).all()
    segments = set(last["rfm_segment"].unique())
    assert {"champions", "hibernating", "at_risk"} <= segments

    reader = OnlineFeatures(open_store(retail_dir, FeatureConfig().store))
    top = check.sort("frequency", descending=True)["user_id"][0]
    features, known = reader.read_user(top)
    assert known and features["rfm_segment"] in {"champions", "loyal"}
