"""``features build``: incremental, idempotent, and equal to a build from scratch."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cli import app
from features.build import build_features, compute_tables
from features.config import FeatureConfig, store_dir
from features.online import OnlineFeatures
from features.store import open_store
from features.tables import BATCH_TABLES, ITEM, ITEM_SERVING, USER
from simulator import Simulation
from storefront.config import PROJECT_ROOT
from storefront.feeds import Feeds, write_feeds
from storefront.workspace import Workspace


def _cut(feeds: Feeds, until: dt.date) -> dict[str, pl.DataFrame]:
    """The feeds as they stood at the start of ``until``."""
    moment = dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC)
    return {
        "catalog": feeds.catalog,
        "events": feeds.events.filter(pl.col("timestamp") < moment),
        "inventory": feeds.inventory.filter(pl.col("timestamp") < moment),
        "prices": feeds.prices.filter(pl.col("valid_from") < moment),
        "sales": feeds.sales.filter(pl.col("period_start") < until),
    }


@pytest.fixture(scope="module")
def two_step_dir(shop: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built on the first 25 days, then extended with the rest."""
    path = tmp_path_factory.mktemp("incremental") / "feeds"
    start = shop.truth.cfg.start_date
    write_feeds(_cut(shop.feeds, start + dt.timedelta(days=25)), path)
    first = build_features(path, FeatureConfig())
    assert first.built_through == start + dt.timedelta(days=24)
    write_feeds(shop.feeds, path)  # new feed data arrives; the store survives the rewrite
    second = build_features(path, FeatureConfig())
    assert second.built_through > first.built_through
    assert 0 < second.new_rows[USER.name] < first.new_rows[USER.name] * 2
    return path


def test_incremental_build_equals_a_build_from_scratch(
    two_step_dir: Path, shop: Simulation
) -> None:
    scratch = compute_tables(shop.feeds, FeatureConfig())
    for table in BATCH_TABLES:
        parts = sorted(table.offline_dir(store_dir(two_step_dir)).glob("*.parquet"))
        assert len(parts) == 2, table.name
        built = pl.concat([pl.read_parquet(p) for p in parts])
        keys = [*table.keys, "event_timestamp"]
        # sums of money may differ in the last bits (summation order), nothing more
        assert_frame_equal(built.sort(keys), scratch[table].sort(keys), rel_tol=1e-9)


def test_second_run_without_new_data_changes_nothing(two_step_dir: Path) -> None:
    root = store_dir(two_step_dir)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    report = build_features(two_step_dir, FeatureConfig())
    assert report.up_to_date
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before


def test_online_store_holds_the_latest_snapshot(two_step_dir: Path, shop: Simulation) -> None:
    reader = OnlineFeatures(open_store(two_step_dir, FeatureConfig().store))
    purchases = shop.feeds.events.filter(pl.col("event_type") == "purchase")
    user = purchases["user_id"][-1]
    orders = purchases.filter(pl.col("user_id") == user)["session_id"].n_unique()
    features, known = reader.read_user(user)
    assert known
    assert features["frequency"] == orders


def test_cli_build_and_rebuild(built_dir: Path) -> None:
    runner = CliRunner()
    again = runner.invoke(app, ["features", "build", "--data-dir", str(built_dir)])
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output


def test_build_needs_events_or_sales(tmp_path: Path, shop: Simulation) -> None:
    write_feeds({"catalog": shop.feeds.catalog}, tmp_path / "feeds")
    with pytest.raises(ValueError, match="events or a sales feed"):
        build_features(tmp_path / "feeds", FeatureConfig())


@pytest.mark.slow
def test_feast_cli_reads_the_repo_folder(built_dir: Path) -> None:
    """``features/repo`` holds only definitions, usable by the ``feast`` CLI itself."""
    env = {**os.environ, "STOREFRONT_FEATURE_STORE": str(store_dir(built_dir)), "TZ": "UTC"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "feast"), "-c", str(PROJECT_ROOT / "features" / "repo"),
         "plan"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "user_features" in done.stdout


