"""Feature tables on a Ray cluster (``engine: ray``): user tables partitioned by shopper,
item tables by item.

Each partition is one Ray task that reads its slice of the shop's feed parquet files (a
range of the sorted shopper or item ids) and runs the local build's pipelines on it; the
driver concatenates the slices. What needs the whole population is computed once: the
day grid's first and last days, the categories of the interest profile and the demand
panel's period length are passed to every partition, and the ranks across all shoppers
or items of a day (the RFM quintiles, the popularity rank) are recomputed over the
concatenated table before the item vectors are packed. The tables are the local build's,
row for row and value for value.

Every node must read the feed files at the same path (on a multi-node cluster, the shop
folder lives on shared storage).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features.config import FeatureConfig, UserFeatureConfig
from features.pipelines.affinity import category_days, user_category_interest, user_interest_profile
from features.pipelines.daily import TIMESTAMP, day_of
from features.pipelines.demand import demand_rows, period_days, sales_from_items
from features.pipelines.item import item_features, pack_item_vectors, popularity_rank
from features.pipelines.recent import recent_activity
from features.pipelines.user import rfm_scores, rfm_segment, user_features
from features.tables import DEMAND, ITEM, ITEM_SERVING, RECENT, USER, USER_CATEGORY, Table
from storefront.engine import RayConfig, connect
from storefront.feeds import Feeds, validate_frame
from storefront.feeds.schemas import FEED_NAMES, INTERACTION_TYPES, SCHEMAS
from storefront.progress import progress_bar
from storefront.workspace import Workspace

log = logging.getLogger(__name__)

Bounds = tuple[str, str]
"""A partition: the first and last key (inclusive) of a range of sorted ids."""


@dataclass(frozen=True)
class FeedFiles:
    """Absolute paths of a shop's feed files, which every Ray worker reads."""

    paths: dict[str, str]

    @classmethod
    def of(cls, data_dir: Path) -> FeedFiles:
        """The feed files present in the shop folder ``data_dir``."""
        workspace = Workspace.open(data_dir)
        files = {name: workspace.feed_file(SCHEMAS[name].file_name) for name in FEED_NAMES}
        return cls({name: str(path) for name, path in files.items() if path.exists()})

    def read(
        self, name: str, key: str | None = None, bounds: Bounds | None = None
    ) -> pl.DataFrame | None:
        """One feed in canonical form (``None`` when absent), only the rows whose ``key``
        lies in ``bounds`` when given (parquet filters are pushed into the scan)."""
        if name not in self.paths:
            return None
        frame = pl.scan_parquet(self.paths[name])
        if key is not None and bounds is not None:
            low, high = (pl.lit(bound, pl.String) for bound in bounds)
            frame = frame.filter(pl.col(key).cast(pl.String).is_between(low, high))
        return validate_frame(SCHEMAS[name], frame.collect())

    def require(
        self, name: str, key: str | None = None, bounds: Bounds | None = None
    ) -> pl.DataFrame:
        """Like :meth:`read`, for a feed the stage cannot do without.

        Raises:
            FileNotFoundError: The worker does not see the feed file (on a multi-node
                cluster, the shop folder must be on storage every node mounts).
        """
        frame = self.read(name, key, bounds)
        if frame is None:
            raise FileNotFoundError(f"feed {name} missing on this Ray worker")
        return frame


def key_ranges(keys: pl.Series, partitions: int) -> list[Bounds]:
    """Split the distinct ``keys`` (sorted) into at most ``partitions`` contiguous ranges
    of about equal size: each key falls in exactly one range, on every node alike."""
    unique = keys.cast(pl.String).unique().sort()
    count = min(partitions, unique.len())
    edges = np.linspace(0, unique.len(), count + 1).round().astype(int)
    return [(unique[int(lo)], unique[int(hi) - 1]) for lo, hi in pairwise(edges)]


# --- the partitions (each one Ray task) -----------------------------------------------


def user_partition(
    files: FeedFiles, bounds: Bounds, categories: list[str], last_day: dt.date, cfg: FeatureConfig
) -> dict[str, pl.DataFrame]:
    """The user-keyed tables of the shoppers in ``bounds``: user features (RFM scores
    still partition-wide), user × category interest and recent activity."""
    events = files.require("events", "user_id", bounds).lazy()
    catalog = files.require("catalog").lazy()
    scored = category_days(events, catalog, cfg.affinity)
    profile = user_interest_profile(
        scored, cfg.user.top_categories, pl.Series(categories, dtype=pl.String)
    )
    return {
        USER.name: user_features(events, catalog, profile, last_day, cfg.user),
        USER_CATEGORY.name: user_category_interest(scored),
        RECENT.name: recent_activity(events, cfg.recent),
    }


def item_partition(
    files: FeedFiles, bounds: Bounds, first_day: dt.date, last_day: dt.date, cfg: FeatureConfig
) -> pl.DataFrame:
    """The item features of the items in ``bounds`` (popularity rank partition-wide)."""

    def optional(name: str) -> pl.LazyFrame | None:
        frame = files.read(name, "item_id", bounds)
        return None if frame is None else frame.lazy()

    return item_features(
        files.require("events", "item_id", bounds).lazy(),
        files.require("catalog", "item_id", bounds).lazy(),
        optional("prices"),
        optional("inventory"),
        first_day,
        last_day,
        cfg.item,
    )


