"""Optuna settings shared by every tuned model: trials, storage, study, time limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import optuna
from pydantic import Field

from storefront.config import PROJECT_ROOT, Settings


class TuningConfig(Settings):
    """Optuna search of a model's LightGBM parameters (``--tune``)."""

    trials: int = Field(default=0, ge=0)
    """0: no tuning, use the configured parameters."""
    storage: str | None = None
    """Optuna storage URL; default ``sqlite:///<project>/optuna.db``. A PostgreSQL URL
    lets several machines tune one study in parallel."""
    study: str = "recommender-ranker"
    timeout_seconds: float = Field(default=900.0, gt=0)
    seed: int = 0


def storage_url(cfg: TuningConfig) -> str:
    """The configured storage, or a SQLite file in the project folder."""
    return cfg.storage or f"sqlite:///{PROJECT_ROOT / 'optuna.db'}"


def run_study(
    objective: Callable[[optuna.Trial], float],
    cfg: TuningConfig,
    direction: Literal["minimize", "maximize"],
    warmup_steps: int,
) -> optuna.Study:
    """Run ``cfg.trials`` trials (TPE, median pruning after ``warmup_steps`` boosting
    rounds) in the persistent study ``cfg.study``, resuming it if it exists."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=cfg.study,
        storage=storage_url(cfg),
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_steps),
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=cfg.trials, timeout=cfg.timeout_seconds)
    return study
