"""One model version ready for per-request scoring: retrieval, re-ranker, item to item.

Built once from a loaded pyfunc (:class:`training.recommender.packaging.RecommenderModel`
and its :class:`~training.recommender.packaging.ServingExtras`); every array is by
catalogue position. The re-ranker's feature columns are rebuilt exactly as training
built them (:mod:`training.recommender.ranker`): generator scores and ranks over the
whole catalogue, the shopper's history with the item, user and item features, category
interest share and price against the shopper's usual spend (one scoring path:
:mod:`training.recommender.scoring`, used by :mod:`serving.recommend`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.models import LoadedModel


def _row_sum(matrix: Any, rows: np.ndarray) -> np.ndarray:
    """Sum of a CSR matrix's ``rows`` as a dense vector (without scipy's per-call cost)."""
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(matrix.shape[1])
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return np.bincount(
        matrix.indices[offsets], weights=matrix.data[offsets], minlength=matrix.shape[1]
    )


class Engine:
    """Scoring of one model version.

    Args:
        loaded: The loaded model version.
    """

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        model = loaded.model
        self.model = model
        cat = model.sequential.catalogue
        self.item_ids: np.ndarray = np.asarray(cat.item_ids).astype(str)
        self.categories: np.ndarray = np.asarray(cat.category_names).astype(str)
        self.index: dict[str, int] = {item: k for k, item in enumerate(self.item_ids)}
        self.category_set: frozenset[str] = frozenset(self.categories.tolist())
        self.n = len(self.item_ids)
        self.popularity = np.asarray(model.popularity, dtype=np.float64)
        self.max_length = model.sequential.cfg.max_length
        self.extras = getattr(model, "extras", None)
        self.ranker: Any = None
        self.features: list[str] = []
        if self.extras is not None and self.extras.ranker_model:
            import lightgbm as lgb

            self.ranker = lgb.Booster(model_str=self.extras.ranker_model)
            self.features = list(self.extras.ranker_features)
        self.depths: dict[str, int] = dict(
            self.extras.candidates if self.extras is not None else {"sequential": 100}
        )
        """How many top items each generator proposes (the trained model's setting)."""

    @property
    def version(self) -> str:
        return self.loaded.version

    def history(self, user_id: str | None, recent: list[str]) -> np.ndarray:
        """The shopper's items, oldest first: as of training, then recent views online."""
        known = self.model.histories.get(user_id, np.zeros(0, np.int64)) if user_id else None
        known = known if known is not None else np.zeros(0, np.int64)
        tail = set(known[-len(recent) :].tolist()) if len(recent) else set()
        extra = [self.index[i] for i in reversed(recent) if i in self.index]
        extra = [i for i in extra if i not in tail]
        if not extra:
            return known
        return np.concatenate([known, np.asarray(extra, dtype=np.int64)])[-self.max_length :]

    def sequential(self, history: np.ndarray) -> np.ndarray:
        """Sequential model scores of every item after ``history`` (as training scores,
        :meth:`training.recommender.sequential.SequentialRecommender.score`)."""
        return self.model.sequential.score([history])[0].astype(np.float64)

    def generator_scores(self, history: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of every item by each generator the re-ranker knows (and sequential)."""
        scores = {"sequential": self.sequential(history), "popularity": self.popularity}
        if self.extras is not None:
            unique = np.unique(history)
            for name, matrix in self.extras.generators.items():
                scores[name] = _row_sum(matrix, unique)
        return scores

    def similar(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """Items similar to ``item`` (co-views blended with vectors), best first."""
        if self.extras is not None:
            return self.extras.similar_items[item], self.extras.similar_scores[item]
        units = self.model.unit_vectors
        scores = units @ units[item]
        scores[item] = -np.inf
        top = np.argsort(-scores)[:50]
        return top, scores[top]

    def bought_together(self, basket: np.ndarray) -> np.ndarray:
        """Add-on scores for a basket: rule confidence, then popularity in its categories."""
        popular = (
            self.extras.item_popularity if self.extras is not None else self.popularity
        ).astype(np.float64)
        in_categories = np.isin(self.categories, self.categories[basket])
        backfill = np.where(in_categories, popular, -np.inf)
        scale = max(float(popular.max()), 1.0)
        out = np.where(in_categories, backfill / scale, -np.inf)
        if self.extras is not None and self.extras.bought_together.nnz:
            rules = self.extras.bought_together[basket].max(axis=0).toarray().ravel()
            out = np.where(rules > 0, 1.0 + rules, out)
        out[basket] = -np.inf
        return out

    def purchases(self, user_id: str | None, since: float) -> set[int]:
        """Items the shopper bought since ``since`` (epoch seconds), as of training."""
        if not user_id or self.extras is None or user_id not in self.extras.purchases:
            return set()
        items, times = self.extras.purchases[user_id]
        return set(items[times >= since].tolist())
