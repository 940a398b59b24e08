"""``storefront train demand``: the feature store's demand rows → direct multi-horizon
LightGBM model with quantiles → judged on the last horizon against seasonal naive →
an MLflow run with a forecast plot → registered as the demand challenger."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import mlflow
import polars as pl

from features.config import store_dir
from features.pipelines.demand import period_days
from features.tables import DEMAND
from storefront.engine import EngineConfig
from training.demand.config import DemandConfig
from training.demand.evaluate import evaluate
from training.demand.features import SERIES, model_rows
from training.demand.forecast import FORECAST_FILE, forecast_ahead, forecast_path
from training.demand.model import DemandModel, quantile_name
from training.demand.tuning import tune_demand
from training.registry import CHAMPION, alias_version, register, write_atomically
from training.tracking import (
    day_range,
    log_curve,
    log_dataset,
    plt,
    run_name,
    run_tags,
    tracked_run,
    use_experiment,
)

Step = Callable[[str], None]
FAMILY = "demand"
FORECASTS_ARTIFACT = "forecasts"
"""Folder of a demand run's artifacts that holds its forecasts (``demand.parquet``)."""


@dataclass
class DemandReport:
    """What a demand training measured on the last horizon."""

    run_id: str
    period_days: int
    horizon: int
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    train_seconds: float = 0.0
    model_version: str | None = None
    forecast_path: Path | None = None
    """Where the forecasts were published for pricing (``None``: not published — the
    version is a challenger; promoting it publishes them)."""
    forecasts_held: bool = False
    """Forecasts were made but wait in the run (a challenger's) until promotion."""

    def to_json(self) -> dict[str, object]:
        """The figures a scheduled job reads (``--metrics-out``)."""
        return {
            "run_id": self.run_id,
            "period_days": self.period_days,
            "horizon": self.horizon,
            "train_s": self.train_seconds,
            "model_version": self.model_version,
            "forecast_path": str(self.forecast_path) if self.forecast_path else None,
            **self.results,
        }


def read_demand(data_dir: Path) -> pl.DataFrame:
    """The demand table of the shop's feature store (built by ``features build``)."""
    folder = DEMAND.offline_dir(store_dir(data_dir))
    if not any(folder.glob("*.parquet")):
        raise ValueError(
            f"no demand rows in the feature store of {data_dir}; run `storefront features build`"
        )
    return pl.read_parquet(folder / "*.parquet").sort(*SERIES, "period_start")


