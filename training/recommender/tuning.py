"""Optuna tuning of the re-ranker: TPE search, LightGBM pruning, persistent storage."""

from __future__ import annotations

import logging

import optuna
import polars as pl
from optuna_integration import LightGBMPruningCallback

from storefront.engine import EngineConfig
from training.recommender.config import RankerConfig
from training.recommender.ranker import Ranker
from training.tuning import TuningConfig, run_study

log = logging.getLogger(__name__)


def tune_ranker(
    train: pl.DataFrame,
    train_labels: pl.Series,
    valid: pl.DataFrame,
    valid_labels: pl.Series,
    base: RankerConfig,
    cfg: TuningConfig,
    engine: EngineConfig | None = None,
) -> tuple[RankerConfig, optuna.Study]:
    """Search leaves, learning rate, leaf size and feature sampling for the best
    validation NDCG@10; unpromising trials are pruned as their boosting rounds report.
    ``engine: ray`` runs the trials on Ray workers sharing the study.

    Returns:
        The base configuration with the best parameters, and the study.
    """

    def objective(trial: optuna.Trial) -> float:
        params = base.model_copy(
            update={
                "num_leaves": trial.suggest_int("num_leaves", 8, 128, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 10, 300, log=True),
            }
        )
        pruning = LightGBMPruningCallback(trial, "ndcg@10", valid_name="valid_0")
        ranker = Ranker(params).fit(train, train_labels, valid, valid_labels, [pruning])
        return ranker.best_score

    study = run_study(objective, cfg, "maximize", warmup_steps=10, engine=engine)
    log.info("best re-ranker parameters %s (ndcg@10 %.4f)", study.best_params, study.best_value)
    return base.model_copy(update=study.best_params), study
