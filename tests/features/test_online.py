"""Online reads for serving: known and unknown shoppers and items, in one request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from features.config import store_dir
from features.online import MAX_ITEMS, OnlineFeatures
from features.tables import ITEM
from simulator import Simulation


@pytest.fixture(scope="module")
def reader(store: Any) -> OnlineFeatures:
    return OnlineFeatures(store)


def _latest_items(built_dir: Path) -> pl.DataFrame:
    table = pl.read_parquet(ITEM.offline_dir(store_dir(built_dir)) / "*.parquet")
    return table.sort("event_timestamp").group_by("item_id").last()


def test_one_user_and_many_items(reader: OnlineFeatures, built_dir: Path, shop: Simulation) -> None:
    latest = _latest_items(built_dir)
    items = latest["item_id"].head(150).to_list()
    user = shop.feeds.events["user_id"][-1]
    read = reader.read(user, items)
    assert read.user_known and read.items_known.all()
    assert read.items["item_id"].to_list() == items
    expected = latest.filter(pl.col("item_id").is_in(items)).sort("item_id")
    got = read.items.sort("item_id")
    for column in ("views_7d", "price", "lowest_price_30d", "on_hand"):
        assert got[column].to_list() == pytest.approx(expected[column].cast(pl.Float64).to_list())
    assert read.user["last_viewed_items"], "recent activity comes with the shopper"


def test_unknown_entities_get_defaults(reader: OnlineFeatures, built_dir: Path) -> None:
    known = _latest_items(built_dir)["item_id"][0]
    read = reader.read("a-new-shopper", [known, "a-new-item"])
    assert not read.user_known
    assert read.user["rfm_segment"] == "prospect" and read.user["lifecycle_stage"] == "new"
    assert read.user["views_7d"] == 0 and read.user["last_viewed_items"] == []
    assert read.user["recency_days"] is None, "unknown, not zero"
    assert read.items_known.to_list() == [True, False]
    new_item = read.items.row(1, named=True)
    assert new_item["views_30d"] == 0 and new_item["price"] is None


def test_empty_and_oversized_requests(reader: OnlineFeatures) -> None:
    read = reader.read("u000001", [])
    assert read.items.is_empty()
    with pytest.raises(ValueError, match=f"at most {MAX_ITEMS}"):
        reader.read("u000001", [f"i{k}" for k in range(MAX_ITEMS + 1)])
