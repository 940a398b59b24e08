"""What the service knows of the shop from its feeds: catalogue, feed prices, popularity.

Read once at start and on ``/admin/reload``. Popularity from the events feed is the
last-resort answer when no model can be loaded at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from storefront.feeds import read_feeds, with_optional
from storefront.feeds.schemas import CATALOG, INTERACTION_TYPES

POPULAR_DAYS = 14
LOWEST_PRICE_DAYS = 30


@dataclass(frozen=True)
class FeedPrice:
    """An item's price in the prices feed (or its base price) and its 30-day lowest."""

    price: float
    lowest_30d: float | None
    promo: bool


@dataclass(frozen=True)
class Shop:
    """Catalogue, feed prices and popularity of a shop.

    Attributes:
        categories: Item id -> category.
        prices: Item id -> feed price.
        popular: Item ids by recent popularity (weighted views, carts, purchases).
        unit_costs: Item id -> unit cost, where the catalogue has it (profit of sales).
    """

    categories: dict[str, str]
    prices: dict[str, FeedPrice]
    popular: list[str]
    unit_costs: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> Shop:
        """Read the feeds in ``data_dir`` (catalog required; prices and events optional)."""
        feeds = read_feeds(data_dir, required=("catalog",))
        catalog = feeds.catalog
        categories = dict(zip(catalog["item_id"], catalog["category"], strict=True))
        prices = {
            item: FeedPrice(float(base), None, False)
            for item, base in zip(catalog["item_id"], catalog["base_price"], strict=True)
        }
        if feeds.prices is not None and feeds.prices.height:
            prices |= _feed_prices(feeds.prices)
        popular = list(categories)
        if feeds.events is not None and feeds.events.height:
            popular = _popular(feeds.events, popular)
        costs = with_optional(catalog, CATALOG, "unit_cost").select("item_id", "unit_cost")
        costs = costs.drop_nulls()
        unit_costs = dict(zip(costs["item_id"], costs["unit_cost"], strict=True))
        return cls(categories, prices, popular, unit_costs)


def _feed_prices(prices: pl.DataFrame) -> dict[str, FeedPrice]:
    """Latest price per item, and the lowest in force during the last 30 days."""
    end = prices["valid_from"].max()
    start = end - dt.timedelta(days=LOWEST_PRICE_DAYS)  # type: ignore[operator]
    ordered = prices.sort("item_id", "valid_from")
    in_force_at_start = (
        ordered.filter(pl.col("valid_from") <= start)
        .group_by("item_id")
        .last()
        .select("item_id", "price")
    )
    window = pl.concat(
        [in_force_at_start, ordered.filter(pl.col("valid_from") > start).select("item_id", "price")]
    )
    lowest = window.group_by("item_id").agg(pl.col("price").min().alias("lowest"))
    latest = ordered.group_by("item_id").last().join(lowest, on="item_id", how="left")
    return {
        item: FeedPrice(float(price), None if low is None else float(low), bool(promo))
        for item, price, low, promo in latest.select(
            "item_id", "price", "lowest", "promo"
        ).iter_rows()
    }


def _popular(events: pl.DataFrame, items: list[str]) -> list[str]:
    """Items by weighted recent interactions (purchase 5, cart 3, view 1; returns do not
    count), then the rest."""
    events = events.filter(pl.col("event_type").is_in(INTERACTION_TYPES))
    if events.is_empty():
        return list(items)
    since = events["timestamp"].max() - dt.timedelta(days=POPULAR_DAYS)  # type: ignore[operator]
    weight = (
        pl.when(pl.col("event_type") == "purchase")
        .then(5)
        .when(pl.col("event_type") == "add_to_cart")
        .then(3)
        .otherwise(1)
    )
    ranked = (
        events.filter(pl.col("timestamp") >= since)
        .group_by("item_id")
        .agg(weight.sum().alias("w"))
        .sort(["w", "item_id"], descending=[True, False])["item_id"]  # ties: by id
        .to_list()
    )
    seen = set(ranked)
    return ranked + [i for i in items if i not in seen]