def demand_partition(
    files: FeedFiles, bounds: Bounds, days: int, cfg: FeatureConfig
) -> pl.DataFrame:
    """Demand rows of the sales feed's items in ``bounds`` (whole series per item)."""
    return demand_rows(files.require("sales", "item_id", bounds), cfg.demand, days)


def derived_demand_partition(items: pl.DataFrame, days: int, cfg: FeatureConfig) -> pl.DataFrame:
    """Demand rows derived from one partition's item features (no sales feed)."""
    return demand_rows(sales_from_items(items, cfg.demand.location_id), cfg.demand, days)


# --- what needs every shopper or item --------------------------------------------------


def scored_categories(feeds: Feeds) -> list[str]:
    """The categories the shop's interactions touch (the interest profile's columns)."""
    interactions = feeds.events.lazy().filter(pl.col("event_type").is_in(INTERACTION_TYPES))
    touched = interactions.join(feeds.catalog.lazy().select("item_id", "category"), on="item_id")
    return touched.select(pl.col("category").unique().sort()).collect().to_series().to_list()


def with_rfm_scores(users: pl.DataFrame, cfg: UserFeatureConfig) -> pl.DataFrame:
    """User features with RFM scores and segments ranked among every shopper of the day."""
    return (
        users.with_columns(day=pl.col(TIMESTAMP))
        .with_columns(*rfm_scores())
        .with_columns(rfm_segment=rfm_segment(cfg))
        .drop("day")
    )


def with_popularity_rank(items: pl.DataFrame) -> pl.DataFrame:
    """Item features with the popularity rank among every item of the day."""
    return (
        items.with_columns(day=pl.col(TIMESTAMP))
        .with_columns(popularity_rank=popularity_rank())
        .drop("day")
    )


# --- the driver -------------------------------------------------------------------------


def gather(ray: Any, refs: Sequence[Any], stage: str) -> list[Any]:
    """Wait for a stage's tasks with a progress bar (tasks done / total); their results
    in the order of ``refs``."""
    pending = list(refs)
    with progress_bar(f"{stage} on Ray", len(pending)) as advance:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            advance(len(done))
    return ray.get(list(refs))


def _submit(ray: Any, cfg: RayConfig, task: Callable[..., Any], calls: list[tuple]) -> list[Any]:
    remote = ray.remote(num_cpus=cfg.cpus_per_worker)(task)
    return [remote.remote(*args) for args in calls]


def compute_tables_on_ray(
    data_dir: Path, feeds: Feeds, cfg: FeatureConfig, ray_cfg: RayConfig, last_day: dt.date
) -> dict[Table, pl.DataFrame]:
    """Every feature table the feeds allow, as :func:`features.build.compute_tables`
    computes them, partitioned on the Ray cluster of ``ray_cfg``.

    Args:
        data_dir: The shop folder (its feed files are read by the workers).
        feeds: The validated feeds (the driver reads keys and global values from them).
        cfg: Feature settings.
        ray_cfg: The cluster's address and the number of partitions.
        last_day: The last day with data (the end of every daily grid).

    Returns:
        The feature tables, by table.

    Raises:
        ValueError: No Ray cluster answers at ``ray_cfg.address``.
    """
    ray = connect(ray_cfg)
    files = FeedFiles.of(data_dir)
    parts = ray_cfg.partitions
    log.info("feature tables on Ray: up to %d partitions per stage over %s", parts, files.paths)
    tables: dict[Table, pl.DataFrame] = {}
    item_refs: list[Any] = []
    if feeds.events is not None:
        feeds.require("catalog")
        categories = scored_categories(feeds)
        first_day = feeds.events.select(day_of(pl.col("timestamp")).min()).item()
        user_calls = [
            (files, bounds, categories, last_day, cfg)
            for bounds in key_ranges(feeds.events["user_id"], parts)
        ]
        item_calls = [
            (files, bounds, first_day, last_day, cfg)
            for bounds in key_ranges(feeds.catalog["item_id"], parts)
        ]
        user_refs = _submit(ray, ray_cfg, user_partition, user_calls)
        item_refs = _submit(ray, ray_cfg, item_partition, item_calls)
        users = gather(ray, user_refs, f"user tables ({len(user_refs)} shopper partitions)")
        items = gather(ray, item_refs, f"item tables ({len(item_refs)} item partitions)")
        by_user = {t: pl.concat([part[t.name] for part in users]) for t in (USER, USER_CATEGORY)}
        tables[USER] = with_rfm_scores(by_user[USER], cfg.user)
        tables[USER_CATEGORY] = by_user[USER_CATEGORY]
        tables[ITEM] = with_popularity_rank(pl.concat(items))
        tables[ITEM_SERVING] = pack_item_vectors(tables[ITEM])
        tables[RECENT] = pl.concat([part[RECENT.name] for part in users])
    if feeds.sales is not None:
        days = period_days(feeds.sales)
        calls = [(files, b, days, cfg) for b in key_ranges(feeds.sales["item_id"], parts)]
        refs = _submit(ray, ray_cfg, demand_partition, calls)
    elif item_refs:
        days = period_days(sales_from_items(tables[ITEM], cfg.demand.location_id))
        calls = [(ref, days, cfg) for ref in item_refs]
        refs = _submit(ray, ray_cfg, derived_demand_partition, calls)
    else:
        return tables
    tables[DEMAND] = pl.concat(gather(ray, refs, f"demand rows ({len(refs)} item partitions)"))
    return tables
