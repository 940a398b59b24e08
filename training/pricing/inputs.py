"""What a price proposal for one day reads: each item's state from the feature store and
feeds, its forecast at today's price, and its elasticity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from features.config import store_dir
from features.tables import ITEM
from storefront.feeds import read_feeds
from training.demand.forecast import read_forecasts
from training.elasticity.pipeline import read_estimates
from training.pricing.publish import price_history

STATE_COLUMNS = ("days_of_cover", "on_order", "on_hand", "lowest_price_30d")


def _day_start(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


def feed_prices(data_dir: Path, date: dt.date, prices: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each item's list price in force at the start of ``date``: the latest published
    price in effect by then, else the prices feed's (``prices``, read from ``data_dir``
    when not given)."""
    if prices is None:
        prices = read_feeds(data_dir, required=("prices",)).prices
    start = _day_start(date)
    listed = (
        prices.filter(pl.col("valid_from") <= start)
        .sort("valid_from")
        .group_by("item_id")
        .agg(current_price=pl.col("price").last())
    )
    published = (
        price_history(data_dir)
        .filter(pl.col("valid_from") <= start)
        .sort("valid_from", "approved_at")
        .group_by("item_id")
        .last()
    )
    return (
        listed.join(published.select("item_id", published_price="price"), on="item_id", how="left")
        .select("item_id", pl.coalesce("published_price", "current_price").alias("current_price"))
    )  # fmt: skip


def item_states(data_dir: Path, date: dt.date) -> pl.DataFrame:
    """One row per catalog item with a price on ``date``: item_id, category, base_price,
    unit_cost, current_price and the feature store's stock and 30-day lowest price from
    the last snapshot at or before the start of ``date``.

    Raises:
        ValueError: The feature store has no item snapshot before ``date``.
    """
    feeds = read_feeds(data_dir, required=("catalog", "prices"))
    folder = ITEM.offline_dir(store_dir(data_dir))
    if not any(folder.glob("*.parquet")):
        raise ValueError(
            f"no item features in the feature store of {data_dir}; run `storefront features build`"
        )
    snapshots = (
        pl.scan_parquet(folder / "*.parquet")
        .filter(pl.col("event_timestamp") <= _day_start(date))
        .sort("event_timestamp")
        .group_by("item_id")
        .agg(pl.col(c).last() for c in STATE_COLUMNS)
        .collect()
    )
    if snapshots.is_empty():
        raise ValueError(f"date: the feature store has no item snapshot before {date}")
    return (
        feeds.catalog.select("item_id", "category", "base_price", "unit_cost")
        .join(feed_prices(data_dir, date, feeds.prices), on="item_id")
        .join(snapshots, on="item_id", how="left")
        .sort("item_id")
    )


def forecast_for(data_dir: Path, date: dt.date) -> pl.DataFrame:
    """Expected units of each item on ``date`` at its current price (summed over
    locations), from the batch forecasts.

    Raises:
        ValueError: ``date`` is outside the forecast horizon.
    """
    forecasts = read_forecasts(data_dir)
    day = forecasts.filter(pl.col("period_start") == date)
    if day.is_empty():
        first, last = forecasts["period_start"].min(), forecasts["period_start"].max()
        raise ValueError(
            f"date: {date} is outside the forecasts ({first} to {last}); "
            "retrain with `storefront train demand` or pick a date in range"
        )
    return day.group_by("item_id").agg(
        forecast=pl.col("forecast").sum(), p10=pl.col("p10").sum(), p90=pl.col("p90").sum()
    )


def proposal_inputs(data_dir: Path, date: dt.date) -> pl.DataFrame:
    """Item state, forecast and elasticity joined: the optimiser's input for ``date``.
    Items without a forecast or an estimate keep their price (they are left out)."""
    elasticity = read_estimates(data_dir).select("item_id", "elasticity", "ci_low", "ci_high")
    return (
        item_states(data_dir, date)
        .join(forecast_for(data_dir, date), on="item_id")
        .join(elasticity, on="item_id")
    )
