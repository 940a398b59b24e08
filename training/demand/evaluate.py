"""Forecast accuracy on the last horizon: WAPE, bias, RMSSE and pinball loss, with the
seasonal-naive forecast as the baseline. Censored (out-of-stock) periods are left out:
their units are not demand."""

from __future__ import annotations

import numpy as np
import polars as pl

from training.demand.features import SERIES


def seasonal_naive(
    history: pl.DataFrame, test: pl.DataFrame, season: int, period_days: int
) -> pl.Series:
    """Each test period's value one or more seasons before, from the last observed season
    of the training history (periods further ahead than a season repeat it)."""
    last = history["period_start"].max()
    lookup = history.select(*SERIES, "period_start", naive="units")
    steps = ((test["period_start"] - last).dt.total_days() // period_days).to_numpy()
    back = (np.ceil(steps / season) * season).astype(np.int64)
    source = test.select(*SERIES, "period_start").with_columns(
        period_start=pl.col("period_start") - pl.duration(days=pl.Series(back * period_days))
    )
    return source.join(lookup, on=[*SERIES, "period_start"], how="left")["naive"].fill_null(0.0)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Sum of absolute errors over the sum of actuals."""
    return float(np.abs(actual - forecast).sum() / max(actual.sum(), 1e-12))


def bias(actual: np.ndarray, forecast: np.ndarray) -> float:
    """``|mean forecast - mean actual| / mean actual``: how far the forecasts run high
    or low in total (0: unbiased)."""
    return float(abs(forecast.sum() - actual.sum()) / max(actual.sum(), 1e-12))


def rmsse(test: pl.DataFrame, history: pl.DataFrame, column: str) -> float:
    """Root mean squared scaled error, averaged over series (M5's scale: the mean squared
    one-step change of the series' training history)."""
    scale = (
        history.sort(*SERIES, "period_start")
        .group_by(SERIES, maintain_order=True)
        .agg(scale=(pl.col("units").diff() ** 2).mean())
        .filter(pl.col("scale") > 0)
    )
    per_series = (
        test.group_by(SERIES)
        .agg(mse=((pl.col("units") - pl.col(column)) ** 2).mean())
        .join(scale, on=list(SERIES))
        .select((pl.col("mse") / pl.col("scale")).sqrt().alias("rmsse"))
    )
    return float(per_series["rmsse"].mean())


def pinball(actual: np.ndarray, predicted: np.ndarray, q: float) -> float:
    """Mean quantile loss at level ``q``."""
    diff = actual - predicted
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def evaluate(
    history: pl.DataFrame,
    test: pl.DataFrame,
    quantiles: list[float],
    season: int,
    period_days: int,
) -> dict[str, dict[str, float]]:
    """Model vs seasonal naive. ``test`` holds units, forecast and quantile columns.

    Pinball loss is averaged over the quantiles; the naive forecast uses its point value
    for every quantile.
    """
    test = test.filter(~pl.col("censored")).with_columns(
        naive=seasonal_naive(history, test.filter(~pl.col("censored")), season, period_days)
    )
    y = test["units"].to_numpy()
    names = [f"p{round(q * 100):d}" for q in quantiles]
    results: dict[str, dict[str, float]] = {}
    for label, column, bands in (("model", "forecast", names), ("seasonal_naive", "naive", None)):
        point = test[column].to_numpy()
        losses = [
            pinball(y, test[band].to_numpy() if bands else point, q)
            for q, band in zip(quantiles, bands or names, strict=True)
        ]
        results[label] = {
            "wape": wape(y, point),
            "bias": bias(y, point),
            "rmsse": rmsse(test, history, column),
            "pinball": float(np.mean(losses)),
        }
    results["model"]["periods"] = float(test.height)
    return results
