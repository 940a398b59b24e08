"""Double ML recovers the simulator's true elasticities better than the naive slope."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from features.build import build_features
from features.config import FeatureConfig
from simulator import Simulation
from storefront.feeds import write_feeds
from storefront.workspace import Workspace
from training.elasticity.dml import poisson_slopes
from training.elasticity.pipeline import COLUMNS, read_estimates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(default_sim: Simulation, tmp_path_factory) -> tuple[Path, Simulation]:
    """The default-size shop (2,000 items, 180 days): on much smaller shops the item
    slopes are too noisy for the controls to pay off (see the closing notes)."""
    sim = default_sim
    path = tmp_path_factory.mktemp("elasticity") / "feeds"
    write_feeds(sim.feeds, path)
    build_features(path, FeatureConfig())
    return path, sim


def test_dml_beats_the_naive_estimate_against_truth(shop, tmp_path: Path) -> None:
    path, sim = shop
    out = tmp_path / "estimates.parquet"
    result = CliRunner().invoke(
        app, ["train", "elasticity", "--data-dir", str(path), "--estimates-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(out)
    assert read_estimates(path).equals(table)
    run = mlflow.search_runs(experiment_names=["elasticity"], output_format="list")[0]
    assert run.data.metrics["estimates/share_own_data"] > 0
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "plots")}
    assert "plots/elasticity.png" in artifacts
    assert table.columns == list(COLUMNS)
    truth = sim.truth.items_frame().select("item_id", true="elasticity")
    joined = table.join(truth, on="item_id")
    dml_error = (joined["elasticity"] - joined["true"]).abs().mean()
    naive_error = (joined["naive"] - joined["true"]).abs().mean()
    assert dml_error < naive_error, (dml_error, naive_error)
    covered = ((joined["true"] >= joined["ci_low"]) & (joined["true"] <= joined["ci_high"])).mean()
    assert covered > 0.8, covered
    assert (joined["ci_low"] <= joined["elasticity"]).all()


def test_promotion_response_follows_the_tiers(shop) -> None:
    """Budget shoppers respond most to promotions, premium least (the simulator's truth:
    promotion lifts 1.5 / 1.2 / 1.0 on top of tier-scaled price effects)."""
    path, _ = shop
    table = pl.read_parquet(Workspace(path).pricing / "promotion_response.parquet")
    assert table["tier"].to_list() == ["budget", "standard", "premium"]
    response = table["response"].to_list()
    assert response[0] > response[1] > response[2] > 1.0
    assert (table["ci_low"] < table["response"]).all()
    assert (table["response"] < table["ci_high"]).all()


def test_poisson_slopes_recover_a_known_slope() -> None:
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1], 4000)
    x = rng.normal(0, 0.3, 8000)
    slope = np.where(group == 0, -2.0, -0.5)
    y = rng.poisson(np.exp(0.5 + slope * x))
    b, se = poisson_slopes(group, y.astype(float), x, np.zeros(8000))
    assert b == pytest.approx([-2.0, -0.5], abs=4 * se.max())
