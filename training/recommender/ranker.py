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
from training.recommender.metrics import BATCH, Scorer, top_k

USER_FEATURES = (
    "frequency", "monetary", "recency_days", "average_order_value", "discount_share",
    "paid_to_base_ratio", "views_30d", "carts_30d", "purchases_30d", "conversion_rate_30d",
    "tenure_days", "interest_total",
)  # fmt: skip
ITEM_FEATURES = (
    "price", "discount", "promo", "stockout", "on_hand", "days_of_cover", "popularity_rank",
    "views_7d", "carts_7d", "purchases_30d", "conversion_rate_30d", "age_days", "unit_margin",
)  # fmt: skip


def generate(generators: dict[str, Scorer], cases: Cases, cfg: RankerConfig) -> pl.DataFrame:
    """Union of each generator's top items per case, with every generator's score and rank."""
    parts = []
    for start in range(0, len(cases.histories), BATCH):
        histories = cases.histories[start : start + BATCH]
        scores = {
            name: np.asarray(g(histories), dtype=np.float64) for name, g in generators.items()
        }
        chosen = np.concatenate(
            [top_k(scores[name], n) for name, n in cfg.candidates.items() if name in scores], axis=1
        )
        rows = np.repeat(np.arange(len(histories)), chosen.shape[1])
        frame = pl.DataFrame({"case": rows + start, "item": chosen.ravel()}).unique(
            maintain_order=True
        )
        r, i = frame["case"].to_numpy() - start, frame["item"].to_numpy()
        columns: dict[str, Any] = {}
        for name, matrix in scores.items():
            columns[f"{name}_score"] = matrix[r, i]
            columns[f"{name}_rank"] = candidate_ranks(matrix, r, i)
        parts.append(frame.with_columns(**{k: pl.Series(v) for k, v in columns.items()}))
    return pl.concat(parts) if parts else pl.DataFrame()


def candidate_ranks(scores: np.ndarray, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """0-based rank of each candidate ``(rows[k], items[k])`` among all items of its row
    by score, ties taking their first place (as the service ranks); ``rows`` ascending.
    One sort per row, then a binary search per candidate."""
    ordered = np.sort(-scores, axis=1)
    starts = np.searchsorted(rows, np.arange(scores.shape[0] + 1))
    out = np.empty(len(rows), dtype=np.int64)
    for row in range(scores.shape[0]):
        part = slice(starts[row], starts[row + 1])
        out[part] = np.searchsorted(ordered[row], -scores[row, items[part]], side="left")
    return out


def history_features(candidates: pl.DataFrame, cases: Cases) -> pl.DataFrame:
    """How often and how recently the shopper touched each candidate before the cutoff."""
    lengths = np.array([len(h) for h in cases.histories], dtype=np.int64)
    if not lengths.sum():
        return candidates.with_columns(times_seen=pl.lit(0), steps_since_seen=pl.lit(None))
    case = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    seen = (
        pl.DataFrame(
            {
                "case": case,
                "item": np.concatenate(cases.histories),
                "position": position,
                "length": np.repeat(lengths, lengths),
            }
        )
        .group_by("case", "item")
        .agg(
            times_seen=pl.len().cast(pl.Int64),
            last=pl.col("position").max(),
            length=pl.col("length").first(),
        )
        .with_columns(
            steps_since_seen=pl.col("length") - 1 - pl.col("last"),
            case=pl.col("case").cast(candidates.schema["case"]),
            item=pl.col("item").cast(candidates.schema["item"]),
        )
        .drop("last", "length")
    )
    return candidates.join(seen, on=["case", "item"], how="left").with_columns(
        pl.col("times_seen").fill_null(0)
    )


def store_features(
    candidates: pl.DataFrame, cases: Cases, catalogue: Catalogue, store: Any, at: dt.datetime
) -> pl.DataFrame:
    """Point-in-time features from Feast as of ``at``, joined to the candidate rows."""
    users = pl.DataFrame({"case": range(len(cases.user_ids)), "user_id": cases.user_ids})
    users = users.with_columns(pl.col("case").cast(candidates.schema["case"]))
    items = pl.DataFrame(
        {
            "item": range(catalogue.size),
            "item_id": catalogue.item_ids,
            "category": catalogue.category_names,
        }
    ).with_columns(pl.col("item").cast(candidates.schema["item"]))
    stamp = pl.lit(at).cast(pl.Datetime("us", "UTC"))
    user_rows = users.select("user_id").unique().with_columns(event_timestamp=stamp)
    item_rows = items.select("item_id").with_columns(event_timestamp=stamp)
    user_feats = training_set(store, user_rows, [f"user_features:{f}" for f in USER_FEATURES])
    item_feats = training_set(store, item_rows, [f"item_features:{f}" for f in ITEM_FEATURES])
    rows = (
        candidates.join(users, on="case")
        .join(items, on="item")
        .join(user_feats.drop("event_timestamp"), on="user_id", how="left")
        .join(item_feats.drop("event_timestamp"), on="item_id", how="left", suffix="_item")
    )
    pairs = rows.select("user_id", "category").unique().with_columns(event_timestamp=stamp)
    interest = training_set(store, pairs, ["user_category_interest:interest"])
    return (
        rows.join(interest.drop("event_timestamp"), on=["user_id", "category"], how="left")
        .with_columns(
            category_share=affinity_share(pl.col("interest"), pl.col("interest_total")),
            price_vs_usual=pl.col("price") / pl.col("average_order_value"),
        )
        .drop("user_id", "item_id", "category", "interest", "interest_total")
    )


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
