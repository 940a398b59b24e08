"""Promotion of the demand model: champion and challenger forecast the same holdout
(the last horizon of the shop's demand rows, uncensored periods) and are judged by the
gate of ``configs/demand.yaml``: WAPE (lower is better) not worse beyond a tolerance,
and the forecast bias within a bound. The new champion's forecasts are published where
pricing and ``/forecast`` read them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mlflow
import numpy as np
import polars as pl

from features.pipelines.demand import period_days
from training.demand.config import DemandConfig
from training.demand.evaluate import bias, wape
from training.demand.features import model_rows
from training.demand.forecast import FORECAST_FILE, forecast_path
from training.demand.pipeline import FORECASTS_ARTIFACT, read_demand
from training.registry import Gate, Promotion, Rule, promote_on_holdout, publish_artifacts
from training.tracking import use_experiment

__all__ = ["gate", "holdout_metrics", "holdout_rows", "holdout_wape", "promote_demand"]
FAMILY = "demand"
METRIC = "wape"


def holdout_rows(data_dir: Path, cfg: DemandConfig) -> pl.DataFrame:
    """The model rows of the last ``cfg.horizon`` periods, censored ones left out (their
    units are not demand): what ``train demand`` judges a model on.

    Raises:
        ValueError: No demand table in the feature store, or nothing to judge on.
    """
    demand = read_demand(data_dir)
    days = period_days(demand)
    rows = model_rows(demand, days, cfg)
    cutoff = rows["period_start"].max() - dt.timedelta(days=cfg.horizon * days)
    test = rows.filter((pl.col("period_start") > cutoff) & ~pl.col("censored"))
    if test.is_empty() or rows.height == test.height:
        raise ValueError(
            f"no holdout: the demand history of {data_dir} is not longer than the horizon "
            f"({cfg.horizon} periods) or every period in it is censored"
        )
    return test


def holdout_metrics(model_uri: str, test: pl.DataFrame) -> dict[str, float]:
    """WAPE and bias of the registered demand model ``model_uri`` (its mean forecast)
    on ``test``.

    Args:
        model_uri: A LightGBM demand model (``models:/storefront-demand@champion``).
        test: Model rows with ``units`` (:func:`holdout_rows`).

    Raises:
        ValueError: The model needs feature columns the rows lack (it was trained with
            other lags or windows than the configuration).
    """
    booster = mlflow.lightgbm.load_model(model_uri)
    features = list(booster.feature_name())
    missing = [c for c in features if c not in test.columns]
    if missing:
        raise ValueError(
            f"{model_uri} needs features the demand configuration does not build: "
            f"{', '.join(missing)} (train it again, or promote with its configuration)"
        )
    forecast = np.maximum(booster.predict(test.select(features).to_pandas()), 0.0)
    actual = test["units"].to_numpy()
    return {"wape": wape(actual, forecast), "bias": bias(actual, forecast)}


def holdout_wape(model_uri: str, test: pl.DataFrame) -> float:
    """WAPE of the registered demand model ``model_uri`` on ``test``."""
    return holdout_metrics(model_uri, test)["wape"]


def gate(cfg: DemandConfig) -> Gate:
    """WAPE not worse beyond ``gate.wape_tolerance``; bias at most ``gate.max_bias``."""
    return Gate(
        Rule(METRIC, "not_worse", cfg.gate.wape_tolerance, lower_is_better=True),
        (Rule("bias", "at_most", cfg.gate.max_bias, lower_is_better=True),),
    )


def publish(name: str, version: str, data_dir: Path) -> tuple[list[Path], str | None]:
    """Write version ``version``'s forecasts (its run's artifact) where readers look."""
    artifact = f"{FORECASTS_ARTIFACT}/{FORECAST_FILE}"
    return publish_artifacts(name, version, data_dir, {artifact: forecast_path(data_dir)})


def promote_demand(name: str, data_dir: Path, cfg: DemandConfig, force: bool = False) -> Promotion:
    """Judge the demand challenger against the champion on the same holdout with the
    gate; move ``champion`` (and publish its forecasts) if every check passes, or if
    ``force``. Recorded as a run of the ``promotions`` experiment (``FAILED`` /
    ``KILLED`` when anything fails).

    Args:
        name: Registered demand model name.
        data_dir: The shop whose feature store holds the demand rows.
        cfg: Horizon, lags and windows (as the models were trained), gate, tracking URI.
        force: Promote even when a check fails (recorded).

    Raises:
        ValueError: No champion or challenger, no demand rows, or no holdout.
    """
    use_experiment(cfg.tracking_uri, "promotions")
    holdout: list[pl.DataFrame] = []

    def score(uri: str) -> dict[str, float]:
        if not holdout:
            holdout.append(holdout_rows(data_dir, cfg))
        return holdout_metrics(uri, holdout[0])

    return promote_on_holdout(
        name, score, gate(cfg), force, FAMILY,
        publish=lambda version: publish(name, version, data_dir), data_dir=data_dir,
    )  # fmt: skip
