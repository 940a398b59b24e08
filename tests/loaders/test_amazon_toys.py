"""Amazon Toys loader: synthetic timestamps make the temporal split leave-one-out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from loaders import LoadResult, load
from loaders.amazon_toys import CATEGORY, LAST_MOMENT, PLACEHOLDER_PRICE, load_amazon_toys
from storefront.feeds import validate_feeds
from training.recommender.config import SplitConfig
from training.recommender.data import cases, temporal_split


def assert_leave_one_out(result: LoadResult, cfg: SplitConfig) -> None:
    """Every shopper with >= 3 items: one test item (the last), one validation item (the
    one before it), the rest in training."""
    events = result.frames["events"]
    split = temporal_split(events, result.frames["catalog"], cfg)
    by_user = (
        events.sort("timestamp")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item_id"), pl.len().alias("n"))
        .filter(pl.col("n") >= 3)
    )
    item_ids = split.catalogue.item_ids
    for window, back in (("test", 1), ("validation", 2)):
        c = cases(split, window, cfg)
        targets = {u: item_ids[t].tolist() for u, t in zip(c.user_ids, c.targets, strict=True)}
        history = dict(zip(c.user_ids, (len(h) for h in c.histories), strict=True))
        for user, items, n in by_user.iter_rows():
            assert targets[user] == [items[-back]], (window, user)
            assert history[user] == n - back, (window, user)
    train_counts = split.train.group_by("user_id").len()
    expected = by_user.select("user_id", (pl.col("n") - 2).alias("len"))
    joined = expected.join(train_counts, on="user_id", how="left", suffix="_train")
    assert (joined["len"] == joined["len_train"]).all()


@pytest.fixture
def synthetic(tmp_path: Path) -> LoadResult:
    rng = np.random.default_rng(0)
    rows = []
    for user in range(30):
        n = int(rng.integers(1, 12))
        items = rng.choice(40, size=n, replace=False)
        rows += [(f"u{user}", f"i{item}", pos) for pos, item in enumerate(items)]
    rows.append((None, "i1", 0))  # dropped
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "position"], orient="row")
    frame = frame.sample(fraction=1.0, shuffle=True, seed=1).with_columns(
        pl.col("position").cast(pl.Int32)
    )
    path = tmp_path / "toys.parquet"
    frame.write_parquet(path)
    return load_amazon_toys(path)


def test_synthetic_feeds_valid_and_order_kept(synthetic: LoadResult):
    validate_feeds(synthetic.frames)
    assert synthetic.dropped == {"missing_id": 1}
    events = synthetic.frames["events"]
    assert events["timestamp"].max() == LAST_MOMENT
    assert (events["event_type"] == "purchase").all()
    assert events["session_id"].n_unique() == events.height
    ordered = events.sort("timestamp").group_by("user_id", maintain_order=True).agg("event_id")
    for ids in ordered["event_id"]:
        positions = [int(i.rsplit("-", 1)[1]) for i in ids]
        assert positions == sorted(positions)
    catalog = synthetic.frames["catalog"]
    assert catalog["category"].unique().to_list() == [CATEGORY]
    assert catalog["base_price"].unique().to_list() == [PLACEHOLDER_PRICE]


def test_synthetic_split_is_leave_one_out(synthetic: LoadResult):
    assert_leave_one_out(synthetic, SplitConfig())


@pytest.mark.real_data
def test_real_split_is_leave_one_out():
    result = load("amazon_toys")
    assert result.source_rows == result.kept_rows == 167_597
    events = result.frames["events"]
    assert events["user_id"].n_unique() == 19_412
    assert result.frames["catalog"].height == 11_924
    validate_feeds(result.frames)
    assert_leave_one_out(result, SplitConfig())
