"""Settings of demand forecasting (``configs/demand.yaml``)."""

from __future__ import annotations

from pydantic import Field

from storefront.config import Settings
from training.tuning import TuningConfig


class GateConfig(Settings):
    """The quality gate of ``models promote``: challenger against champion on the same
    holdout (the last horizon)."""

    wape_tolerance: float = Field(default=0.01, ge=0)
    """The challenger's WAPE may be at most this much above the champion's (absolute)."""
    max_bias: float = Field(default=0.2, ge=0)
    """Most ``|mean forecast - mean actual| / mean actual`` the challenger may have."""


class DemandConfig(Settings):
    """Horizon, features, LightGBM parameters and tracking of the demand model."""

    horizon: int = Field(default=28, ge=1)
    """Periods ahead (days for daily panels, weeks for weekly ones)."""
    season: int | None = None
    """Seasonal period for the seasonal-naive baseline; default 7 daily, 52 weekly."""
    lag_offsets: list[int] = Field(default_factory=lambda: [0, 7, 14, 21])
    """Lags are ``horizon + offset`` periods: every lag is known at the forecast origin."""
    rolling_windows: list[int] = Field(default_factory=lambda: [7, 28, 91])
    quantiles: list[float] = Field(default_factory=lambda: [0.1, 0.5, 0.9])
    tweedie_variance_power: float = Field(default=1.2, gt=1, lt=2)
    num_leaves: int = Field(default=63, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    rounds: int = Field(default=400, ge=1)
    min_child_samples: int = Field(default=50, ge=1)
    feature_fraction: float = Field(default=0.8, gt=0, le=1)
    threads: int = Field(default=2, ge=1)
    max_training_rows: int = Field(default=2_000_000, ge=1000)
    """Most recent rows kept for training (older history informs the lags only)."""
    tuning: TuningConfig = Field(default_factory=lambda: TuningConfig(study="demand"))
    """Optuna search on a validation horizon before the final fit (``--tune``)."""
    forecast_ahead: bool = True
    """Refit on all history and write forecasts for the horizon after the data."""
    tracking_uri: str | None = None
    experiment: str = "demand"
    model_name: str = "storefront-demand"
    gate: GateConfig = Field(default_factory=GateConfig)
