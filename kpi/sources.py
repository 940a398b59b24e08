"""What the KPIs are computed from: the shop's feeds and the service's event log,
combined, and how fresh each is.

The events feed is what the shop exported; the service's event log holds what the
storefront posted to ``POST /events`` since (and before: an event may be in both). The
two are stacked and each ``event_id`` kept once (the feed's copy first), so an event the
shop exported after posting it is counted once. Paths come from the workspace only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from storefront.feeds import Feeds, FeedValidationError, read_feeds, with_optional
from storefront.feeds.logged import (  # noqa: F401  (kpi.sources is where the KPIs read them)
    EVENT_LOG_TABLE,
    combine_events,
    contract_events,
    default_events_url,
    empty_events,
    logged_events,
)
from storefront.feeds.schemas import CATALOG, EVENTS, INVENTORY, PRICES
from storefront.workspace import Workspace

log = logging.getLogger(__name__)

FEED_FILES = tuple(s.file_name for s in (EVENTS, CATALOG, INVENTORY, PRICES))
"""The feeds the KPIs read."""


@dataclass(frozen=True)
class Freshness:
    """How recent the data behind the figures is.

    Attributes:
        feed_events: Events in the events feed.
        feed_last_event: The feed's latest event.
        feed_written_at: When the events feed was written (the file's time).
        service_events: Events in the service's log.
        service_last_event: The log's latest event (its ``timestamp``).
        service_last_received: When the service last received an event.
        duplicates: Events both hold (counted once).
        service_note: Why the service's log was not read, when it was not.
    """

    feed_events: int
    feed_last_event: dt.datetime | None
    feed_written_at: dt.datetime | None
    service_events: int = 0
    service_last_event: dt.datetime | None = None
    service_last_received: dt.datetime | None = None
    duplicates: int = 0
    service_note: str | None = None

    @property
    def last_event(self) -> dt.datetime | None:
        """The latest event of either source."""
        found = [t for t in (self.feed_last_event, self.service_last_event) if t is not None]
        return max(found) if found else None

    def as_dict(self) -> dict[str, object]:
        def iso(moment: dt.datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "feed_events": self.feed_events,
            "feed_last_event": iso(self.feed_last_event),
            "feed_written_at": iso(self.feed_written_at),
            "service_events": self.service_events,
            "service_last_event": iso(self.service_last_event),
            "service_last_received": iso(self.service_last_received),
            "duplicates": self.duplicates,
            "service_note": self.service_note,
            "last_event": iso(self.last_event),
        }


@dataclass(frozen=True)
class ShopData:
    """The frames the KPIs read.

    Attributes:
        events: Feed and service events, each ``event_id`` once, with every optional
            column of the contract (null where unknown).
        catalog: The catalog feed (``unit_cost`` null where unknown).
        inventory: The inventory feed, if any (none: stock is unlimited).
        prices: The prices feed, if any (promotion response needs it).
        freshness: Where the events came from and how recent they are.
    """

    events: pl.DataFrame
    catalog: pl.DataFrame
    inventory: pl.DataFrame | None
    prices: pl.DataFrame | None
    freshness: Freshness


def _written_at(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    except OSError:
        return None


def _last(frame: pl.DataFrame) -> dt.datetime | None:
    value = frame["timestamp"].max() if frame.height else None
    return value if isinstance(value, dt.datetime) else None


def feed_version(data_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """The feed files' names, sizes and modification times: changes whenever a refresh
    replaces the feeds (a cache key)."""
    folder = Workspace(data_dir).feeds
    found = []
    for name in FEED_FILES:
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        found.append((name, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def read_shop_feeds(data_dir: Path) -> Feeds:
    """The shop's validated feeds, with the catalog's ``unit_cost`` (null where unknown).

    Raises:
        FeedValidationError: The events or the catalog feed is missing, or a feed breaks
            the contract.
    """
    feeds = read_feeds(data_dir, required=("catalog",))
    if feeds.events is None:
        raise FeedValidationError(EVENTS.file_name, "feed missing; the KPIs are made of events")
    catalog = with_optional(feeds.catalog, CATALOG, "unit_cost")  # type: ignore[arg-type]
    return Feeds(feeds.events, catalog, feeds.inventory, feeds.prices)


def shop_data(
    data_dir: Path,
    feeds: Feeds,
    logged: tuple[pl.DataFrame, dt.datetime | None, str | None],
) -> ShopData:
    """The frames of the KPIs from the feeds (:func:`read_shop_feeds`) and the service's
    log (:func:`logged_events`): events combined, freshness noted."""
    assert feeds.events is not None and feeds.catalog is not None
    frame, received, note = logged
    events, duplicates = combine_events(feeds.events, frame)
    fresh = Freshness(
        feed_events=feeds.events.height,
        feed_last_event=_last(feeds.events),
        feed_written_at=_written_at(Workspace(data_dir).feed_file(EVENTS.file_name)),
        service_events=frame.height,
        service_last_event=_last(frame),
        service_last_received=received,
        duplicates=duplicates,
        service_note=note,
    )
    return ShopData(events, feeds.catalog, feeds.inventory, feeds.prices, fresh)


def load_shop(data_dir: Path, events_url: str | None) -> ShopData:
    """Read the shop's feeds and the service's event log, and combine the events.

    Args:
        data_dir: The shop folder.
        events_url: The service's event log (``None``: none).

    Raises:
        FeedValidationError: The shop lacks events or a catalog, or a feed breaks the
            contract.
    """
    return shop_data(data_dir, read_shop_feeds(data_dir), logged_events(events_url))
