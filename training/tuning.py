"""Optuna settings shared by every tuned model: trials, storage, study, time limit."""

from __future__ import annotations

from pydantic import BaseModel, Field

from storefront.config import PROJECT_ROOT


class TuningConfig(BaseModel):
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
