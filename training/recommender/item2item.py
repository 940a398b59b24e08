"""Item to item: similar items for a product page, bought-together add-ons for a cart.

- Similar items blend the sequential model's item vectors (which carry category and
  price, so new items have neighbours) with co-view similarity (shoppers who viewed
  one in a session viewed the other).
- Bought together mines co-purchases: a pair counts when both items are in one order
  (session); it is kept when it has enough ``support`` (orders), ``confidence``
  (P(b | a)) and ``lift`` (confidence over b's base rate).

Both are judged on the test window against popularity within the category: similar
items by whether the next item a shopper viewed after an item is among its top K; bought
together by whether an order's last item is among the add-ons for the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from training.recommender.baselines import cosine_similarity
from training.recommender.config import ItemToItemConfig
from training.recommender.metrics import top_k


def _baskets(events: pl.DataFrame, kind: str, n_items: int) -> sp.csr_matrix:
    """Sessions × items, 1 where the session holds an event of ``kind`` on the item."""
    pairs = events.filter(pl.col("event_type") == kind).select("session_id", "item").unique()
    rows = pairs["session_id"].cast(pl.Categorical).to_physical().to_numpy()
    return sp.csr_matrix(
        (np.ones(pairs.height), (rows, pairs["item"].to_numpy())),
        shape=(int(rows.max()) + 1 if len(rows) else 0, n_items),
    )


@dataclass
class SimilarItems:
    """Item vectors blended with co-view cosine similarity."""

    cfg: ItemToItemConfig
    unit_vectors: np.ndarray
    coviews: sp.csr_matrix

    @classmethod
    def fit(cls, events: pl.DataFrame, vectors: np.ndarray, cfg: ItemToItemConfig) -> SimilarItems:
        units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        return cls(cfg, units, cosine_similarity(_baskets(events, "view", len(vectors))))

    def scores(self, item: int) -> np.ndarray:
        """Co-view similarity scaled to [0, 1] per item, blended with vector cosine (which
        alone ranks items nobody has co-viewed yet, such as new ones)."""
        return self.block_scores(np.array([item]))[0]

    def block_scores(self, items: np.ndarray) -> np.ndarray:
        """:meth:`scores` of several items at once (one row each)."""
        w = self.cfg.embedding_weight
        views = self.coviews[items].toarray()
        peak = views.max(axis=1, keepdims=True)
        views = np.divide(views, peak, out=np.zeros_like(views), where=peak > 0)
        out = w * (self.unit_vectors[items] @ self.unit_vectors.T) + (1 - w) * views
        out[np.arange(len(items)), items] = -np.inf
        return out

    def neighbours(self, depth: int, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Every item's ``depth`` most similar items (best first) and their scores, in
        blocks of ``block`` items."""
        n = len(self.unit_vectors)
        depth = min(depth, n)
        items = np.zeros((n, depth), dtype=np.int64)
        scores = np.zeros((n, depth), dtype=np.float32)
        for start in range(0, n, block):
            rows = np.arange(start, min(start + block, n))
            full = self.block_scores(rows)
            items[rows] = top_k(full, depth)
            scores[rows] = np.take_along_axis(full, items[rows], axis=1)
        return items, scores


