"""Promotion of the demand model: champion and challenger forecast the same holdout
(the last horizon of the shop's demand rows, uncensored periods) and are judged by the
demand model's own metric, WAPE (lower is better)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mlflow
import numpy as np
import polars as pl

from features.pipelines.demand import period_days
from training.demand.config import DemandConfig
from training.demand.evaluate import wape
from training.demand.features import model_rows
from training.demand.pipeline import read_demand
from training.registry import Promotion, promote_on_holdout
from training.tracking import use_experiment

__all__ = ["holdout_rows", "holdout_wape", "promote_demand"]
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


def holdout_wape(model_uri: str, test: pl.DataFrame) -> float:
    """WAPE of the registered demand model ``model_uri`` (its mean forecast) on ``test``.

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
    return wape(test["units"].to_numpy(), forecast)


def promote_demand(name: str, data_dir: Path, cfg: DemandConfig, force: bool = False) -> Promotion:
    """Compare the demand challenger and champion on the same holdout by WAPE; move
    ``champion`` unless the challenger's WAPE is higher, or if ``force``. Recorded as a
    run of the ``promotions`` experiment (``FAILED`` when anything fails).

    Args:
        name: Registered demand model name.
        data_dir: The shop whose feature store holds the demand rows.
        cfg: Horizon, lags and windows (as the models were trained), tracking URI.
        force: Promote even when the challenger is worse (recorded).

    Raises:
        ValueError: No champion or challenger, no demand rows, or no holdout.
    """
    use_experiment(cfg.tracking_uri, "promotions")
    test = holdout_rows(data_dir, cfg)
    return promote_on_holdout(
        name, lambda uri: holdout_wape(uri, test), METRIC, lower_is_better=True, force=force
    )