def test_a_store_moved_into_the_new_layout_still_joins(
    shop: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A shop folder of the first layout (feeds and ``feature_store/`` side by side) is
    moved in on first use, and Feast's sources follow it: joins read the new place."""
    from features.training_sets import training_set
    from storefront import workspace as layout

    built = tmp_path_factory.mktemp("moved") / "new"
    write_feeds(shop.feeds, built)
    build_features(built, FeatureConfig())
    old = built.with_name("old")  # the first layout, with the store registered at `built`
    old.mkdir()
    for part in Workspace(built).feeds.iterdir():
        part.rename(old / part.name)
    store_dir(built).rename(old / "feature_store")
    shutil.rmtree(built)
    layout._migrated.discard(old.resolve())

    store = open_store(old, FeatureConfig().store)
    assert store_dir(old).is_relative_to(Workspace(old).state)
    rows = shop.feeds.events.head(20).select("user_id", event_timestamp=pl.col("timestamp"))
    got = training_set(store, rows, ["user_features:frequency"])
    assert got.height == rows.height


RETURN_COLUMNS = ("returned_units_90d", "return_rate_90d")


def _as_before_returns(root: Path) -> None:
    """Make a store look built by the version before return rates: no return columns in
    the user and item parts, packed item vectors without their last two positions."""
    for table in (USER, ITEM):
        for part in table.offline_dir(root).glob("*.parquet"):
            pl.read_parquet(part).drop(RETURN_COLUMNS).write_parquet(part)
    for part in ITEM_SERVING.offline_dir(root).glob("*.parquet"):
        frame = pl.read_parquet(part)
        frame.with_columns(
            pl.col("vector").list.head(pl.col("vector").list.len() - 2)
        ).write_parquet(part)


def test_a_store_built_before_return_rates_gains_them_and_keeps_its_rows(
    shop: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An incremental build over a store of the earlier layout: the old rows keep their
    values and read null return rates; the new rows have them, offline and online."""
    from features.training_sets import training_set

    path = tmp_path_factory.mktemp("before_returns") / "feeds"
    start = shop.truth.cfg.start_date
    write_feeds(_cut(shop.feeds, start + dt.timedelta(days=25)), path)
    build_features(path, FeatureConfig())
    root = store_dir(path)
    _as_before_returns(root)
    before = pl.read_parquet(next(ITEM.offline_dir(root).glob("*.parquet")))
    write_feeds(shop.feeds, path)
    build_features(path, FeatureConfig())
    for table in (USER, ITEM, ITEM_SERVING):
        parts = sorted(table.offline_dir(root).glob("*.parquet"))
        schemas = {tuple(pl.read_parquet_schema(p).items()) for p in parts}
        assert len(parts) == 2 and len(schemas) == 1, table.name
    first = pl.read_parquet(sorted(ITEM.offline_dir(root).glob("*.parquet"))[0])
    assert first.drop(RETURN_COLUMNS).equals(before), "the old rows keep every value"
    assert first["return_rate_90d"].null_count() == first.height
    widths = pl.concat(
        pl.read_parquet(p) for p in ITEM_SERVING.offline_dir(root).glob("*.parquet")
    )["vector"].list.len()
    assert widths.n_unique() == 1
    items = shop.feeds.events.filter(pl.col("event_type") == "return")["item_id"].unique()
    end = dt.datetime.combine(shop.truth.cfg.end_date, dt.time(), tzinfo=dt.UTC)
    rows = pl.DataFrame({"item_id": items}).with_columns(
        event_timestamp=pl.lit(end) - dt.timedelta(hours=1)
    )
    store = open_store(path, FeatureConfig().store)
    read = training_set(store, rows, ["item_features:return_rate_90d", "item_features:units_30d"])
    assert read["return_rate_90d"].drop_nulls().gt(0).any()
    early = rows.with_columns(event_timestamp=pl.lit(end) - dt.timedelta(days=40))
    assert (
        training_set(store, early, ["item_features:return_rate_90d"])[
            "return_rate_90d"
        ].null_count()
        == early.height
    ), "built before: unknown"
    online, known = OnlineFeatures(store).read_items(items.head(5).to_list())
    assert known.all() and "return_rate_90d" in online.columns