@dataclass
class BoughtTogether:
    """Association rules a -> b from co-purchases, scored by confidence."""

    cfg: ItemToItemConfig
    confidence: sp.csr_matrix  # (a, b) -> P(b | a), only pairs passing every threshold

    @classmethod
    def fit(cls, events: pl.DataFrame, n_items: int, cfg: ItemToItemConfig) -> BoughtTogether:
        baskets = _baskets(events, "purchase", n_items)
        n_orders = max(baskets.shape[0], 1)
        together = (baskets.T @ baskets).tocoo()
        counts = np.asarray(baskets.sum(axis=0)).ravel()
        a, b, support = together.row, together.col, together.data
        confidence = support / np.maximum(counts[a], 1)
        lift = confidence / np.maximum(counts[b] / n_orders, 1e-12)
        keep = (
            (a != b)
            & (support >= cfg.min_support)
            & (confidence >= cfg.min_confidence)
            & (lift >= cfg.min_lift)
        )
        matrix = sp.csr_matrix((confidence[keep], (a[keep], b[keep])), shape=(n_items, n_items))
        return cls(cfg, matrix)

    def scores(self, basket: np.ndarray, backfill: np.ndarray | None = None) -> np.ndarray:
        """Best rule confidence from any basket item to each candidate add-on; where no
        rule speaks, ``backfill`` (e.g. popularity in the basket's categories) orders
        the rest below every rule."""
        out = self.confidence[basket].max(axis=0).toarray().ravel()
        if backfill is not None:
            finite = np.isfinite(backfill)
            scale = max(float(np.abs(backfill[finite]).max()), 1.0) if finite.any() else 1.0
            out = np.where(out > 0, 1.0 + out, np.where(finite, backfill / scale, -np.inf))
        out[basket] = -np.inf
        return out


def category_popularity(events: pl.DataFrame, category: np.ndarray) -> np.ndarray:
    """Items' purchase (then view) counts, to rank within a category."""
    n = len(category)
    bought = np.bincount(
        events.filter(pl.col("event_type") == "purchase")["item"].to_numpy(), minlength=n
    )
    seen = np.bincount(events["item"].to_numpy(), minlength=n)
    return bought + seen / max(seen.max(), 1)


def _within_category(popularity: np.ndarray, category: np.ndarray, item: int) -> np.ndarray:
    return np.where(category == category[item], popularity, -np.inf)


def _hit(scores: np.ndarray, target: int, k: int) -> bool:
    top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return bool(target in top and np.isfinite(scores[target]))


def evaluate_similar(
    model: SimilarItems,
    test: pl.DataFrame,
    popularity: np.ndarray,
    category: np.ndarray,
    k: int,
    limit: int = 5000,
) -> dict[str, float]:
    """Hit rate@k of the next item viewed in the same session, vs category popularity."""
    views = test.filter(pl.col("event_type") == "view").sort("timestamp")
    pairs = (
        views.with_columns(next_item=pl.col("item").shift(-1).over("session_id"))
        .drop_nulls("next_item")
        .filter(pl.col("item") != pl.col("next_item"))
        .head(limit)
    )
    hits = baseline = 0
    for item, nxt in pairs.select("item", "next_item").iter_rows():
        hits += _hit(model.scores(item), nxt, k)
        baseline += _hit(_within_category(popularity, category, item), nxt, k)
    n = max(pairs.height, 1)
    return {
        "pairs": float(pairs.height),
        f"hit@{k}": hits / n,
        f"category_popular.hit@{k}": baseline / n,
    }


def evaluate_bought_together(
    model: BoughtTogether,
    test: pl.DataFrame,
    popularity: np.ndarray,
    category: np.ndarray,
    k: int,
) -> dict[str, float]:
    """Hit rate@k of an order's last item given the rest, vs category popularity."""
    orders = (
        test.filter(pl.col("event_type") == "purchase")
        .sort("timestamp")
        .group_by("session_id", maintain_order=True)
        .agg(pl.col("item").unique(maintain_order=True))
        .filter(pl.col("item").list.len() >= 2)
    )
    hits = baseline = 0
    for (items,) in orders.select("item").iter_rows():
        basket, target = np.asarray(items[:-1]), items[-1]
        in_categories = np.where(np.isin(category, category[basket]), popularity, -np.inf)
        hits += _hit(model.scores(basket, backfill=in_categories), target, k)
        baseline += _hit(_within_category(popularity, category, int(basket[-1])), target, k)
    n = max(orders.height, 1)
    return {
        "orders": float(orders.height),
        f"hit@{k}": hits / n,
        f"category_popular.hit@{k}": baseline / n,
    }
