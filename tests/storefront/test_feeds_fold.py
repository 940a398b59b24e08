"""Folding the service's logged events into the events feed (``fold_events``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from storefront.feeds import FeedValidationError, fold_events, read_feeds
from storefront.workspace import Workspace


def _new(events: pl.DataFrame, n: int, suffix: str = "-logged") -> pl.DataFrame:
    return events.head(n).with_columns(pl.col("event_id") + suffix)


def test_fold_adds_each_new_event_once_and_keeps_the_rest_of_the_feed(feed_dir: Path) -> None:
    before = read_feeds(feed_dir)
    assert before.events is not None
    side = Workspace.open(feed_dir).feed_file("ground_truth.npz").read_bytes()
    logged = pl.concat([before.events.tail(4), _new(before.events, 3)])

    folded = fold_events(feed_dir, logged)

    after = read_feeds(feed_dir)
    assert after.events is not None
    assert (folded.added, folded.already, folded.total) == (3, 4, before.events.height + 3)
    assert after.events["event_id"].n_unique() == after.events.height
    assert set(logged["event_id"]) <= set(after.events["event_id"])
    assert after.catalog.equals(before.catalog)  # type: ignore[union-attr]
    assert Workspace.open(feed_dir).feed_file("ground_truth.npz").read_bytes() == side
    assert folded.first_added == logged.tail(3)["timestamp"].min()

    again = fold_events(feed_dir, logged)  # a second fold of the same log adds nothing
    assert (again.added, again.already) == (0, 7)
    assert read_feeds(feed_dir).events.height == after.events.height  # type: ignore[union-attr]


def test_the_feed_copy_of_an_event_wins(feed_dir: Path) -> None:
    events = read_feeds(feed_dir).events
    assert events is not None
    replay = events.head(1).with_columns(pl.lit(99).cast(pl.Int64).alias("quantity"))
    fold_events(feed_dir, replay)
    kept = read_feeds(feed_dir).events.filter(  # type: ignore[union-attr]
        pl.col("event_id") == events["event_id"][0]
    )
    assert kept["quantity"].to_list() == [events["quantity"][0]]


def test_a_logged_event_that_breaks_the_contract_refuses_the_whole_fold(feed_dir: Path) -> None:
    events = read_feeds(feed_dir).events
    assert events is not None
    feed_file = Workspace.open(feed_dir).feed_file("events.parquet")
    written = feed_file.read_bytes()
    bad = _new(events, 2).with_columns(
        pl.Series("item_id", ["i-not-in-the-catalog", events["item_id"][0]])
    )
    with pytest.raises(FeedValidationError, match="not in the catalog"):
        fold_events(feed_dir, bad)
    assert feed_file.read_bytes() == written
