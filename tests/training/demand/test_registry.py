"""Promotion of the demand model: champion and challenger judged by WAPE on the same
holdout, through ``storefront models promote``; a failed promotion leaves no run open."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from cli import app
from features.config import store_dir
from features.tables import DEMAND
from tests.training.demand.panel import synthetic_panel
from training.demand import registry
from training.demand.config import DemandConfig
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
    assert "wape (lower is better)" in result.output and "champion is now v2" in result.output
    assert alias_version(name, "champion") == "2"
    test = registry.holdout_rows(path, _cfg(name, 80))
    first = registry.holdout_wape(f"models:/{name}/1", test)
    second = registry.holdout_wape(f"models:/{name}/2", test)
    assert second < first, "the properly trained version forecasts the holdout better"
    assert f"promote {name} v2" in _runs("FINISHED")
    assert not _runs("RUNNING")


def test_a_worse_challenger_stays_unless_forced(shop: tuple) -> None:
    path, name, _ = shop
    train_demand(path, _cfg(name, 2))  # v3, barely trained, is the challenger now
    result = registry.promote_demand(name, path, _cfg(name, 80))
    assert not result.promoted and result.challenger_score > result.champion_score
    assert alias_version(name, "champion") == "2"
    forced = registry.promote_demand(name, path, _cfg(name, 80), force=True)
    assert forced.promoted and forced.forced and alias_version(name, "champion") == "3"


def test_a_failed_promotion_leaves_no_run_running(
    shop: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, name, _ = shop
    before = alias_version(name, "champion")

    def broken(model_uri: str, test: object) -> float:
        raise RuntimeError("holdout unreadable")

    monkeypatch.setattr(registry, "holdout_wape", broken)
    with pytest.raises(RuntimeError, match="holdout unreadable"):
        registry.promote_demand(name, path, _cfg(name, 80), force=True)
    assert mlflow.active_run() is None
    assert not _runs("RUNNING")
    assert _runs("FAILED")[0] == f"promote {name} v{alias_version(name, 'challenger')}"
    assert alias_version(name, "champion") == before, "a failed promotion moves nothing"


def _yaml(path: Path) -> Path:
    """The demand YAML of the tests' models (their horizon: the holdout's length)."""
    config = path.parent / "demand.yaml"
    config.write_text("horizon: 14\nrounds: 80\nmin_child_samples: 5\nforecast_ahead: false\n")
    return config
