"""``storefront train recommender``: split, fit every model, judge all on the same
test window, and record the run in MLflow."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import mlflow
import numpy as np
import polars as pl
import scipy.sparse as sp

from storefront.feeds import read_feeds
from storefront.feeds.schemas import SCHEMAS
from storefront.workspace import workspace
from training.recommender.baselines import EASE, ItemKNN, Popularity
from training.recommender.config import RecommenderConfig
from training.recommender.data import Cases, Split, cases, sample_cases, temporal_split
from training.recommender.item2item import (
    BoughtTogether,
    SimilarItems,
    category_popularity,
    evaluate_bought_together,
    evaluate_similar,
)
from training.recommender.metrics import evaluate
from training.recommender.packaging import ServingExtras, log_recommender
from training.recommender.ranker import Ranker
from training.recommender.reranking import evaluate_final, fit_ranker, open_feature_store
from training.recommender.sequential import SequentialRecommender
from training.recommender.tracking import log_plots, log_results, metric_key
from training.registry import register
from training.tracking import (
    day_range,
    log_curve,
    log_dataset,
    run_name,
    run_tags,
    tracked_run,
    use_experiment,
)

if TYPE_CHECKING:
    from storefront.engine import EngineConfig

log = logging.getLogger(__name__)
FAMILY = "recommender"
Step = Callable[[str], None]
VALIDATION_USERS = 2000
"""Shoppers sampled from the validation window for early stopping."""
SERVING_NEIGHBOURS = 50
"""Similar items kept per item for serving."""
EASE_WEIGHTS_PER_ITEM = 256
"""Largest EASE weights kept per item for serving (the dense matrix grows as n²)."""
RECENT_PURCHASES = 50
"""Most recent purchases kept per shopper for serving (exclude recently bought)."""


class Scores(Protocol):
    name: str

    def score(self, histories: list[np.ndarray]) -> np.ndarray: ...


@dataclass
class TrainingReport:
    """What a training run measured (metrics by model, on the test window)."""

    run_id: str
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    train_seconds: dict[str, float] = field(default_factory=dict)
    primary_metric: str = "ndcg@10"
    model_version: str | None = None
    item_to_item: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The figures a scheduled job reads (``--metrics-out``)."""
        return {
            "run_id": self.run_id,
            "primary_metric": self.primary_metric,
            "model_version": self.model_version,
            "train_seconds": self.train_seconds,
            "models": self.results,
            "item_to_item": self.item_to_item,
        }


def fit_models(
    split: Split, cfg: RecommenderConfig, step: Step | None = None
) -> tuple[dict[str, Scores], dict[str, float]]:
    """Fit the baselines and the sequential model on the training window.

    Returns:
        The fitted models by name, and their training seconds.
    """
    n, train = split.catalogue.size, split.train
    popularity = Popularity(cfg.popularity)
    models: dict[str, Scores] = {}
    seconds: dict[str, float] = {}
    for model in (popularity, ItemKNN(cfg.itemknn), EASE(cfg.ease)):
        if step:
            step(f"fit {model.name}")
        started = time.perf_counter()
        models[model.name] = model.fit(train, n)
        seconds[model.name] = round(time.perf_counter() - started, 2)
    validation = sample_cases(cases(split, "validation", cfg.split), VALIDATION_USERS)
    sequential = SequentialRecommender(split.catalogue, cfg.sequential, popularity.score)
    if step:
        step("fit sequential")
    started = time.perf_counter()
    sequential.fit(
        train,
        validate=lambda m: evaluate(m.score, validation, [10], n)["ndcg@10"],
        on_epoch=(lambda epoch, loss: step(f"sequential epoch {epoch}, loss {loss:.3f}"))
        if step
        else None,
    )
    seconds[sequential.name] = round(time.perf_counter() - started, 2)
    models[sequential.name] = sequential
    return models, seconds


