"""LightGBM LambdaRank re-ranker over candidates from the retrieval models.

Candidates are the union of each generator's top items (sequential model, EASE and
item-kNN co-occurrence, popularity). Each (shopper, candidate) row carries the
generators' scores and ranks, the shopper's history with the item, and point-in-time
features from the feature store as of the cutoff: the shopper's RFM and price
sensitivity, the item's price, discount, stock and popularity, the shopper's interest
in the item's category, and the item's price against the shopper's usual spend. Labels
are the items the shopper chose (purchase or add-to-cart) in the window after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from features.pipelines.affinity import affinity_share
from features.training_sets import training_set
from training.recommender.config import RankerConfig
from training.recommender.data import Cases, Catalogue
from training.recommender.metrics import BATCH, Scorer
from training.recommender.scoring import (
    ITEM_FEATURES,
    USER_FEATURES,
    generator_columns,
    history_columns,
    item_column,
    price_vs_usual,
    retrieve,
)

__all__ = ["ITEM_FEATURES", "USER_FEATURES", "Ranker", "generate", "history_features"]


def generate(generators: dict[str, Scorer], cases: Cases, cfg: RankerConfig) -> pl.DataFrame:
    """Union of each generator's top items per case, with every generator's score and
    rank (:func:`training.recommender.scoring.retrieve`, as the service retrieves)."""
    parts = []
    for start in range(0, len(cases.histories), BATCH):
        histories = cases.histories[start : start + BATCH]
        scores = {
            name: np.asarray(g(histories), dtype=np.float64) for name, g in generators.items()
        }
        r, i = retrieve(scores, cfg.candidates)
        columns = generator_columns(scores, r, i)
        frame = pl.DataFrame({"case": r + start, "item": i})
        parts.append(frame.with_columns(**{k: pl.Series(v) for k, v in columns.items()}))
    return pl.concat(parts) if parts else pl.DataFrame()


def history_features(candidates: pl.DataFrame, cases: Cases) -> pl.DataFrame:
    """How often and how recently the shopper touched each candidate before the cutoff
    (:func:`training.recommender.scoring.history_columns`)."""
    columns = history_columns(
        cases.histories, candidates["case"].to_numpy(), candidates["item"].to_numpy()
    )
    return candidates.with_columns(
        times_seen=pl.Series(columns["times_seen"]),
        steps_since_seen=pl.Series(columns["steps_since_seen"]).fill_nan(None),
    )


def read_store_features(
    candidates: pl.DataFrame, cases: Cases, catalogue: Catalogue, store: Any, at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Point-in-time features from Feast as of ``at``: the shoppers' (by ``user_id``),
    the catalogue's items' (by ``item_id``) and each shopper's interest in the
    categories of their candidates (by ``user_id`` and ``category``)."""
    stamp = pl.lit(at).cast(pl.Datetime("us", "UTC"))
    users = pl.DataFrame({"user_id": cases.user_ids}).unique()
    item_rows = pl.DataFrame({"item_id": catalogue.item_ids})
    user_feats = training_set(
        store, users.with_columns(event_timestamp=stamp),
        [f"user_features:{f}" for f in USER_FEATURES],
    )  # fmt: skip
    item_feats = training_set(
        store, item_rows.with_columns(event_timestamp=stamp),
        [f"item_features:{f}" for f in ITEM_FEATURES],
    )  # fmt: skip
    shoppers = pl.DataFrame({"case": range(len(cases.user_ids)), "user_id": cases.user_ids})
    categories = pl.DataFrame({"item": range(catalogue.size), "category": catalogue.category_names})
    pairs = (
        candidates.select(pl.col("case", "item").cast(pl.Int64))
        .join(shoppers.with_columns(pl.col("case").cast(pl.Int64)), on="case")
        .join(categories.with_columns(pl.col("item").cast(pl.Int64)), on="item")
        .select("user_id", "category")
        .unique()
    )
    interest = training_set(
        store, pairs.with_columns(event_timestamp=stamp), ["user_category_interest:interest"]
    )
    return (
        user_feats.drop("event_timestamp"),
        item_feats.drop("event_timestamp"),
        interest.drop("event_timestamp"),
    )


