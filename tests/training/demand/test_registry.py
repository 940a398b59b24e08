"""Promotion of the demand model: champion and challenger judged by WAPE on the same
holdout, through ``storefront models promote``; a failed promotion leaves no run open."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import polars as pl
import pytest
from typer.testing import CliRunner

from cli import app
from features.config import store_dir
from features.tables import DEMAND
from jobs import models as jobs_models
from tests.training.demand.panel import synthetic_panel
from training.demand import registry
from training.demand.config import DemandConfig
from training.demand.forecast import forecast_path
from training.demand.pipeline import train_demand
from training.registry import alias_version


def _cfg(name: str, rounds: int) -> DemandConfig:
    return DemandConfig(
        horizon=14, rounds=rounds, min_child_samples=5, forecast_ahead=False, model_name=name
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, float]]:
    """A feature store with a small demand panel and two demand versions: v1 barely
    trained (champion), v2 trained properly (challenger)."""
    path = tmp_path_factory.mktemp("demand-registry") / "feeds"
    folder = DEMAND.offline_dir(store_dir(path))
    folder.mkdir(parents=True)
    synthetic_panel(series=6, days=120).write_parquet(folder / "part-0.parquet")
    name = f"demand-{uuid.uuid4().hex[:8]}"
    scores = {}
    for rounds in (3, 80):
        report = train_demand(path, _cfg(name, rounds))
        scores[str(report.model_version)] = report.results["model"]["wape"]
    return path, name, scores


def _runs(status: str) -> list[str]:
    runs = mlflow.search_runs(
        experiment_names=["promotions"],
        filter_string=f"attributes.status = '{status}'",
        output_format="list",
    )
    return [r.info.run_name for r in runs]


def test_promote_compares_wape_on_the_same_holdout(shop: tuple) -> None:
    path, name, _ = shop
    assert (alias_version(name, "champion"), alias_version(name, "challenger")) == ("1", "2")
    result = CliRunner().invoke(
        app, ["models", "promote", name, "--data-dir", str(path), "--config", str(_yaml(path))]
    )
    assert result.exit_code == 0, result.output
    assert "quality gate" in result.output and "wape" in result.output and "bias" in result.output
    assert "champion is now v2" in result.output
    assert alias_version(name, "champion") == "2"
    test = registry.holdout_rows(path, _cfg(name, 80))
    first = registry.holdout_wape(f"models:/{name}/1", test)
    second = registry.holdout_wape(f"models:/{name}/2", test)
    assert second < first, "the properly trained version forecasts the holdout better"
    assert any(n.startswith(f"promote {name} v2 vs v1 · ") for n in _runs("FINISHED"))
    assert not _runs("RUNNING")


def test_a_worse_challenger_stays_unless_forced(shop: tuple) -> None:
    path, name, _ = shop
    train_demand(path, _cfg(name, 2))  # v3, barely trained, is the challenger now
    result = registry.promote_demand(name, path, _cfg(name, 80))
    assert not result.promoted and result.challenger_score > result.champion_score
    assert alias_version(name, "champion") == "2"
    wape = next(c for c in result.checks if c.name == "wape")
    assert not wape.passed and wape.bound == pytest.approx(wape.champion + 0.01)
    assert result.reason.startswith("champion stays v2: wape ")
    forced = registry.promote_demand(name, path, _cfg(name, 80), force=True)
    assert forced.promoted and forced.forced and alias_version(name, "champion") == "3"


def test_the_same_version_answers_at_once_and_a_failed_promotion_leaves_no_run_running(
    shop: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, name, _ = shop

    def broken(model_uri: str, test: object) -> dict[str, float]:
        raise RuntimeError("holdout unreadable")

    monkeypatch.setattr(registry, "holdout_metrics", broken)
    assert alias_version(name, "champion") == alias_version(name, "challenger")
    same = jobs_models.promote(name, path, _yaml(path))
    assert same.same_version and not same.promoted and not same.checks and same.run_id is None
    assert "already the champion" in same.reason

    train_demand(path, _cfg(name, 2))  # a new challenger: now there is something to score
    before = alias_version(name, "champion")
    with pytest.raises(RuntimeError, match="holdout unreadable"):
        registry.promote_demand(name, path, _cfg(name, 80), force=True)
    assert mlflow.active_run() is None
    assert not _runs("RUNNING")
    challenger = alias_version(name, "challenger")
    assert _runs("FAILED")[0].startswith(f"promote {name} v{challenger} vs v{before} · ")
    assert alias_version(name, "champion") == before, "a failed promotion moves nothing"


def _yaml(path: Path) -> Path:
    """The demand YAML of the tests' models (their horizon: the holdout's length)."""
    config = path.parent / "demand.yaml"
    config.write_text("horizon: 14\nrounds: 80\nmin_child_samples: 5\nforecast_ahead: false\n")
    return config


def test_a_challengers_forecasts_reach_pricing_only_once_promoted(shop: tuple) -> None:
    from training.demand.forecast import read_forecasts
    from training.pricing.inputs import forecast_for

    path, _, _ = shop
    name = f"demand-{uuid.uuid4().hex[:8]}"
    ahead = {"forecast_ahead": True, "model_name": name}
    champion = train_demand(path, _cfg(name, 40).model_copy(update=ahead))
    assert champion.forecast_path is not None and not champion.forecasts_held
    run = mlflow.get_run(champion.run_id)
    assert run.info.run_name.startswith("demand · feeds · ")
    assert run.data.tags["storefront.family"] == "demand"
    assert {d.dataset.name for d in run.inputs.dataset_inputs} == {
        "demand rows (training)", "demand rows (last horizon)",
    }  # fmt: skip
    curve = mlflow.MlflowClient().get_metric_history(champion.run_id, "curve/holdout_tweedie")
    assert [m.step for m in curve] == list(range(1, 41)), "one point per boosting round"
    assert run.data.metrics["test/bias"] >= 0 and "baseline/seasonal_naive/wape" in run.data.metrics
    published = read_forecasts(path)
    day = published["period_start"].min()
    priced = forecast_for(path, day).sort("item_id")

    challenger = train_demand(path, _cfg(name, 3).model_copy(update=ahead))
    assert challenger.forecast_path is None and challenger.forecasts_held
    assert read_forecasts(path).equals(published), "the champion's forecasts stay"
    assert forecast_for(path, day).sort("item_id").equals(priced)

    result = registry.promote_demand(name, path, _cfg(name, 80), force=True)
    assert result.promoted and result.forced and not all(c.passed for c in result.checks)
    assert "(forced)" in result.reason
    assert result.published == (str(forecast_path(path)),)
    artifact = mlflow.artifacts.download_artifacts(
        run_id=challenger.run_id, artifact_path="forecasts/demand.parquet"
    )
    assert read_forecasts(path).equals(pl.read_parquet(artifact))
    promoted = forecast_for(path, day).sort("item_id")
    assert not promoted.equals(priced), "pricing reads the promoted forecasts"
