"""The final stage: candidates from the retrieval models, re-ranked by LightGBM on
point-in-time features, judged like every other model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import polars as pl

from features.config import FeatureConfig, store_dir
from features.store import open_store
from storefront.config import load_config
from training.recommender.config import RecommenderConfig
from training.recommender.data import Cases, Split, cases, sample_cases
from training.recommender.metrics import Scorer, judge, rank_all
from training.recommender.ranker import Ranker, generate, history_features, labels, store_features
from training.recommender.tuning import tune_ranker

if TYPE_CHECKING:
    from storefront.engine import EngineConfig


def open_feature_store(data_dir: Path, cfg: RecommenderConfig) -> Any:
    """The shop's feature store; the re-ranker cannot run without it."""
    if not (store_dir(data_dir) / "state.json").exists():
        raise ValueError(
            f"the re-ranker reads point-in-time features: no feature store in {data_dir}; "
            "run `storefront features build` first"
        )
    features = load_config(FeatureConfig, cfg.ranker.features_config, name="features")
    return open_store(data_dir, features.store)


def candidate_rows(
    generators: dict[str, Scorer],
    c: Cases,
    split: Split,
    store: Any,
    at: dt.datetime,
    cfg: RecommenderConfig,
) -> pl.DataFrame:
    """Candidates of ``c`` with generator, history and feature-store columns."""
    rows = generate(generators, c, cfg.ranker)
    rows = history_features(rows, c)
    return store_features(rows, c, split.catalogue, store, at).sort("case", "item")


def _cases_with_choices_among(rows: pl.DataFrame, y: pl.Series) -> pl.Series:
    """Cases whose candidates hold at least one chosen item (others teach nothing)."""
    chosen = rows.with_columns(y=y).group_by("case").agg(pl.col("y").max())
    return chosen.filter(pl.col("y") > 0)["case"]


def fit_ranker(
    generators: dict[str, Scorer],
    split: Split,
    store: Any,
    cfg: RecommenderConfig,
    engine: EngineConfig | None = None,
) -> Ranker:
    """Train on the validation window (candidates as of its start), 20% held out for
    early stopping; Optuna's trials run where ``engine`` says (``None``: here)."""
    window = sample_cases(cases(split, "validation", cfg.split), cfg.ranker.training_users, 1)
    rows = candidate_rows(generators, window, split, store, split.validation_start, cfg)
    y = labels(rows, window)
    useful = _cases_with_choices_among(rows, y)
    keep = rows["case"].is_in(useful.implode())
    rows, y = rows.filter(keep), y.filter(keep)
    held_out = rows["case"].is_in(useful.sample(fraction=0.2, seed=0).implode())
    fit_rows, fit_y = rows.filter(~held_out), y.filter(~held_out)
    valid_rows, valid_y = rows.filter(held_out), y.filter(held_out)
    params = cfg.ranker
    if cfg.tuning.trials > 0:
        params, study = tune_ranker(
            fit_rows, fit_y, valid_rows, valid_y, params, cfg.tuning, engine
        )
        mlflow.log_params({f"tuned.{k}": v for k, v in study.best_params.items()})
        mlflow.log_metrics(
            {
                "tuning.best_validation_ndcg_at_10": study.best_value,
                "tuning.trials": len(study.trials),
            }
        )
    return Ranker(params).fit(fit_rows, fit_y, valid_rows, valid_y)


def rank_final(
    ranker: Ranker,
    generators: dict[str, Scorer],
    fallback: Scorer,
    c: Cases,
    split: Split,
    store: Any,
    at: dt.datetime,
    cfg: RecommenderConfig,
) -> np.ndarray:
    """Top lists of the final stage: re-ranked candidates, then the fallback's order.

    Shoppers with no history (cold start) get the popularity ranking: the re-ranker has
    nothing personal to weigh for them.
    """
    depth = max(cfg.evaluation.ks)
    rows = candidate_rows(generators, c, split, store, at, cfg)
    if cfg.split.exclude_purchased:
        bought = pl.DataFrame(
            {
                "case": np.repeat(np.arange(len(c.bought)), [len(b) for b in c.bought]),
                "item": np.concatenate(c.bought) if c.bought else [],
            }
        ).with_columns(pl.col("case", "item").cast(rows.schema["case"]))
        rows = rows.join(bought, on=["case", "item"], how="anti")
    ordered = (
        rows.select("case", "item")
        .with_columns(score=ranker.predict(rows))
        .sort(["case", "score"], descending=[False, True])
        .group_by("case", maintain_order=True)
        .agg(pl.col("item").head(depth))
    )
    backup = rank_all(fallback, c, depth + 300, cfg.split.exclude_purchased)
    lists = dict(zip(ordered["case"].to_list(), ordered["item"].to_list(), strict=True))
    popular = rank_all(generators["popularity"], c, depth, cfg.split.exclude_purchased)
    width = popular.shape[1]  # under ``depth`` when the catalogue has fewer items
    out = np.zeros((len(c.histories), width), dtype=np.int64)
    for case in range(len(c.histories)):
        if len(c.histories[case]) == 0:
            out[case] = popular[case]
            continue
        head = list(lists.get(case, []))
        taken = set(head)
        head += [int(i) for i in backup[case] if int(i) not in taken][: width - len(head)]
        out[case] = head[:width]
    return out


def evaluate_final(
    ranker: Ranker,
    generators: dict[str, Scorer],
    fallback: Scorer,
    test: Cases,
    split: Split,
    store: Any,
    cfg: RecommenderConfig,
) -> dict[str, float]:
    """The final stage's metrics on the test window (features as of its start)."""
    ranked = rank_final(ranker, generators, fallback, test, split, store, split.test_start, cfg)
    return judge(ranked, test, cfg.evaluation.ks, split.catalogue.size)