def join_features(
    candidates: pl.DataFrame,
    cases: Cases,
    catalogue: Catalogue,
    users: pl.DataFrame,
    items: pl.DataFrame,
    interest: pl.DataFrame,
) -> pl.DataFrame:
    """The candidate rows with the shoppers' and items' feature values (from
    :func:`read_store_features`, or the online store's for a parity check), the
    shopper's category share and the price against their usual spend."""
    shoppers = pl.DataFrame({"case": range(len(cases.user_ids)), "user_id": cases.user_ids})
    shoppers = shoppers.with_columns(pl.col("case").cast(candidates.schema["case"]))
    positions = pl.DataFrame(
        {
            "item": range(catalogue.size),
            "item_id": catalogue.item_ids,
            "category": catalogue.category_names,
        }
    ).with_columns(pl.col("item").cast(candidates.schema["item"]))
    taken = {*candidates.columns, *users.columns}
    renamed = items.rename({f: item_column(f, taken) for f in ITEM_FEATURES if f in items.columns})
    return (
        candidates.join(shoppers, on="case")
        .join(positions, on="item")
        .join(users, on="user_id", how="left")
        .join(renamed, on="item_id", how="left")
        .join(interest, on=["user_id", "category"], how="left")
        .with_columns(
            category_share=affinity_share(pl.col("interest"), pl.col("interest_total")),
            price_vs_usual=price_vs_usual(pl.col("price"), pl.col("average_order_value")),
        )
        .drop("user_id", "item_id", "category", "interest", "interest_total")
    )


def store_features(
    candidates: pl.DataFrame, cases: Cases, catalogue: Catalogue, store: Any, at: dt.datetime
) -> pl.DataFrame:
    """Point-in-time features from Feast as of ``at``, joined to the candidate rows."""
    users, items, interest = read_store_features(candidates, cases, catalogue, store, at)
    return join_features(candidates, cases, catalogue, users, items, interest)


def labels(candidates: pl.DataFrame, cases: Cases) -> pl.Series:
    """1 where the candidate is among the shopper's choices in the window."""
    sizes = [len(t) for t in cases.targets]
    chosen = pl.DataFrame(
        {
            "case": np.repeat(np.arange(len(cases.targets)), sizes),
            "item": np.concatenate(cases.targets) if cases.targets else [],
        }
    ).with_columns(pl.col("case", "item").cast(candidates.schema["case"]), label=pl.lit(1))
    joined = candidates.select("case", "item").join(chosen, on=["case", "item"], how="left")
    return joined["label"].fill_null(0)


class Ranker:
    """LambdaRank over candidate rows grouped by case."""

    name = "final"

    def __init__(self, cfg: RankerConfig) -> None:
        self.cfg = cfg
        self.booster: lgb.Booster | None = None
        self.features: list[str] = []
        self.best_score = float("nan")

    def fit(
        self,
        train: pl.DataFrame,
        train_labels: pl.Series,
        valid: pl.DataFrame | None = None,
        valid_labels: pl.Series | None = None,
        callbacks: list[Any] | None = None,
    ) -> Ranker:
        """Train on rows sorted by case (groups are consecutive rows of one case); with a
        validation set, stop early on its NDCG@10 (kept as ``best_score``)."""
        self.features = [c for c in train.columns if c not in ("case", "item")]
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "num_leaves": self.cfg.num_leaves,
            "learning_rate": self.cfg.learning_rate,
            "min_child_samples": self.cfg.min_child_samples,
            "num_threads": self.cfg.threads,
            "verbosity": -1,
        }
        dataset = self._dataset(train, train_labels)
        sets, hooks = [dataset], list(callbacks or [])
        if valid is not None and valid_labels is not None:
            sets.append(self._dataset(valid, valid_labels, reference=dataset))
            hooks.append(lgb.early_stopping(self.cfg.early_stopping, verbose=False))
        self.booster = lgb.train(
            params, dataset, self.cfg.rounds, valid_sets=sets[1:] or None, callbacks=hooks
        )
        scores = self.booster.best_score.get("valid_0", {})
        self.best_score = float(scores.get("ndcg@10", float("nan")))
        return self

    def _dataset(
        self, rows: pl.DataFrame, y: pl.Series, reference: lgb.Dataset | None = None
    ) -> lgb.Dataset:
        groups = rows.group_by("case", maintain_order=True).len()["len"].to_numpy()
        return lgb.Dataset(
            rows.select(self.features).to_numpy().astype(np.float32),
            label=y.to_numpy(),
            group=groups,
            feature_name=self.features,
            reference=reference,
            free_raw_data=True,
        )

    def predict(self, rows: pl.DataFrame) -> np.ndarray:
        assert self.booster is not None, "fit the ranker first"
        return self.booster.predict(rows.select(self.features).to_numpy().astype(np.float32))
