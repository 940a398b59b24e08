"""Promotion of the recommender: champion and challenger rank the same shoppers of the
test window (the same histories, items before the window) and are judged by the gate of
``configs/recommender.yaml``: the primary metric not worse beyond a tolerance, and the
guardrails (coverage, cold shoppers, new items) not worse beyond theirs."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from storefront.feeds import read_feeds
from training.recommender.config import RecommenderConfig
from training.recommender.data import Cases, cases, temporal_split
from training.recommender.metrics import judge
from training.registry import Gate, Promotion, Rule, promote_on_holdout
from training.tracking import use_experiment

__all__ = ["FAMILY", "Promotion", "gate", "holdout_metrics", "holdout_score", "promote"]
FAMILY = "recommender"


def _holdout(data_dir: Path, cfg: RecommenderConfig) -> tuple[Cases, list[str], int]:
    feeds = read_feeds(data_dir, required=("events", "catalog"))
    split = temporal_split(feeds.events, feeds.catalog, cfg.split)
    return cases(split, "test", cfg.split), list(split.catalogue.item_ids), split.catalogue.size


def holdout_metrics(
    model_uri: str, test: Cases, ids: list[str], n_items: int, cfg: RecommenderConfig
) -> dict[str, float]:
    """Every metric (slices included) of the model's top lists for the ``test`` cases."""
    frame = pd.DataFrame(
        {"history": [[ids[i] for i in h] for h in test.histories], "k": max(cfg.evaluation.ks)}
    )
    answers = mlflow.pyfunc.load_model(model_uri).predict(frame)
    index = {item: k for k, item in enumerate(ids)}
    ranked = np.array([[index.get(i, 0) for i in row] for row in answers["item_ids"]])
    return judge(ranked, test, cfg.evaluation.ks, n_items)


def holdout_score(model_uri: str, data_dir: Path, cfg: RecommenderConfig) -> float:
    """The model's primary metric on the test window of the feeds in ``data_dir``."""
    test, ids, n = _holdout(data_dir, cfg)
    return holdout_metrics(model_uri, test, ids, n, cfg)[cfg.evaluation.primary_metric]


def gate(cfg: RecommenderConfig) -> Gate:
    """The primary metric and the configured guardrails, all higher-is-better."""
    settings = cfg.gate
    return Gate(
        Rule(cfg.evaluation.primary_metric, "not_worse", settings.primary_tolerance),
        tuple(Rule(m, "not_worse", tol) for m, tol in settings.guardrails.items()),
    )


def promote(name: str, data_dir: Path, cfg: RecommenderConfig, force: bool = False) -> Promotion:
    """Judge challenger against champion on the same holdout with the gate; move
    ``champion`` if every check passes, or if ``force``. Recorded as a run of the
    ``promotions`` experiment (``FAILED`` / ``KILLED`` when anything fails).

    Raises:
        ValueError: The model has no champion or no challenger.
    """
    use_experiment(cfg.tracking.tracking_uri, "promotions")
    holdout: list[tuple[Cases, list[str], int]] = []

    def score(uri: str) -> dict[str, float]:
        if not holdout:
            holdout.append(_holdout(data_dir, cfg))
        return holdout_metrics(uri, *holdout[0], cfg)

    return promote_on_holdout(name, score, gate(cfg), force, FAMILY, data_dir=data_dir)
