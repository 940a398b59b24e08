"""Training: recommenders, the demand model, price elasticities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from jobs.shop import open_shop, require_feeds
from storefront.config import load_config
from storefront.engine import EngineConfig, load_engine
from storefront.progress import console, progress_bar

if TYPE_CHECKING:
    from training.demand.pipeline import DemandReport
    from training.elasticity.pipeline import ElasticityReport
    from training.recommender.pipeline import TrainingReport


@dataclass(frozen=True)
class ElasticityJob:
    """Elasticity estimates, where pricing reads them, and the interval level."""

    report: ElasticityReport
    estimates_path: Path
    confidence: float


C = TypeVar("C", bound=BaseModel)

RECOMMENDER_NEEDS = {
    "events": "the shoppers' views, carts or purchases to learn from",
    "catalog": "the items to recommend",
}


def _engine() -> EngineConfig | None:
    """The configured engine when it is Ray (``configs/engine.yaml``), else ``None``:
    the local path never loads Ray."""
    engine = load_engine()
    return engine if engine.distributed else None


def _with_trials(cfg: C, trials: int) -> C:
    """``cfg`` with ``trials`` Optuna trials first (unchanged when 0)."""
    if not trials:
        return cfg
    tuning = cfg.tuning.model_copy(update={"trials": trials})  # type: ignore[attr-defined]
    return cfg.model_copy(update={"tuning": tuning})


def recommender(
    data_dir: Path | None,
    config: Path | None = None,
    name: str = "recommender",
    trials: int = 0,
    metrics_out: Path | None = None,
) -> TrainingReport:
    """Fit every recommender on one temporal split, log the run, register the model.

    Args:
        data_dir: The shop folder.
        config: Recommender YAML (default ``configs/<name>.yaml``).
        name: Config file stem when ``config`` is not given.
        trials: Optuna trials of the re-ranker first (0: no tuning).
        metrics_out: Also write the evaluation figures as JSON here.
    """
    from training.recommender.config import RecommenderConfig
    from training.recommender.pipeline import train_recommender, write_metrics

    folder = open_shop(data_dir)
    cfg = load_config(RecommenderConfig, config, name=name)
    require_feeds(folder, "train recommender", RECOMMENDER_NEEDS)
    cfg = _with_trials(cfg, trials)
    with progress_bar("training recommenders", None):
        report = train_recommender(folder, cfg, step=lambda s: console.log(f"recommender: {s}"),
                                   engine=_engine())  # fmt: skip
    if metrics_out is not None:
        write_metrics(report, metrics_out)
    return report


def demand(
    data_dir: Path | None,
    config: Path | None = None,
    trials: int = 0,
    metrics_out: Path | None = None,
) -> DemandReport:
    """Fit the global demand model, judge it against seasonal naive, write forecasts.

    Args:
        data_dir: The shop folder.
        config: Demand YAML (default ``configs/demand.yaml``).
        trials: Optuna trials first (0: no tuning).
        metrics_out: Also write the evaluation figures as JSON here.
    """
    from training.demand.config import DemandConfig
    from training.demand.pipeline import train_demand, write_metrics

    folder = open_shop(data_dir)
    cfg = load_config(DemandConfig, config, name="demand")
    cfg = _with_trials(cfg, trials)
    with progress_bar("training the demand model", None):
        report = train_demand(folder, cfg, step=lambda s: console.log(f"demand: {s}"),
                              engine=_engine())  # fmt: skip
    if metrics_out is not None:
        write_metrics(report, metrics_out)
    return report


def elasticity(
    data_dir: Path | None, config: Path | None = None, estimates_out: Path | None = None
) -> ElasticityJob:
    """Estimate per-item elasticities by double ML, kept for pricing.

    Args:
        data_dir: The shop folder.
        config: Elasticity YAML (default ``configs/elasticity.yaml``).
        estimates_out: Also write the per-item table as parquet here.
    """
    from training.elasticity.config import ElasticityConfig
    from training.elasticity.pipeline import estimates_path, train_elasticity

    folder = open_shop(data_dir)
    cfg = load_config(ElasticityConfig, config, name="elasticity")
    with progress_bar("estimating price elasticities", None):
        report = train_elasticity(folder, cfg)
    if estimates_out is not None:
        estimates_out.parent.mkdir(parents=True, exist_ok=True)
        report.estimates.write_parquet(estimates_out)
    return ElasticityJob(report, estimates_path(folder), cfg.confidence)
