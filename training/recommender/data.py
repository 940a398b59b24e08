"""From feeds to what recommenders fit on and are judged by: a temporal split.

Items are positions in the catalogue (every catalogue item, seen or not, so new items
can be ranked); shoppers are kept as ids. ``train`` holds events before the validation
window; a window's cases are the shoppers with target events in it, with their history
(every event before the window) and the items they chose in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from storefront.feeds.schemas import INTERACTION_TYPES
from training.recommender.config import SplitConfig

Window = Literal["validation", "test"]


@dataclass(frozen=True)
class Catalogue:
    """The items and their side features, by position."""

    item_ids: np.ndarray  # (n,) str
    category: np.ndarray  # (n,) int code
    category_names: np.ndarray  # (n,) str
    price_bucket: np.ndarray  # (n,) int, quantile bucket of the base price
    first_seen: np.ndarray  # (n,) datetime64[us], first event (or creation), NaT if never

    @property
    def size(self) -> int:
        return len(self.item_ids)


@dataclass(frozen=True)
class Cases:
    """Shoppers to rank for, in one evaluation window."""

    user_ids: list[str]
    histories: list[np.ndarray]  # item positions, oldest first, before the window
    targets: list[np.ndarray]  # distinct item positions chosen in the window
    bought: list[np.ndarray]  # items bought before the window (for optional exclusion)
    new_items: np.ndarray  # bool (n_items,): first seen in or after the window start
    start: dt.datetime

    @property
    def cold_users(self) -> np.ndarray:
        """Shoppers with no history before the window."""
        return np.array([len(h) == 0 for h in self.histories])


@dataclass(frozen=True)
class Split:
    """Events with item positions, and the moments that cut them into windows."""

    catalogue: Catalogue
    events: pl.DataFrame  # user_id, session_id, item (int), event_type, timestamp; by time
    validation_start: dt.datetime
    test_start: dt.datetime
    end: dt.datetime

    def before(self, moment: dt.datetime) -> pl.DataFrame:
        """Events strictly before ``moment`` (what a model may learn from)."""
        return self.events.filter(pl.col("timestamp") < moment)

    @property
    def train(self) -> pl.DataFrame:
        return self.before(self.validation_start)


def _price_buckets(prices: np.ndarray, buckets: int) -> np.ndarray:
    edges = np.quantile(prices, np.linspace(0, 1, buckets + 1)[1:-1])
    return np.searchsorted(edges, prices, side="right")


def catalogue(catalog: pl.DataFrame, events: pl.DataFrame, buckets: int = 10) -> Catalogue:
    """Item positions with category codes, price buckets and first appearance."""
    first_event = events.group_by("item_id").agg(pl.col("timestamp").min().alias("first"))
    items = catalog.join(first_event, on="item_id", how="left").with_columns(
        first_seen=pl.min_horizontal("first", "created_at")
    )
    return Catalogue(
        item_ids=items["item_id"].to_numpy(),
        category=items["category"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64),
        category_names=items["category"].to_numpy(),
        price_bucket=_price_buckets(items["base_price"].to_numpy(), buckets),
        first_seen=items["first_seen"].dt.replace_time_zone(None).to_numpy(),
    )


def temporal_split(events: pl.DataFrame, catalog: pl.DataFrame, cfg: SplitConfig) -> Split:
    """Cut the events into train / validation / test by time (test = the last days).

    Raises:
        ValueError: The events do not span the two windows plus some training time.
    """
    cat = catalogue(catalog, events)
    end = events["timestamp"].max() + dt.timedelta(microseconds=1)
    test_start = end - dt.timedelta(days=cfg.test_days)
    validation_start = test_start - dt.timedelta(days=cfg.validation_days)
    if events["timestamp"].min() >= validation_start:
        span = end - events["timestamp"].min()
        raise ValueError(
            f"events span {span.days} days: too short for {cfg.validation_days} validation "
            f"and {cfg.test_days} test days plus training time"
        )
    index = pl.DataFrame({"item_id": cat.item_ids, "item": np.arange(cat.size)})
    positioned = (
        events.filter(pl.col("event_type").is_in(INTERACTION_TYPES))  # a return is no choice
        .select("user_id", "session_id", "item_id", "event_type", "timestamp")
        .join(index, on="item_id")
        .drop("item_id")
        .sort("timestamp")
    )
    return Split(cat, positioned, validation_start, test_start, end)


def cases(split: Split, window: Window, cfg: SplitConfig) -> Cases:
    """The shoppers with target events in ``window``, their histories and choices."""
    start = split.validation_start if window == "validation" else split.test_start
    stop = split.test_start if window == "validation" else split.end
    chosen = (
        split.events.filter(
            pl.col("timestamp").is_between(start, stop, closed="left")
            & pl.col("event_type").is_in(cfg.target_events)
        )
        .group_by("user_id")
        .agg(pl.col("item").unique().sort().alias("targets"))
        .sort("user_id")
    )
    past = split.before(start)
    history = past.group_by("user_id", maintain_order=True).agg(pl.col("item").alias("history"))
    bought = (
        past.filter(pl.col("event_type") == "purchase")
        .group_by("user_id")
        .agg(pl.col("item").unique().alias("bought"))
    )
    rows = chosen.join(history, on="user_id", how="left").join(bought, on="user_id", how="left")
    empty = np.array([], dtype=np.int64)

    def arrays(column: str) -> list[np.ndarray]:
        return [np.asarray(v, dtype=np.int64) if v is not None else empty for v in rows[column]]

    moment = np.datetime64(start.replace(tzinfo=None), "us")
    first_seen = split.catalogue.first_seen
    return Cases(
        user_ids=rows["user_id"].to_list(),
        histories=arrays("history"),
        targets=arrays("targets"),
        bought=arrays("bought"),
        new_items=~np.isnat(first_seen) & (first_seen >= moment),
        start=start,
    )


def sample_cases(c: Cases, n: int, seed: int = 0) -> Cases:
    """At most ``n`` of the cases, drawn at random (for fast validation)."""
    if len(c.user_ids) <= n:
        return c
    idx = np.sort(np.random.default_rng(seed).choice(len(c.user_ids), n, replace=False))
    return Cases(
        [c.user_ids[i] for i in idx],
        [c.histories[i] for i in idx],
        [c.targets[i] for i in idx],
        [c.bought[i] for i in idx],
        c.new_items,
        c.start,
    )