def train_recommender(
    data_dir: Path,
    cfg: RecommenderConfig,
    step: Step | None = None,
    engine: EngineConfig | None = None,
) -> TrainingReport:
    """Train and judge every recommender on the feeds in ``data_dir``; one MLflow run.
    ``engine``: where the re-ranker's tuning trials run (``None``: this process).

    Raises:
        FeedValidationError: The feeds break the contract or lack events / catalog.
        ValueError: The events are too short for the configured windows.
    """
    feeds = read_feeds(data_dir, required=("events", "catalog"))
    split = temporal_split(feeds.events, feeds.catalog, cfg.split)
    test = cases(split, "test", cfg.split)
    use_experiment(cfg.tracking.tracking_uri, cfg.tracking.experiment)
    tags = run_tags(FAMILY, data_dir, cfg, day_range(feeds.events, "timestamp"))
    with tracked_run(run_name(FAMILY, data_dir), tags=tags) as run:
        mlflow.log_params(
            {
                "data_dir": str(Path(data_dir).resolve()),
                "items": split.catalogue.size,
                "train_events": split.train.height,
                "test_users": len(test.user_ids),
                "validation_start": split.validation_start.isoformat(),
                "test_start": split.test_start.isoformat(),
                **{f"split.{k}": v for k, v in cfg.split.model_dump().items()},
                **{f"sequential.{k}": v for k, v in cfg.sequential.model_dump().items()},
                "ease.l2": cfg.ease.l2,
                "itemknn.neighbours": cfg.itemknn.neighbours,
            }
        )
        log_inputs(data_dir, feeds.events, split)
        models, seconds = fit_models(split, cfg, step)
        report = TrainingReport(run.info.run_id, train_seconds=seconds)
        report.primary_metric = cfg.evaluation.primary_metric
        for name, model in models.items():
            if step:
                step(f"evaluate {name}")
            report.results[name] = evaluate(
                model.score,
                test,
                cfg.evaluation.ks,
                split.catalogue.size,
                exclude_bought=cfg.split.exclude_purchased,
            )
        ranker = None
        if cfg.ranker.enabled:
            ranker = _final_stage(Path(data_dir), split, test, models, cfg, report, step, engine)
        if step:
            step("item to item: similar items and bought together")
        report.item_to_item = item_to_item(split, models, cfg)
        mlflow.log_metrics(
            {
                metric_key(f"item2item/{kind}", name): value
                for kind, metrics in report.item_to_item.items()
                for name, value in metrics.items()
            }
        )
        log_results(report.results, served="final" if "final" in report.results else "sequential")
        mlflow.log_metrics({f"train_seconds/{n}": s for n, s in report.train_seconds.items()})
        log_plots(report.results, cfg.evaluation.ks)
        mlflow.log_dict(report.to_json(), "evaluation.json")
        if isinstance(models.get("sequential"), SequentialRecommender):
            log_sequential_curve(models["sequential"].history)  # type: ignore[attr-defined]
        if step:
            step("log the model and register it as challenger")
        report.model_version = _register(split, models, cfg, ranker)
    return report


def log_inputs(data_dir: Path, events: pl.DataFrame, split: Split) -> None:
    """The events feed's three windows (training, validation, test) as the run's input
    datasets, each with the feed file as its source."""
    source = workspace(data_dir).feed_file(SCHEMAS["events"].file_name)
    when = pl.col("timestamp")
    windows = {
        "training": when < split.validation_start,
        "validation": (when >= split.validation_start) & (when < split.test_start),
        "test": when >= split.test_start,
    }
    for context, rows in windows.items():
        log_dataset(events.filter(rows), source, context, f"events ({context} window)")


def log_sequential_curve(history: list[dict[str, float]]) -> None:
    """The sequential model's loss (and validation NDCG@10) per epoch, as step metrics."""
    names = {"loss": "loss", "validation": "validation_ndcg_at_10"}
    log_curve(
        {
            f"curve/sequential/{label}": [record[key] for record in history if key in record]
            for key, label in names.items()
        }
    )


def _final_stage(
    data_dir: Path,
    split: Split,
    test: Cases,
    models: dict[str, Scores],
    cfg: RecommenderConfig,
    report: TrainingReport,
    step: Step | None,
    engine: EngineConfig | None = None,
) -> Ranker:
    """Fit the re-ranker on the validation window (its tuning trials where ``engine``
    says), judge it on the test window and log its parameters and feature importance
    into the active run; returns the ranker."""
    if step:
        step("fit the re-ranker (LightGBM LambdaRank on point-in-time features)")
    store = open_feature_store(data_dir, cfg)
    generators = {name: model.score for name, model in models.items()}
    started = time.perf_counter()
    ranker = fit_ranker(generators, split, store, cfg, engine)
    retrieval = sum(report.train_seconds.values())
    report.train_seconds["final"] = round(time.perf_counter() - started + retrieval, 2)
    if step:
        step("evaluate final")
    report.results["final"] = evaluate_final(
        ranker, generators, models["sequential"].score, test, split, store, cfg
    )
    mlflow.log_params({f"ranker.{k}": v for k, v in cfg.ranker.model_dump().items()})
    gains = ranker.booster.feature_importance("gain").tolist()
    mlflow.log_dict(
        dict(zip(ranker.features, gains, strict=True)), "ranker_feature_importance.json"
    )
    return ranker


def item_to_item(
    split: Split, models: dict[str, Scores], cfg: RecommenderConfig
) -> dict[str, dict[str, float]]:
    """Fit similar items and bought together before the test window; judge them in it."""
    before = split.before(split.test_start)
    during = split.events.filter(pl.col("timestamp") >= split.test_start)
    category = split.catalogue.category
    sequential = models["sequential"]
    assert isinstance(sequential, SequentialRecommender)
    popular = category_popularity(before, category)
    k = cfg.item2item.k
    similar = SimilarItems.fit(before, sequential.item_embeddings(), cfg.item2item)
    together = BoughtTogether.fit(before, split.catalogue.size, cfg.item2item)
    return {
        "similar_items": evaluate_similar(similar, during, popular, category, k),
        "bought_together": evaluate_bought_together(together, during, popular, category, k),
    }


