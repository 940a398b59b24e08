"""What a price proposal for one day reads: each item's state from the feature store and
feeds, its forecast at today's price, and its elasticity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from features.config import store_dir
from features.tables import ITEM
from storefront.feeds import read_feeds, with_optional
from storefront.feeds.schemas import CATALOG
from training.demand.forecast import read_forecasts
from training.elasticity.pipeline import read_estimates
from training.pricing.ledger import prices_in_force

STATE_COLUMNS = ("days_of_cover", "on_order", "on_hand", "lowest_price_30d")
OWN = "own"
CATEGORY = "category"
KEEP = "keep"
"""What pricing does with an item's elasticity: use its ``own`` estimate, its
``category``'s (the item's is implausible), or ``keep`` today's price (both are)."""


def _day_start(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)


def _listed(prices: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """Each item's price in the prices feed at ``at`` (item_id, list_price)."""
    return (
        prices.filter(pl.col("valid_from") <= at)
        .sort("valid_from")
        .group_by("item_id")
        .agg(list_price=pl.col("price").last())
    )


def feed_prices(data_dir: Path, date: dt.date, prices: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each item's list price in force at the start of ``date``: the ledger's price in
    force then, else the prices feed's (``prices``, read from ``data_dir`` when not
    given), else, for a shop without a prices feed, the catalogue's base price."""
    start = _day_start(date)
    listed = _listed(prices, start) if prices is not None else list_prices(data_dir, start)
    ledger = prices_in_force(data_dir, start).select("item_id", ledger_price="price")
    return listed.join(ledger, on="item_id", how="left").select(
        "item_id", current_price=pl.coalesce("ledger_price", "list_price")
    )


def list_prices(data_dir: Path, at: dt.datetime) -> pl.DataFrame:
    """Every catalogue item's price without the ledger at ``at``: the prices feed's in
    force then, else the catalogue's base price (item_id, list_price)."""
    feeds = read_feeds(data_dir, required=("catalog",))
    listed = _listed(feeds.prices, at) if feeds.prices is not None else None
    catalog = feeds.catalog.select("item_id", base="base_price")
    if listed is None:
        return catalog.select("item_id", list_price="base")
    return catalog.join(listed, on="item_id", how="left").select(
        "item_id", list_price=pl.coalesce("list_price", "base")
    )


def item_states(data_dir: Path, date: dt.date) -> pl.DataFrame:
    """One row per catalog item with a price on ``date``: item_id, category, base_price,
    unit_cost, current_price and the feature store's stock and 30-day lowest price from
    the last snapshot at or before the start of ``date``.

    Raises:
        ValueError: The feature store has no item snapshot before ``date``.
    """
    feeds = read_feeds(data_dir, required=("catalog",))
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
        with_optional(feeds.catalog, CATALOG, "unit_cost")
        .select("item_id", "category", "base_price", "unit_cost")
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


def priced_elasticities(estimates: pl.DataFrame) -> pl.DataFrame:
    """The elasticity pricing uses per item: its own estimate where plausible, else its
    category's where that is plausible, else none (today's price stays).

    Args:
        estimates: The elasticity table (``training.elasticity.pipeline.COLUMNS``); a
            table from before the plausibility flags counts every estimate plausible.

    Returns:
        item_id, elasticity, ci_low, ci_high (those used), item_elasticity (the item's
        own estimate), elasticity_flags and elasticity_source (:data:`OWN`,
        :data:`CATEGORY` or :data:`KEEP`; with ``keep`` the item's own figures stay).
    """
    table = estimates
    if "implausible" not in table.columns:
        table = table.with_columns(
            flags=pl.lit([], pl.List(pl.String)), implausible=False, category_implausible=True,
            category_elasticity=pl.col("elasticity"), category_ci_low=pl.col("ci_low"),
            category_ci_high=pl.col("ci_high"),
        )  # fmt: skip
    source = (
        pl.when(~pl.col("implausible"))
        .then(pl.lit(OWN))
        .when(~pl.col("category_implausible"))
        .then(pl.lit(CATEGORY))
        .otherwise(pl.lit(KEEP))
    )
    table = table.with_columns(elasticity_source=source)
    use = pl.col("elasticity_source") == CATEGORY
    return table.select(
        "item_id",
        pl.when(use).then("category_elasticity").otherwise("elasticity").alias("elasticity"),
        pl.when(use).then("category_ci_low").otherwise("ci_low").alias("ci_low"),
        pl.when(use).then("category_ci_high").otherwise("ci_high").alias("ci_high"),
        pl.col("elasticity").alias("item_elasticity"),
        pl.col("flags").alias("elasticity_flags"),
        "elasticity_source",
    )


def proposal_inputs(data_dir: Path, date: dt.date) -> pl.DataFrame:
    """Item state, forecast and elasticity joined: the optimiser's input for ``date``.
    Items without a forecast or an estimate keep their price (they are left out); an
    implausible estimate is replaced as :func:`priced_elasticities` says."""
    elasticity = priced_elasticities(read_estimates(data_dir))
    return (
        item_states(data_dir, date)
        .join(forecast_for(data_dir, date), on="item_id")
        .join(elasticity, on="item_id")
    )
