"""Optuna tuning of the demand model: validation carved from training, study persisted."""

from __future__ import annotations

from pathlib import Path

import optuna
import polars as pl
import pytest

from tests.training.demand.panel import synthetic_panel
from training.demand.config import DemandConfig
from training.demand.features import model_rows
from training.demand.tuning import SEARCHED, tune_demand, validation_split
from training.tuning import TuningConfig


def test_validation_is_the_last_horizon_without_censored_rows() -> None:
    cfg = DemandConfig(horizon=14)
    rows = model_rows(synthetic_panel(series=3, days=90), 1, cfg)
    rows = rows.with_columns(censored=pl.col("period_start").dt.day() == 15)
    fit, valid = validation_split(rows, 14, 1)
    assert fit["period_start"].max() < valid["period_start"].min()
    assert valid["period_start"].n_unique() <= 14 and not valid["censored"].any()
    with pytest.raises(ValueError, match="two horizons"):
        validation_split(rows, 200, 1)


def test_tuning_returns_the_best_trial_and_keeps_the_study(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = DemandConfig(
        horizon=14,
        rounds=40,
        min_child_samples=5,
        tuning=TuningConfig(trials=4, storage=storage, study="demand-test"),
    )
    rows = model_rows(synthetic_panel(series=6, days=120), 1, cfg)
    tuned, study = tune_demand(rows.filter(pl.col("units").is_not_null()), 1, cfg)
    assert len(study.trials) == 4
    for name in SEARCHED:
        assert getattr(tuned, name) == study.best_params[name]
    again = optuna.load_study(study_name="demand-test", storage=storage)
    assert again.best_value == pytest.approx(study.best_value)
