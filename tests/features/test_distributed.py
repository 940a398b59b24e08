"""The feature build on Ray (engine: ray) gives the local build's tables.

Against the local Ray head (``ray_address``): the small test shop's tables computed on
this machine and partitioned on Ray are compared table by table. Integers, strings,
booleans, dates and timestamps must be equal exactly; floats within a relative 1e-12
(money sums per shopper may be added in another order: the last bits only).
"""

from __future__ import annotations

import dataclasses
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.build import BuildReport, compute_on_engine, compute_tables
from features.config import FeatureConfig
from features.distributed import key_ranges
from features.tables import DEMAND, Table
from jobs import features
from simulator import TRUTH_FILE, Simulation
from storefront.engine import ENGINE_ENV, EngineConfig, RayConfig, load_engine
from storefront.feeds import Feeds, read_feeds, write_feeds
from storefront.workspace import workspace

REL_TOL = 1e-12
"""Largest relative difference of a float feature between the local and the Ray build."""


def _sorted(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in key and time order (the local build leaves recent activity unordered)."""
    keys = [c for c in (*table.keys, "period_start", "event_timestamp") if c in frame.columns]
    return frame.sort(keys)


def assert_same_tables(local: dict[Table, pl.DataFrame], ray: dict[Table, pl.DataFrame]) -> None:
    """Same tables, columns, dtypes and rows; values equal (floats within REL_TOL)."""
    assert [t.name for t in ray] == [t.name for t in local]
    for table, frame in local.items():
        assert_frame_equal(
            _sorted(table, ray[table]),
            _sorted(table, frame),
            rel_tol=REL_TOL,
            abs_tol=REL_TOL,
        )


@dataclass
class RayRun:
    """The small shop built on Ray (with its sales feed) and, without a sales feed, its
    tables computed on Ray (demand rows from each partition's item features)."""

    built: Path
    report: BuildReport
    no_sales: Feeds
    no_sales_tables: dict[Table, pl.DataFrame]


@pytest.fixture(scope="module")
def ray_run(
    small_sim: Simulation, ray_address: str, tmp_path_factory: pytest.TempPathFactory
) -> RayRun:
    """Both Ray runs back to back, so the cluster's workers start once (idle workers are
    stopped after a few seconds)."""
    root = tmp_path_factory.mktemp("ray")
    write_feeds(small_sim.feeds, root / "shop", side_files={TRUTH_FILE: small_sim.truth.save})
    write_feeds(dataclasses.replace(small_sim.feeds, sales=None), root / "no_sales")
    (root / "engine.yaml").write_text(
        f"engine: ray\nray:\n  address: {ray_address}\n  partitions: 3\n"
    )
    no_sales = read_feeds(root / "no_sales")
    engine = EngineConfig(engine="ray", ray=RayConfig(address=ray_address, partitions=2))
    tables = compute_on_engine(root / "no_sales", no_sales, FeatureConfig(), engine)
    report = features.build(root / "shop", rebuild=True, engine_config=root / "engine.yaml")
    return RayRun(root / "shop", report, no_sales, tables)


def test_features_build_on_ray_writes_the_local_tables(
    ray_run: RayRun, small_sim: Simulation, ray_address: str
) -> None:
    local = compute_tables(small_sim.feeds, FeatureConfig())
    offline = workspace(ray_run.built).feature_store / "offline"
    written = {t: pl.read_parquet(offline / t.name / "*.parquet") for t in local}

    assert_same_tables(local, written)
    assert ray_run.report.engine == f"ray at {ray_address}"
    assert ray_run.report.new_rows == {t.name: frame.height for t, frame in local.items()}


def test_demand_from_events_on_ray_equals_local(ray_run: RayRun) -> None:
    local = compute_tables(ray_run.no_sales, FeatureConfig())

    assert DEMAND in ray_run.no_sales_tables
    assert_same_tables(local, ray_run.no_sales_tables)


def test_key_ranges_put_each_key_in_one_partition() -> None:
    keys = pl.Series([f"u{i:03d}" for i in (5, 1, 9, 1, 7, 3, 3, 8, 2)])
    ranges = key_ranges(keys, 4)
    assert len(ranges) == 4
    owners = [[lo <= k <= hi for lo, hi in ranges].count(True) for k in keys.unique()]
    assert owners == [1] * keys.n_unique()
    assert key_ranges(pl.Series(["a", "b"]), 5) == [("a", "a"), ("b", "b")]


def test_local_engine_needs_no_ray(small_sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default engine computes the tables without importing Ray or the Ray path."""
    for module in ("ray", "features.distributed"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now fails
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    engine = load_engine()

    tables = compute_on_engine(Path("unused"), small_sim.feeds, FeatureConfig(), engine)

    assert engine.label == "local"
    assert [t.name for t in tables] == [
        t.name for t in compute_tables(small_sim.feeds, FeatureConfig())
    ]


def test_an_absent_cluster_is_a_user_error(tmp_path: Path, small_sim: Simulation) -> None:
    """A head that is not there is named at once (Ray alone retries for minutes)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"  # nothing listens once closed
    engine = EngineConfig(engine="ray", ray=RayConfig(address=address))
    with pytest.raises(ValueError, match=r"no Ray cluster answers at ray\.address"):
        compute_on_engine(tmp_path, small_sim.feeds, FeatureConfig(), engine)
