"""Optuna tuning of the demand model on a validation horizon carved from the training
data (the test horizon is never seen): TPE search, LightGBM pruning, persistent study."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import optuna
import polars as pl
from optuna_integration import LightGBMPruningCallback

from storefront.engine import EngineConfig
from training.demand.config import DemandConfig
from training.demand.evaluate import wape
from training.demand.model import DemandModel
from training.tuning import run_study

log = logging.getLogger(__name__)
SEARCHED = ("num_leaves", "learning_rate", "min_child_samples", "feature_fraction",
            "tweedie_variance_power")  # fmt: skip


def validation_split(
    rows: pl.DataFrame, horizon: int, period_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The last ``horizon`` periods of ``rows`` (uncensored) for validation, the rest for
    fitting."""
    cutoff = rows["period_start"].max() - dt.timedelta(days=horizon * period_days)
    fit = rows.filter(pl.col("period_start") <= cutoff)
    valid = rows.filter((pl.col("period_start") > cutoff) & ~pl.col("censored"))
    if fit.is_empty() or valid.is_empty():
        raise ValueError("tuning needs at least two horizons of training history")
    return fit, valid


def tune_demand(
    rows: pl.DataFrame, period_days: int, cfg: DemandConfig, engine: EngineConfig | None = None
) -> tuple[DemandConfig, optuna.Study]:
    """Search the mean model's parameters for the lowest validation WAPE.

    Args:
        rows: Training rows (``model_rows``), test horizon already removed.
        period_days: Length of a period.
        cfg: The base configuration; ``cfg.tuning`` sets trials, storage and study.
        engine: Where the trials run (``engine: ray``: on Ray workers sharing the study;
            each trial's fit is local to its worker).

    Returns:
        ``cfg`` with the best parameters, and the study.
    """
    fit, valid = validation_split(rows, cfg.horizon, period_days)
    actual = valid["units"].to_numpy()

    def objective(trial: optuna.Trial) -> float:
        trial_cfg = cfg.model_copy(
            update={
                "num_leaves": trial.suggest_int("num_leaves", 15, 255, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 10, 400, log=True),
                "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
                "tweedie_variance_power": trial.suggest_float("tweedie_variance_power", 1.05, 1.9),
                "quantiles": [],
            }
        )
        model = DemandModel(trial_cfg)
        pruning = LightGBMPruningCallback(trial, "tweedie", valid_name="valid")
        model.fit(fit, valid=valid, callbacks=[pruning])
        predicted = model.predict(valid)["forecast"].to_numpy()
        return wape(actual, np.asarray(predicted))

    study = run_study(objective, cfg.tuning, "minimize", warmup_steps=20, engine=engine)
    log.info("best demand parameters %s (WAPE %.4f)", study.best_params, study.best_value)
    best = {k: v for k, v in study.best_params.items() if k in SEARCHED}
    return cfg.model_copy(update=best), study
