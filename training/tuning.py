"""Optuna settings shared by every tuned model: trials, storage, study, time limit; the
study's trials run here or, under ``engine: ray``, on Ray workers sharing the study."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal

import optuna
from pydantic import Field

from storefront.config import PROJECT_ROOT, Settings
from storefront.engine import EngineConfig, RayConfig, connect

Objective = Callable[[optuna.Trial], float]
WORKER_ATTR = "ray_worker"
"""Trial user attribute naming the Ray node and process that ran the trial."""
TASK_ATTR = "ray_task"
"""Trial user attribute numbering the Ray task (0 … trial_workers - 1) that ran it."""


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
    objective: Objective,
    cfg: TuningConfig,
    direction: Literal["minimize", "maximize"],
    warmup_steps: int,
    engine: EngineConfig | None = None,
) -> optuna.Study:
    """Run ``cfg.trials`` trials (TPE, median pruning after ``warmup_steps`` boosting
    rounds) in the persistent study ``cfg.study``, resuming it if it exists.

    Under ``engine: ray`` the trials are split over ``ray.trial_workers`` Ray tasks, each
    running ``study.optimize`` on the same study in the storage; each trial records its
    task and worker (user attributes :data:`TASK_ATTR`, :data:`WORKER_ATTR`). The
    objective travels to the tasks pickled (cloudpickle), with the data it closes over.
    SQLite storage serves workers on this machine only; across machines use a
    PostgreSQL URL every node reaches.

    Returns:
        The study, read back from its storage (its best trial is over every worker's).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=cfg.study,
        storage=storage_url(cfg),
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=_pruner(warmup_steps),
        load_if_exists=True,
    )
    if engine is None or not engine.distributed or cfg.trials == 0:
        study.optimize(objective, n_trials=cfg.trials, timeout=cfg.timeout_seconds)
        return study
    _optimize_on_ray(objective, cfg, warmup_steps, engine.ray)
    return optuna.load_study(study_name=cfg.study, storage=storage_url(cfg))


def _pruner(warmup_steps: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_steps)


def split_trials(trials: int, workers: int) -> list[int]:
    """``trials`` dealt over at most ``workers`` workers (none gets zero)."""
    n = max(1, min(trials, workers))
    return [trials // n + (k < trials % n) for k in range(n)]


def _optimize_on_ray(
    objective: Objective, cfg: TuningConfig, warmup_steps: int, ray_cfg: RayConfig
) -> None:
    """``split_trials`` Ray tasks, each optimizing the shared study; waits for all."""
    ray = connect(ray_cfg)
    task = ray.remote(num_cpus=ray_cfg.cpus_per_worker, max_retries=0)(_optimize_part)
    shared = ray.put(objective)
    parts = split_trials(cfg.trials, ray_cfg.trial_workers)
    ray.get([task.remote(shared, cfg, warmup_steps, k, n) for k, n in enumerate(parts)])


def _optimize_part(
    objective: Objective, cfg: TuningConfig, warmup_steps: int, part: int, trials: int
) -> int:  # pragma: no cover - runs on a Ray worker
    """One worker's share: ``trials`` trials of the shared study (its own TPE seed, so
    the workers' first guesses differ)."""
    import ray

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=cfg.study,
        storage=storage_url(cfg),
        sampler=optuna.samplers.TPESampler(seed=cfg.seed + 1 + part),
        pruner=_pruner(warmup_steps),
    )
    worker = f"{ray.get_runtime_context().get_node_id()[:12]}:{os.getpid()}"

    def traced(trial: optuna.Trial) -> Any:
        trial.set_user_attr(WORKER_ATTR, worker)
        trial.set_user_attr(TASK_ATTR, part)
        return objective(trial)

    study.optimize(traced, n_trials=trials, timeout=cfg.timeout_seconds)
    return trials