def _register(
    split: Split, models: dict[str, Scores], cfg: RecommenderConfig, ranker: Ranker | None
) -> str:
    """Log the serving package (sequential model, recent popularity, shoppers' recent
    items as of the last event, the re-ranker and item-to-item tables) and register it
    as the new challenger."""
    sequential = models["sequential"]
    assert isinstance(sequential, SequentialRecommender)
    recent = Popularity(cfg.popularity).fit(split.events, split.catalogue.size).scores
    histories = {
        user: np.asarray(items[-cfg.sequential.max_length :], dtype=np.int64)
        for user, items in split.events.group_by("user_id", maintain_order=True)
        .agg(pl.col("item"))
        .iter_rows()
    }
    _log_embeddings(sequential, split, histories)
    extras = serving_extras(split, models, cfg, ranker)
    uri = log_recommender(sequential, recent, histories, extras)
    return register(uri, cfg.tracking.model_name)


def _top_rows(matrix: np.ndarray | sp.spmatrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest entries as a sparse matrix."""
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    k = min(k, dense.shape[1])
    cols = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(dense.shape[0]), k)
    values = np.take_along_axis(dense, cols, axis=1).ravel()
    keep = values != 0
    return sp.csr_matrix(
        (values[keep], (rows[keep], cols.ravel()[keep])), shape=dense.shape, dtype=np.float32
    )


def serving_extras(
    split: Split, models: dict[str, Scores], cfg: RecommenderConfig, ranker: Ranker | None
) -> ServingExtras:
    """The service's tables, fitted on every event: co-occurrence generators, the
    re-ranker, similar items, bought-together rules and recent purchases."""
    sequential = models["sequential"]
    assert isinstance(sequential, SequentialRecommender)
    n = split.catalogue.size
    generators: dict[str, sp.csr_matrix] = {}
    if isinstance(models.get("itemknn"), ItemKNN):
        generators["itemknn"] = models["itemknn"].similarity.tocsr()  # type: ignore[attr-defined]
    if isinstance(models.get("ease"), EASE):
        generators["ease"] = _top_rows(models["ease"].weights, EASE_WEIGHTS_PER_ITEM)  # type: ignore[attr-defined]
    similar = SimilarItems.fit(split.events, sequential.item_embeddings(), cfg.item2item)
    neighbours, scores = similar.neighbours(min(SERVING_NEIGHBOURS, max(n - 1, 1)))
    together = BoughtTogether.fit(split.events, n, cfg.item2item)
    bought = (
        split.events.filter(pl.col("event_type") == "purchase")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("item").tail(RECENT_PURCHASES), pl.col("timestamp").tail(RECENT_PURCHASES))
    )
    purchases = {
        user: (
            np.asarray(items, dtype=np.int64),
            np.array([t.timestamp() for t in times], dtype=np.float64),
        )
        for user, items, times in bought.iter_rows()
    }
    return ServingExtras(
        ranker_model=ranker.booster.model_to_string() if ranker and ranker.booster else None,
        ranker_features=list(ranker.features) if ranker else [],
        candidates=dict(cfg.ranker.candidates),
        generators=generators,
        similar_items=neighbours,
        similar_scores=scores,
        bought_together=together.confidence.tocsr(),
        item_popularity=category_popularity(split.events, split.catalogue.category),
        purchases=purchases,
    )


def _log_embeddings(
    sequential: SequentialRecommender, split: Split, histories: dict[str, np.ndarray]
) -> None:
    """Item vectors and each known shopper's vector (after their recent items) as
    parquet artifacts, for serving and for nearest-neighbour indexes."""
    users = list(histories)
    user_vectors = (
        np.concatenate(
            [
                sequential.user_embeddings([histories[u] for u in users[start : start + 1024]])
                for start in range(0, len(users), 1024)
            ]
        )
        if users
        else np.zeros((0, sequential.cfg.dim))
    )
    with tempfile.TemporaryDirectory() as tmp:
        items = pl.DataFrame(
            {"item_id": split.catalogue.item_ids, "vector": sequential.item_embeddings()}
        )
        shoppers = pl.DataFrame({"user_id": users, "vector": user_vectors})
        items.write_parquet(Path(tmp) / "item_embeddings.parquet")
        shoppers.write_parquet(Path(tmp) / "user_embeddings.parquet")
        mlflow.log_artifacts(tmp, "embeddings")


def write_metrics(report: TrainingReport, path: Path) -> None:
    """Write the report's figures as JSON (for scheduled jobs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2))