def _plot(history: pl.DataFrame, forecast: pl.DataFrame, quantiles: list[float]) -> object:
    """Actuals and forecast fans of the four busiest series."""
    busiest = (
        forecast.group_by(SERIES).agg(pl.col("units").sum()).sort("units", descending=True).head(4)
    )
    fig, axes = plt.subplots(2, 2, figsize=(11, 6))
    low, high = quantile_name(min(quantiles)), quantile_name(max(quantiles))
    for ax, (item, location, _) in zip(axes.ravel(), busiest.iter_rows(), strict=False):
        key = (pl.col("item_id") == item) & (pl.col("location_id") == location)
        ahead = forecast.filter(key).sort("period_start")
        past = history.filter(key).tail(3 * ahead.height)
        ax.plot(past["period_start"], past["units"], color="grey", label="history")
        ax.plot(ahead["period_start"], ahead["units"], color="black", label="actual")
        ax.plot(ahead["period_start"], ahead["forecast"], color="tab:blue", label="forecast")
        ax.fill_between(
            ahead["period_start"], ahead[low], ahead[high], alpha=0.25, label=f"{low}-{high}"
        )
        ax.set_title(f"{item} @ {location}", fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def train_demand(
    data_dir: Path, cfg: DemandConfig, step: Step | None = None, engine: EngineConfig | None = None
) -> DemandReport:
    """Fit on everything before the last horizon, judge on it, track and register.
    ``engine``: where the fits and tuning trials run (``None``: this process).

    Raises:
        ValueError: No demand table in the feature store, or history shorter than the
            horizon.
    """
    demand = read_demand(data_dir)
    days = period_days(demand)
    season = cfg.season or (7 if days == 1 else 52)
    rows = model_rows(demand, days, cfg)
    last = rows["period_start"].max()
    cutoff = last - dt.timedelta(days=cfg.horizon * days)
    train = rows.filter(pl.col("period_start") <= cutoff)
    test = rows.filter(pl.col("period_start") > cutoff)
    if train.is_empty() or test.is_empty():
        raise ValueError(f"the demand history is shorter than the horizon ({cfg.horizon} periods)")
    use_experiment(cfg.tracking_uri, cfg.experiment)
    tags = run_tags(FAMILY, data_dir, cfg, day_range(demand, "period_start"))
    with tracked_run(run_name(FAMILY, data_dir), tags=tags) as run:
        params = cfg.model_dump(exclude={"tracking_uri"})
        mlflow.log_params(
            {
                "data_dir": str(Path(data_dir).resolve()),
                "period_days": days,
                "season": season,
                "strategy": "direct: one model, every lag at least the horizon old",
                "train_rows": train.height,
                "test_rows": test.height,
                **params,
            }
        )
        source = DEMAND.offline_dir(store_dir(data_dir))
        log_dataset(train, source, "training", "demand rows (training)", targets="units")
        log_dataset(test, source, "test", "demand rows (last horizon)", targets="units")
        if cfg.tuning.trials:
            if step:
                step(f"tune with Optuna ({cfg.tuning.trials} trials on a validation horizon)")
            cfg, study = tune_demand(train, days, cfg, engine)
            mlflow.log_params({f"tuned.{k}": v for k, v in study.best_params.items()})
            mlflow.log_metric("tuning/validation_wape", study.best_value)
        if step:
            step(f"fit the global model on {train.height:,} rows")
        started = time.perf_counter()
        curve: dict[str, dict[str, list[float]]] = {}
        model = DemandModel(cfg, engine).fit(
            train,
            valid=test.filter(~pl.col("censored")),
            callbacks=[lgb.record_evaluation(curve)],
        )
        log_curve(
            {f"curve/holdout_{name}": values for name, values in curve.get("valid", {}).items()}
        )
        report = DemandReport(run.info.run_id, days, cfg.horizon)
        report.train_seconds = round(time.perf_counter() - started, 2)
        if step:
            step(f"forecast the last {cfg.horizon} periods and evaluate")
        predicted = test.join(model.predict(test), on=[*SERIES, "period_start"])
        report.results = evaluate(train, predicted, cfg.quantiles, season, days)
        mlflow.log_metrics(metric_names(report.results) | {"train_seconds": report.train_seconds})
        fig = _plot(train, predicted, cfg.quantiles)
        mlflow.log_figure(fig, "plots/forecast.png")
        plt.close(fig)
        ahead = None
        if cfg.forecast_ahead:
            if step:
                step(f"refit on all {rows.height:,} rows, forecast {cfg.horizon} periods ahead")
            model = DemandModel(cfg, engine).fit(rows)
            ahead = forecast_ahead(model, demand, days, cfg)
            with tempfile.TemporaryDirectory() as tmp:
                ahead.write_parquet(Path(tmp) / FORECAST_FILE)
                mlflow.log_artifact(str(Path(tmp) / FORECAST_FILE), FORECASTS_ARTIFACT)
        info = mlflow.lightgbm.log_model(
            model.mean, name="demand", pip_requirements=["lightgbm==4.7.0", "pandas==2.3.3"]
        )
        report.model_version = register(info.model_uri, cfg.model_name, family=FAMILY)
        if ahead is not None:
            report.forecast_path = publish_forecasts(ahead, data_dir, cfg.model_name,
                                                     report.model_version)  # fmt: skip
            report.forecasts_held = report.forecast_path is None
    return report


def metric_names(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """The model's figures as ``test/<metric>``, seasonal naive's as
    ``baseline/seasonal_naive/<metric>``."""
    named = {f"test/{k}": v for k, v in results["model"].items()}
    for who, values in results.items():
        if who != "model":
            named |= {f"baseline/{who}/{k}": v for k, v in values.items()}
    return named


def publish_forecasts(
    ahead: pl.DataFrame, data_dir: Path, model_name: str, version: str
) -> Path | None:
    """Write ``ahead`` where pricing and serving read forecasts when ``version`` is the
    champion, or when the shop has none yet (nothing to protect); a challenger's
    forecasts wait in its run until it is promoted.

    Returns:
        The published path, or ``None`` when nothing was written.
    """
    path = forecast_path(data_dir)
    if alias_version(model_name, CHAMPION) != version and path.exists():
        return None
    write_atomically(ahead, path)
    return path


def write_metrics(report: DemandReport, path: Path) -> None:
    """Write the report's figures as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2))
