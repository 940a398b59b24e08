"""``storefront features build``: feeds → Polars pipelines → offline tables → Feast.

Incremental: the store remembers the last day it has built (``state.json``). A run
computes the tables, keeps only rows after that day, writes them as a new parquet part,
applies the definitions and materializes just the new interval. Running again with no
new feed data changes nothing. Events arriving late (older than the last built day) are
not picked up; ``rebuild=True`` recomputes everything.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from features.config import FeatureConfig, store_dir
from features.definitions import feast_objects
from features.pipelines.affinity import category_days, user_category_interest, user_interest_profile
from features.pipelines.daily import TIMESTAMP, day_of, end_of_day
from features.pipelines.demand import demand_rows, sales_from_items
from features.pipelines.item import item_features, pack_item_vectors
from features.pipelines.recent import recent_activity
from features.pipelines.user import user_features
from features.store import STATE_FILE, open_store, ttl
from features.tables import DEMAND, ITEM, ITEM_SERVING, RECENT, USER, USER_CATEGORY, Table
from storefront.engine import EngineConfig
from storefront.feeds import Feeds, read_feeds

log = logging.getLogger(__name__)

Step = Callable[[str], None]
"""Progress callback: called with the name of each step as it starts."""


@dataclass
class BuildReport:
    """What a build did."""

    built_through: dt.date | None
    new_rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    events: int = 0
    engine: str = "local"
    """Where the tables were computed: ``local``, or ``ray`` (with the cluster's address)."""

    @property
    def up_to_date(self) -> bool:
        """True when there was nothing new to add."""
        return not any(self.new_rows.values())


def _last_day(feeds: Feeds) -> dt.date:
    days = []
    if feeds.events is not None:
        days.append(feeds.events.select(day_of(pl.col("timestamp")).max()).item())
    if feeds.sales is not None:
        days.append(feeds.sales["period_start"].max())
    if not days:
        raise ValueError(
            "features build needs an events or a sales feed (events.parquet or sales.parquet); "
            "the shop has neither"
        )
    return max(days)


def compute_tables(feeds: Feeds, cfg: FeatureConfig) -> dict[Table, pl.DataFrame]:
    """Every feature table the feeds allow (events → user, item, interest, recent;
    sales or events → demand)."""
    tables: dict[Table, pl.DataFrame] = {}
    last_day = _last_day(feeds)
    if feeds.events is not None:
        feeds.require("catalog")
        events, catalog = feeds.events.lazy(), feeds.catalog.lazy()
        scored = category_days(events, catalog, cfg.affinity)
        profile = user_interest_profile(scored, cfg.user.top_categories)
        tables[USER] = user_features(events, catalog, profile, last_day, cfg.user)
        tables[USER_CATEGORY] = user_category_interest(scored)
        first_day = feeds.events.select(day_of(pl.col("timestamp")).min()).item()
        prices = feeds.prices.lazy() if feeds.prices is not None else None
        stock = feeds.inventory.lazy() if feeds.inventory is not None else None
        tables[ITEM] = item_features(events, catalog, prices, stock, first_day, last_day, cfg.item)
        tables[ITEM_SERVING] = pack_item_vectors(tables[ITEM])
        tables[RECENT] = recent_activity(events, cfg.recent)
    sales = feeds.sales
    if sales is None and ITEM in tables:
        sales = sales_from_items(tables[ITEM], cfg.demand.location_id)
    if sales is not None:
        tables[DEMAND] = demand_rows(sales, cfg.demand)
    return tables


def compute_on_engine(
    data_dir: Path, feeds: Feeds, cfg: FeatureConfig, engine: EngineConfig | None
) -> dict[Table, pl.DataFrame]:
    """The feature tables, on this machine or, with ``engine: ray``, partitioned by
    shopper and by item on the Ray cluster (:mod:`features.distributed`, same tables)."""
    if engine is None or not engine.distributed:
        return compute_tables(feeds, cfg)
    from features.distributed import compute_tables_on_ray  # imports Ray: only on this path

    return compute_tables_on_ray(data_dir, feeds, cfg, engine.ray, _last_day(feeds))


def _pad_vectors(part: pl.DataFrame, width: int) -> pl.DataFrame:
    """Packed item vectors of an earlier build lengthened to ``width`` with NaN (unknown):
    item features gained since are appended last, so old positions stay what they were."""
    vectors = part["vector"].to_list()
    padded = [None if v is None else [*v, *[float("nan")] * (width - len(v))] for v in vectors]
    return part.with_columns(pl.Series("vector", padded, dtype=pl.List(pl.Float64)))


def _vector_width(part: Path) -> int | None:
    """Length of a part's packed vectors (all rows of one part have the same), from its
    first row; ``None`` for a part without vectors or rows."""
    if "vector" not in pl.read_parquet_schema(part):
        return None
    first = pl.scan_parquet(part).head(1).select(pl.col("vector").list.len()).collect()
    return int(first.item()) if first.height and first.item() is not None else None


def align_parts(folder: Path, new: pl.DataFrame) -> list[str]:
    """Bring the parquet parts of earlier builds to the columns of ``new`` rows.

    A build by a newer version may add feature columns (e.g. the return rates); the rows
    built before keep every value they had and hold nulls in the new columns (packed
    vectors are padded with NaN), so one schema spans all parts and the Feast view lists
    every column. Each part is rewritten atomically (a temporary sibling, then a rename).

    Args:
        folder: A table's offline folder.
        new: The rows about to be written there.

    Returns:
        The names of the parts rewritten (each logged).
    """
    width = int(new["vector"].list.len().max()) if "vector" in new.columns and new.height else None
    rewritten = []
    for part in sorted(folder.glob("*.parquet")):
        missing = [c for c in new.columns if c not in pl.read_parquet_schema(part)]
        old_width = _vector_width(part) if width is not None else None
        short = old_width is not None and old_width < width  # type: ignore[operator]
        if not missing and not short:
            continue
        frame = pl.read_parquet(part)
        if short:
            frame = _pad_vectors(frame, width)  # type: ignore[arg-type]
        frame = frame.with_columns(pl.lit(None, new.schema[c]).alias(c) for c in missing)
        order = [c for c in new.columns if c in frame.columns]
        tmp = part.with_name(f".{part.name}.tmp")
        frame.select(*order, *[c for c in frame.columns if c not in order]).write_parquet(tmp)
        tmp.replace(part)
        rewritten.append(part.name)
        grown = missing or [f"vector width {old_width} -> {width}"]
        log.info("feature table %s, part %s: added %s", folder.name, part.name, ", ".join(grown))
    return rewritten


def _read_state(root: Path) -> dict[str, str]:
    path = root / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _write_state(root: Path, state: dict[str, str]) -> None:
    tmp = root / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(root / STATE_FILE)


@contextmanager
def _timed(report: BuildReport, name: str, step: Step | None) -> Iterator[None]:
    if step is not None:
        step(name)
    started = time.perf_counter()
    yield
    report.seconds[name] = round(time.perf_counter() - started, 3)


def build_features(
    data_dir: Path,
    cfg: FeatureConfig,
    rebuild: bool = False,
    step: Step | None = None,
    engine: EngineConfig | None = None,
) -> BuildReport:
    """Build (or extend) the feature store of the shop folder ``data_dir``.

    Args:
        data_dir: The shop folder; the store lives in its state (``state/feature_store/``).
        cfg: Feature settings (pipelines and store profile).
        rebuild: Forget earlier builds and recompute every table from the feeds.
        step: Progress callback, called with each step's name.
        engine: Where the tables are computed (default: this machine); ``engine: ray``
            partitions them on a Ray cluster.

    Returns:
        What was built, with row counts per table and seconds per step.
    """
    root = store_dir(data_dir)
    if rebuild:
        reset_store(data_dir, cfg)
    root.mkdir(parents=True, exist_ok=True)
    state = _read_state(root)
    done = dt.date.fromisoformat(state["built_through"]) if "built_through" in state else None
    report = BuildReport(built_through=done, engine=(engine or EngineConfig()).label)
    with _timed(report, "read feeds", step):
        feeds = read_feeds(data_dir)
        report.events = feeds.events.height if feeds.events is not None else 0
    last_day = _last_day(feeds)
    if done is not None and last_day <= done:
        log.info("feature store already built through %s: nothing new", done)
        return report
    with _timed(report, "compute tables", step):
        tables = compute_on_engine(data_dir, feeds, cfg, engine)
    fresh: dict[Table, pl.DataFrame] = {}
    with _timed(report, "write offline tables", step):
        cutoff = end_of_day(pl.lit(done)) if done is not None else None
        for table, frame in tables.items():
            new = frame.filter(pl.col(TIMESTAMP) > cutoff) if cutoff is not None else frame
            report.new_rows[table.name] = new.height
            if new.height:
                fresh[table] = new
                folder = table.offline_dir(root)
                folder.mkdir(parents=True, exist_ok=True)
                align_parts(folder, new)
                new.write_parquet(folder / f"through-{last_day.isoformat()}.parquet")
    store = open_store(data_dir, cfg.store)
    with _timed(report, "apply definitions", step):
        store.apply(feast_objects(root, ttl(cfg.store)))
    with _timed(report, "materialize to the online store", step):
        _materialize(store, fresh, bootstrap=done is None)
    state["built_through"] = last_day.isoformat()
    state["root"] = str(root.resolve())
    _write_state(root, state)
    report.built_through = last_day
    return report


def reset_store(data_dir: Path, cfg: FeatureConfig) -> None:
    """Remove everything the store holds: online values (on any engine), the registry's
    views, the offline tables and the build state."""
    root = store_dir(data_dir)
    if (root / STATE_FILE).exists() or cfg.store.registry == "sql":
        store = open_store(data_dir, cfg.store)
        if store.list_feature_views():
            store.teardown()  # drops online tables / keys of every registered view
    shutil.rmtree(root, ignore_errors=True)


def _materialize(store: object, fresh: dict[Table, pl.DataFrame], bootstrap: bool) -> None:
    """Load the interval of each online table's new rows into the online store.

    Recent activity is loaded only when the store is new: afterwards the service keeps
    it fresher by pushing events as they happen.
    """
    for table, new in fresh.items():
        if not table.online or (table is RECENT and not bootstrap):
            continue
        start = new[TIMESTAMP].min() - dt.timedelta(seconds=1)
        end = new[TIMESTAMP].max() + dt.timedelta(seconds=1)
        store.materialize(start_date=start, end_date=end, feature_views=[table.name])
