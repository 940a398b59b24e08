"""The feed's events and the service's event log, combined: each event once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kpi.sources import (
    combine_events,
    default_events_url,
    empty_events,
    feed_version,
    load_shop,
    logged_events,
)
from serving.events import EventStore
from storefront.feeds import FeedValidationError, write_feeds
from storefront.workspace import Workspace
from tests.kpi.frames import catalog, events

FEED = [
    ("u1", "s1", "a", "purchase", 0, 1, 10.0, "o1"),
    ("u2", "s2", "b", "view", 1, 1, 5.0),
]


def _logged(rows: list[tuple], first: int) -> pl.DataFrame:
    frame = events(rows)
    ids = [f"svc{first + n}" for n in range(frame.height)]
    return frame.with_columns(event_id=pl.Series(ids))


def test_an_event_in_both_is_counted_once_and_the_feeds_copy_wins() -> None:
    feed = events(FEED)
    logged = pl.concat(
        [
            feed.head(1).with_columns(unit_price=pl.lit(99.0)),  # the same event, logged
            _logged([("u3", "s3", "a", "purchase", 2, 2, 10.0)], 0),
        ]
    )
    combined, both = combine_events(feed, logged)
    assert both == 1 and combined.height == 3
    assert combined["event_id"].to_list() == ["e0000", "e0001", "svc0"]
    assert combined.filter(pl.col("event_id") == "e0000")["unit_price"][0] == 10.0


def test_columns_the_feed_lacks_are_typed_nulls() -> None:
    feed = events(FEED).drop("order_id", "return_reason", "request_id")
    combined, _ = combine_events(feed, empty_events())
    assert combined.schema["order_id"] == pl.String and combined["order_id"].null_count() == 2


def _shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    write_feeds({"events": events(FEED), "catalog": catalog()}, folder)
    return folder


def test_the_service_log_is_read_from_the_shop_and_combined(tmp_path: Path) -> None:
    folder = _shop(tmp_path)
    url = default_events_url(folder)
    assert url == f"sqlite:///{Workspace(folder).event_log}"
    frame, received, note = logged_events(url)
    assert frame.height == 0 and received is None and "no events yet" in (note or "")

    store = EventStore(url)
    posted = _logged(
        [
            ("u3", "s3", "a", "purchase", 2, 2, 10.0, "o7"),
            ("u3", "s3", "a", "return", 3, 1, 10.0, "o7"),
        ],
        0,
    )
    store.append(pl.concat([posted, events(FEED).head(1)]))  # one the feed holds too
    store.close()
    frame, received, note = logged_events(url)
    assert note is None and frame.height == 3 and isinstance(received, dt.datetime)
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert frame.filter(pl.col("event_type") == "return")["order_id"].to_list() == ["o7"]

    data = load_shop(folder, url)
    assert data.events.height == 4  # two of the feed, two only the service has
    fresh = data.freshness
    assert (fresh.feed_events, fresh.service_events, fresh.duplicates) == (2, 3, 1)
    assert fresh.last_event == posted["timestamp"].max()
    assert data.catalog.schema["unit_cost"] == pl.Float64


def test_an_unreadable_log_is_said_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-database.db"
    bad.write_text("this is no SQLite file")
    frame, _, note = logged_events(f"sqlite:///{bad}")
    assert frame.height == 0 and "could not be read" in (note or "")
    assert logged_events(None)[2] == "no service event log configured"


def test_a_shop_without_events_is_refused_and_a_refresh_changes_the_version(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shop"
    write_feeds({"catalog": catalog()}, folder)
    with pytest.raises(FeedValidationError, match=r"events\.parquet"):
        load_shop(folder, None)
    before = feed_version(folder)
    write_feeds({"events": events(FEED), "catalog": catalog()}, folder)
    assert feed_version(folder) != before
