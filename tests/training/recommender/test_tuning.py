"""Optuna tuning of the re-ranker: persistent storage, pruning, best parameters kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import polars as pl

from training.recommender.config import RankerConfig, TuningConfig
from training.recommender.tuning import tune_ranker


def _rows(cases: int, seed: int) -> tuple[pl.DataFrame, pl.Series]:
    """Ranking data where feature ``signal`` marks the chosen candidate (noisily)."""
    rng = np.random.default_rng(seed)
    n = cases * 20
    label = np.zeros(n, dtype=np.int64)
    label[np.arange(cases) * 20 + rng.integers(0, 20, cases)] = 1
    rows = pl.DataFrame(
        {
            "case": np.repeat(np.arange(cases), 20),
            "item": np.tile(np.arange(20), cases),
            "signal": label + rng.normal(0, 0.7, n),
            "noise": rng.normal(size=n),
        }
    )
    return rows, pl.Series(label)


def test_study_persists_and_returns_the_best_parameters(tmp_path: Path) -> None:
    train, y = _rows(300, 0)
    valid, yv = _rows(100, 1)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = TuningConfig(trials=6, storage=storage, study="test")
    tuned, study = tune_ranker(train, y, valid, yv, RankerConfig(rounds=50), cfg)
    assert len(study.trials) == 6
    assert tuned.num_leaves == study.best_params["num_leaves"]
    assert study.best_value > 0.5, "the signal feature is found"
    again = optuna.load_study(study_name="test", storage=storage)
    assert len(again.trials) == 6, "trials are kept in the storage"
