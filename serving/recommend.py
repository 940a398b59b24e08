"""The recommendation path: features, retrieval, re-rank, business rules, fallbacks.

One online read for the shopper (snapshot + recent activity) and one batched read for
the candidates (packed item vectors, with the shopper's interest in their categories);
with ``item_cache_seconds`` > 0 (the default) the item vectors come from a catalogue
table re-read in the background and the interest is read with the shopper instead, so
a request touches the store only for its shopper. Retrieval is the union of
each generator's top items (sequential model on the champion's embeddings, item-kNN and
EASE co-occurrence, popularity); LightGBM LambdaRank orders them; the business rules
filter and diversify. Whatever fails (feature store, a model) falls back to the last
good copy or to popularity, flagged ``degraded``; an exception never reaches the client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serving.config import RecommendConfig
from serving.engine import Engine
from serving.reader import Features
from serving.rules import BusinessRules, Candidates, apply_rules
from serving.shop import Shop
from storefront.clock import Clock, SystemClock
from training.recommender.ranker import ITEM_FEATURES, USER_FEATURES

log = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass
class Answer:
    """A ranked answer before it becomes a response body."""

    items: list[str]
    scores: list[float]
    strategy: str
    degraded: list[str] = field(default_factory=list)


def _in_stock(row: dict[str, Any] | None) -> bool:
    if row is None:
        return True  # unknown stock: keep (no inventory feed means unlimited stock)
    if row.get("stockout") == 1.0:
        return False
    on_hand = row.get("on_hand")
    return on_hand is None or on_hand > 0


def _ranks(scores: np.ndarray, items: np.ndarray) -> np.ndarray:
    """0-based rank of ``items`` among all items by score (training's generator ranks;
    ties, rare in float scores, take their first place)."""
    ordered = np.sort(-scores)
    return np.searchsorted(ordered, -scores[items], side="left").astype(np.float64)


class Recommender:
    """Recommendations for one request, given the current engines and feature reader.

    Args:
        engines: Loaded model versions by alias.
        shop: The shop's catalogue and popularity (last resort).
        features: The online feature reader and last-good copies.
        rules: The business rules.
        cfg: Candidate counts and depths.
        purchases: ``(user_id, since) -> item ids`` bought through the service lately.
        clock: Business time: "bought in the last N days" counts back from its now
            (default the wall clock).
    """

    def __init__(
        self,
        engines: dict[str, Engine],
        shop: Shop,
        features: Features,
        rules: BusinessRules,
        cfg: RecommendConfig,
        purchases: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self.engines, self.shop, self.features = engines, shop, features
        self.rules, self.cfg, self.purchases = rules, cfg, purchases
        self.clock: Clock = clock or SystemClock()

    def engine(self, alias: str, degraded: list[str]) -> Engine | None:
        """The engine of ``alias`` (the champion when the challenger is not loaded)."""
        if alias in self.engines:
            return self.engines[alias]
        if alias != "champion":
            degraded.append(f"{alias}_not_loaded")
        if "champion" in self.engines:
            return self.engines["champion"]
        degraded.append("no_model")
        return None

    def _bought(self, engine: Engine, user_id: str | None, degraded: list[str]) -> set[int]:
        """Positions the shopper bought within ``exclude_bought_days`` of the clock's now
        (as of training, and through the service since)."""
        if not user_id or self.rules.exclude_bought_days <= 0:
            return set()
        since = self.clock.now().timestamp() - self.rules.exclude_bought_days * DAY
        bought = engine.purchases(user_id, since)
        if self.purchases is not None:
            try:
                recent = self.purchases(user_id, since)
                bought |= {engine.index[i] for i in recent if i in engine.index}
            except Exception as exc:
                log.warning("recent purchases unavailable: %s", exc)
                degraded.append("event_store_unavailable")
        return bought

    def _finish(
        self,
        engine: Engine,
        positions: np.ndarray,
        k: int,
        bought: set[int],
        degraded: list[str],
        rules: BusinessRules | None = None,
        rows: dict[str, dict[str, Any]] | None = None,
    ) -> tuple[list[str], list[float]]:
        """Apply the rules to candidates (best first); their features are read in one
        batch unless given."""
        ids = engine.item_ids[positions].tolist()
        if rows is None:
            rows, _ = self.features.candidates(ids, degraded)
        ranked = Candidates(
            items=positions,
            item_ids=ids,
            categories=engine.categories[positions].tolist(),
            in_stock=np.array([_in_stock(rows.get(i)) for i in ids], bool),
            promo=np.array([float((rows.get(i) or {}).get("promo") or 0.0) for i in ids]),
        )
        chosen, scores = apply_rules(ranked, rules or self.rules, bought, k)
        return [ids[i] for i in chosen], scores

    def popular(self, k: int, category: str | None, degraded: list[str]) -> Answer:
        """Popular items (optionally in one category): the cold-start answer."""
        engine = self.engine("champion", [])
        if engine is None:
            items = [
                i
                for i in self.shop.popular
                if category is None or self.shop.categories.get(i) == category
            ][:k]
            return Answer(
                items,
                [1.0 - r / max(len(items), 1) for r in range(len(items))],
                "popularity",
                degraded,
            )
        scores = engine.popularity.copy()
        if category is not None:
            scores[engine.categories != category] = -np.inf
        top = np.argsort(-scores, kind="stable")[: self.cfg.candidates]
        top = top[np.isfinite(scores[top])]
        items, final = self._finish(engine, top, k, set(), degraded)
        return Answer(items, final, "popularity", degraded)

    def recommend(
        self,
        user_id: str | None,
        k: int,
        page_type: str,
        cart: list[str],
        category: str | None,
        item_id: str | None,
        alias: str = "champion",
    ) -> tuple[Answer, str | None]:
        """The answer and the version that made it."""
        degraded: list[str] = []
        engine = self.engine(alias, degraded)
        if engine is None:
            return self.popular(k, category, degraded), None
        if page_type == "product" and item_id and item_id in engine.index:
            return self.similar(engine, item_id, k, category, degraded), engine.version
        if page_type == "cart" and cart:
            basket = np.array([engine.index[i] for i in cart if i in engine.index], dtype=np.int64)
            if len(basket):
                return self.bought_together(engine, basket, k, degraded), engine.version
        user, _ = self.features.user(user_id, degraded)
        recent = list(user.get("last_viewed_items") or [])[: self.cfg.recent_items]
        history = engine.history(user_id, recent)
        if len(history) == 0:
            return self.popular(k, category, degraded), engine.version
        bought = self._bought(engine, user_id, degraded)
        scores = engine.generator_scores(history)
        mask = np.ones(engine.n, bool) if category is None else engine.categories == category
        candidates = self._candidates(scores, mask)
        if len(candidates) == 0:
            return self.popular(k, category, degraded), engine.version
        strategy = "retrieval"
        rerank = engine.ranker is not None and bool(user)
        rows, interest = self.features.candidates(
            engine.item_ids[candidates].tolist(),
            degraded,
            user_id if rerank and "category_share" in engine.features else None,
            engine.categories[candidates].tolist(),
        )
        if rerank:
            try:
                order = self._rerank(engine, user, history, scores, candidates, rows, interest)
                candidates, strategy = candidates[order], "reranked"
            except Exception as exc:  # a broken ranker must not break the answer
                log.warning("re-ranking failed: %s", exc)
                degraded.append("ranker_failed")
        items, final = self._finish(engine, candidates, k, bought, degraded, rows=rows)
        return Answer(items, final, strategy, degraded), engine.version

    def _candidates(self, scores: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        """Union of each generator's top items (allowed by ``mask``), sequential first."""
        chosen: list[int] = []
        seen: set[int] = set()
        for name, depth in self.cfg.generator_depth.items():
            if name not in scores:
                continue
            s = np.where(mask, scores[name], -np.inf)
            top = np.argpartition(-s, min(depth, len(s) - 1))[:depth]
            top = top[np.argsort(-s[top], kind="stable")]
            for i in top.tolist():
                if np.isfinite(s[i]) and i not in seen:
                    seen.add(i)
                    chosen.append(i)
        return np.asarray(chosen[: self.cfg.candidates], dtype=np.int64)

    def _rerank(
        self,
        engine: Engine,
        user: dict[str, Any],
        history: np.ndarray,
        scores: dict[str, np.ndarray],
        candidates: np.ndarray,
        rows: dict[str, dict[str, Any]],
        interest: dict[str, float],
    ) -> np.ndarray:
        """Order of ``candidates`` by the re-ranker (features built as in training)."""
        n = len(candidates)
        columns: dict[str, np.ndarray] = {}
        for name, s in scores.items():
            columns[f"{name}_score"] = s[candidates]
            columns[f"{name}_rank"] = _ranks(s, candidates)
        positions = {int(item): step for step, item in enumerate(history.tolist())}
        counts = np.bincount(history, minlength=engine.n)
        columns["times_seen"] = counts[candidates].astype(np.float64)
        last = len(history) - 1
        columns["steps_since_seen"] = np.array(
            [last - positions[c] if c in positions else np.nan for c in candidates.tolist()]
        )
        for name in USER_FEATURES:
            value = user.get(name)
            columns[name] = np.full(n, float(value) if value is not None else np.nan)
        ids = engine.item_ids[candidates].tolist()
        for name in ITEM_FEATURES:
            values = [(rows.get(i) or {}).get(name) for i in ids]
            target = f"{name}_item" if f"{name}_item" in engine.features else name
            columns[target] = np.array([np.nan if v is None else v for v in values], np.float64)
        categories = engine.categories[candidates]
        if "category_share" in engine.features:
            total = user.get("interest_total")
            share = np.array(
                [
                    2.0 ** (interest[c] - total) if c in interest and total is not None else np.nan
                    for c in categories
                ]
            )
            columns["category_share"] = share
        if "price_vs_usual" in engine.features:
            usual = user.get("average_order_value")
            price = columns.get("price", np.full(n, np.nan))
            columns["price_vs_usual"] = price / usual if usual else np.full(n, np.nan)
        matrix = np.column_stack(
            [columns.get(f, np.full(n, np.nan)).astype(np.float64) for f in engine.features]
        ).astype(np.float32)
        scores = engine.ranker.predict(matrix, num_threads=1)
        return np.argsort(-scores, kind="stable")

    def similar(
        self, engine: Engine, item_id: str, k: int, category: str | None, degraded: list[str]
    ) -> Answer:
        """Items similar to ``item_id`` that are in stock."""
        neighbours, _ = engine.similar(engine.index[item_id])
        if category is not None:
            neighbours = neighbours[engine.categories[neighbours] == category]
        loose = self.rules.model_copy(
            update={"max_per_category": max(k, 1), "exclude_bought_days": 0}
        )
        items, scores = self._finish(engine, neighbours, k, set(), degraded, loose)
        return Answer(items, scores, "similar_items", degraded)

    def bought_together(
        self, engine: Engine, basket: np.ndarray, k: int, degraded: list[str]
    ) -> Answer:
        """Add-ons for a cart: co-purchase rules, then popular items of its categories."""
        scores = engine.bought_together(basket)
        top = np.argsort(-scores, kind="stable")[: self.cfg.candidates]
        top = top[np.isfinite(scores[top])]
        loose = self.rules.model_copy(update={"exclude_bought_days": 0})
        items, final = self._finish(engine, top, k, set(), degraded, loose)
        return Answer(items, final, "bought_together", degraded)
