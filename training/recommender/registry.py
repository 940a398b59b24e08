"""Model registry by alias: every new version is the ``challenger``; the first one is
also the ``champion``; promotion moves ``champion`` only when the challenger is not
worse on the same holdout (or when forced, which the promotion run records)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from storefront.feeds import read_feeds
from training.recommender.config import RecommenderConfig
from training.recommender.data import cases, temporal_split
from training.recommender.metrics import judge
from training.recommender.tracking import metric_key
from training.registry import Promotion, promote_on_holdout
from training.tracking import use_experiment

__all__ = ["Promotion", "holdout_score", "promote"]


def holdout_score(model_uri: str, data_dir: Path, cfg: RecommenderConfig) -> float:
    """The model's primary metric on the test window of the feeds in ``data_dir``; every
    model gets the same shoppers and the same histories (items before the window)."""
    feeds = read_feeds(data_dir, required=("events", "catalog"))
    split = temporal_split(feeds.events, feeds.catalog, cfg.split)
    test = cases(split, "test", cfg.split)
    ids = split.catalogue.item_ids
    frame = pd.DataFrame(
        {"history": [ids[h].tolist() for h in test.histories], "k": max(cfg.evaluation.ks)}
    )
    answers = mlflow.pyfunc.load_model(model_uri).predict(frame)
    index = {item: k for k, item in enumerate(ids)}
    ranked = np.array([[index.get(i, 0) for i in row] for row in answers["item_ids"]])
    return judge(ranked, test, cfg.evaluation.ks, split.catalogue.size)[
        cfg.evaluation.primary_metric
    ]


def promote(name: str, data_dir: Path, cfg: RecommenderConfig, force: bool = False) -> Promotion:
    """Compare challenger and champion on the same holdout; move ``champion`` if the
    challenger is not worse on the primary metric, or if ``force``. Recorded as a run
    (``FAILED`` when anything fails).

    Raises:
        ValueError: The model has no champion or no challenger.
    """
    use_experiment(cfg.tracking.tracking_uri, "promotions")
    metric = cfg.evaluation.primary_metric
    return promote_on_holdout(
        name,
        lambda uri: holdout_score(uri, data_dir, cfg),
        metric,
        force=force,
        metric_names=(metric_key("champion", metric), metric_key("challenger", metric)),
    )
