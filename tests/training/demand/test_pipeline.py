"""``train demand`` on a real panel: tracked, registered, and better than seasonal naive."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from cli import app
from features.build import build_features
from features.config import FeatureConfig
from loaders import load
from storefront.feeds import write_feeds
from training.demand.forecast import read_forecasts

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


@pytest.fixture(scope="module")
def m5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("m5") / "feeds"
    write_feeds(load("m5_tiny").frames, path)
    build_features(path, FeatureConfig())
    return path


def test_demand_model_beats_seasonal_naive_and_is_registered(m5_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demand.json"
    result = CliRunner().invoke(
        app, ["train", "demand", "--data-dir", str(m5_dir), "--metrics-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["period_days"] == 1 and figures["horizon"] == 28
    assert figures["model"]["periods"] == 280 * 28
    for metric in ("wape", "rmsse", "pinball"):
        assert figures["model"][metric] < figures["seasonal_naive"][metric], metric
    run = mlflow.get_run(figures["run_id"])
    assert "plots/forecast.png" in {
        a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "plots")
    }
    model = mlflow.pyfunc.load_model("models:/storefront-demand@challenger")
    assert model.metadata.run_id == figures["run_id"]
    ahead = read_forecasts(m5_dir)
    assert ahead.height == 280 * 28 and figures["forecast_path"].endswith("demand.parquet")
    assert ahead["period_start"].min() > load("m5_tiny").frames["sales"]["period_start"].max()


def test_missing_feature_store_is_named(tmp_path: Path) -> None:
    write_feeds(load("m5_tiny").frames, tmp_path / "feeds")
    result = CliRunner().invoke(app, ["train", "demand", "--data-dir", str(tmp_path / "feeds")])
    assert result.exit_code == 1
    assert "storefront features build" in result.output
