"""Feed directories are written all-or-nothing and read back unchanged."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from simulator import Simulation
from storefront.feeds import FeedValidationError, read_feeds, write_feeds
from storefront.workspace import Workspace


def test_round_trip_keeps_every_table(small_sim: Simulation, feed_dir: Path) -> None:
    feeds = read_feeds(feed_dir)
    for name, table in small_sim.feeds.present().items():
        assert getattr(feeds, name).equals(table), name


def test_rewrite_replaces_the_whole_feed_folder(small_sim: Simulation, feed_dir: Path) -> None:
    feeds = Workspace(feed_dir).feeds
    (feeds / "stale.txt").write_text("from an older load")
    write_feeds({"catalog": small_sim.feeds.catalog}, feed_dir)
    assert sorted(p.name for p in feeds.iterdir()) == ["catalog.parquet"]


def test_failing_side_file_leaves_previous_data(small_sim: Simulation, feed_dir: Path) -> None:
    feeds = Workspace(feed_dir).feeds
    before = sorted(p.name for p in feeds.iterdir())

    def broken_writer(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_feeds(small_sim.feeds, feed_dir, side_files={"extra.bin": broken_writer})
    assert sorted(p.name for p in feeds.iterdir()) == before
    assert sorted(p.name for p in feed_dir.iterdir()) == ["feeds", "workspace.json"]


def test_validation_happens_before_anything_is_written(
    small_sim: Simulation, tmp_path: Path
) -> None:
    target = tmp_path / "new"
    bad = small_sim.feeds.catalog.with_columns(base_price=pl.lit(-1.0))
    with pytest.raises(FeedValidationError):
        write_feeds({"catalog": bad}, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_state_survives_a_feed_rewrite(small_sim: Simulation, feed_dir: Path) -> None:
    store = Workspace(feed_dir).feature_store
    store.mkdir(parents=True)
    (store / "registry.db").write_text("state")
    write_feeds({"catalog": small_sim.feeds.catalog}, feed_dir)
    assert (store / "registry.db").read_text() == "state"
    assert sorted(p.name for p in Workspace(feed_dir).feeds.iterdir()) == ["catalog.parquet"]
