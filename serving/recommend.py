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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serving.config import RecommendConfig
from serving.engine import Engine
from serving.reader import Features
from serving.rules import BusinessRules, Candidates, apply_rules
from serving.shop import Shop
from storefront.clock import Clock, SystemClock
from training.recommender import scoring

log = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass
class Answer:
    """A ranked answer before it becomes a response body."""

    items: list[str]
    scores: list[float]
    """The ranking model's score of each item (non-increasing; see :func:`apply_rules`)."""
    strategy: str
    degraded: list[str] = field(default_factory=list)
    unknown: dict[str, list[str]] = field(default_factory=dict)
    """Request field -> values the shop does not know (e.g. ``context.category``)."""
    short_reason: str | None = None
    """Why fewer than k items (``not_enough_candidates``); ``None`` when k came back."""


@dataclass(frozen=True)
class Ranked:
    """Candidates of one shopper ranked by the model, before the business rules.

    Attributes:
        items: Catalogue positions, best first.
        scores: Their scores (the re-ranker's; the sequential model's when not re-ranked).
        strategy: ``reranked`` or ``retrieval``.
        candidates: The business rules' input for them (stock, promotion, categories).
    """

    items: np.ndarray
    scores: np.ndarray
    strategy: str
    candidates: Candidates


def _in_stock(row: dict[str, Any] | None) -> bool:
    if row is None:
        return True  # unknown stock: keep (no inventory feed means unlimited stock)
    if row.get("stockout") == 1.0:
        return False
    on_hand = row.get("on_hand")
    return on_hand is None or on_hand > 0


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
        activity: Recent items through the service by shopper and session
            (:class:`serving.activity.RecentActivity`), or ``None``.
        rankings: Shoppers' ranked feeds kept for reuse
            (:class:`serving.rankings.RankingCache`), or ``None``.
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
        activity: Any = None,
        rankings: Any = None,
    ) -> None:
        self.engines, self.shop, self.features = engines, shop, features
        self.rules, self.cfg, self.purchases = rules, cfg, purchases
        self.clock: Clock = clock or SystemClock()
        self.activity, self.rankings = activity, rankings

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

    def availability(self, item_ids: list[str]) -> dict[str, bool]:
        """Whether each item is in stock (``True`` where the feature store does not say)."""
        rows, _ = self.features.candidates(list(item_ids), [])
        return {i: _in_stock(rows.get(i)) for i in item_ids}

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

    def _prepare(
        self,
        engine: Engine,
        positions: np.ndarray,
        scores: np.ndarray | None,
        degraded: list[str],
        rows: dict[str, dict[str, Any]] | None = None,
    ) -> Candidates:
        """The rules' input for candidates (best first, with the model's scores); their
        features are read in one batch unless given."""
        ids = engine.item_ids[positions].tolist()
        if rows is None:
            rows, _ = self.features.candidates(ids, degraded)
        empty: dict[str, Any] = {}
        return Candidates(
            items=positions,
            item_ids=ids,
            categories=engine.categories[positions].tolist(),
            in_stock=np.array([_in_stock(rows.get(i)) for i in ids], bool),
            promo=np.array([float((rows.get(i) or empty).get("promo") or 0.0) for i in ids]),
            scores=scores,
        )

    def _finish(
        self,
        engine: Engine,
        positions: np.ndarray,
        scores: np.ndarray | None,
        k: int,
        degraded: list[str],
        *,
        bought: set[int] | None = None,
        exclude: set[int] | None = None,
        rules: BusinessRules | None = None,
        prepared: Candidates | None = None,
    ) -> tuple[list[str], list[float]]:
        """Apply the rules to candidates (``prepared`` if given, else built here)."""
        ranked = prepared or self._prepare(engine, positions, scores, degraded)
        chosen, final = apply_rules(
            ranked, rules or self.rules, bought or set(), k, exclude or set()
        )
        return [ranked.item_ids[i] for i in chosen], final

    def _answer(
        self, items: list[str], scores: list[float], strategy: str, k: int,
        degraded: list[str], unknown: dict[str, list[str]],
    ) -> Answer:  # fmt: skip
        short = "not_enough_candidates" if len(items) < k else None
        return Answer(items, scores, strategy, degraded, unknown, short)

    def popular(
        self,
        k: int,
        category: str | None,
        degraded: list[str],
        exclude: Sequence[str] = (),
        unknown: dict[str, list[str]] | None = None,
    ) -> Answer:
        """Popular items (optionally in one category): the cold-start answer; scores are
        the items' popularity (purchases, then views)."""
        unknown = dict(unknown or {})
        engine = self.engine("champion", [])
        if engine is None:
            items = [
                i
                for i in self.shop.popular
                if (category is None or self.shop.categories.get(i) == category)
                and i not in set(exclude)
            ][:k]
            scores = [1.0 - r / max(len(items), 1) for r in range(len(items))]
            return self._answer(items, scores, "popularity", k, degraded, unknown)
        category = self._known_category(engine, category, unknown)
        scores = engine.popularity.copy()
        if category is not None:
            scores[engine.categories != category] = -np.inf
        depth = max(self.cfg.candidates or 0, 100, 3 * k)
        top = _top(scores, depth)
        items, final = self._finish(
            engine, top, scores[top], k, degraded, exclude=self._positions(engine, exclude, unknown)
        )
        return self._answer(items, final, "popularity", k, degraded, unknown)

    @staticmethod
    def _known_category(
        engine: Engine, category: str | None, unknown: dict[str, list[str]]
    ) -> str | None:
        """``category`` if the catalogue has it; else ``None`` (no filter), named."""
        if category is None or category in engine.category_set:
            return category
        unknown.setdefault("context.category", []).append(category)
        return None

    @staticmethod
    def _positions(
        engine: Engine,
        ids: Sequence[str],
        unknown: dict[str, list[str]],
        field: str = "context.exclude",
    ) -> set[int]:
        """Catalogue positions of ``ids``; ids not in the catalogue are named."""
        missing = [i for i in ids if i not in engine.index]
        if missing:
            unknown.setdefault(field, []).extend(missing)
        return {engine.index[i] for i in ids if i in engine.index}

    def recommend(
        self,
        user_id: str | None,
        k: int,
        page_type: str,
        cart: list[str],
        category: str | None,
        item_id: str | None,
        alias: str = "champion",
        *,
        exclude: Sequence[str] = (),
        session_id: str | None = None,
    ) -> tuple[Answer, str | None]:
        """The answer and the version that made it.

        An unknown category is not applied (the answer names it in ``unknown``); an
        unknown product or cart items fall back to the shopper's feed, named likewise.
        A visitor known only by ``session_id`` is personalised from the session's
        recent activity through ``/events``.
        """
        degraded: list[str] = []
        unknown: dict[str, list[str]] = {}
        engine = self.engine(alias, degraded)
        if engine is None:
            return self.popular(k, category, degraded, exclude), None
        excluded = self._positions(engine, exclude, unknown)
        category = self._known_category(engine, category, unknown)
        if page_type == "product" and item_id:
            if item_id in engine.index:
                answer = self.similar(engine, item_id, k, category, degraded, excluded)
                answer.unknown = unknown
                return answer, engine.version
            unknown.setdefault("context.item_id", []).append(item_id)
        if page_type == "cart" and cart:
            basket = np.array(
                sorted(self._positions(engine, cart, unknown, "context.cart_items")), np.int64
            )
            if len(basket):
                answer = self.bought_together(engine, basket, k, degraded, excluded)
                answer.unknown = unknown
                return answer, engine.version
        ranked = self.cached_rank(engine, user_id, session_id, category, degraded)
        if ranked is None:
            return self.popular(k, category, degraded, exclude, unknown), engine.version
        bought = self._bought(engine, user_id, degraded)
        items, final = self._finish(
            engine, ranked.items, ranked.scores, k, degraded,
            bought=bought, exclude=excluded, prepared=ranked.candidates,
        )  # fmt: skip
        return self._answer(items, final, ranked.strategy, k, degraded, unknown), engine.version

    def history(
        self, engine: Engine, user_id: str | None, session_id: str | None, degraded: list[str]
    ) -> tuple[dict[str, Any], np.ndarray]:
        """The shopper's online features and history (training's, then recent items from
        the online store and from the service's recent activity)."""
        user, _ = self.features.user(user_id, degraded)
        recent = list(self.activity.recent(user_id, session_id)) if self.activity else []
        recent += [i for i in user.get("last_viewed_items") or [] if i not in set(recent)]
        return user, engine.history(user_id, recent[: self.cfg.recent_items])

    def cached_rank(
        self,
        engine: Engine,
        user_id: str | None,
        session_id: str | None = None,
        category: str | None = None,
        degraded: list[str] | None = None,
    ) -> Ranked | None:
        """:meth:`rank`, from the ranking cache when the shopper's feed (no category)
        was ranked lately by this engine and they have not acted since."""
        degraded = degraded if degraded is not None else []
        cache = self.rankings
        if cache is None or not cache.enabled or category is not None:
            return self.rank(engine, user_id, session_id, category, degraded)
        key = f"u:{user_id}" if user_id else f"s:{session_id}"
        stamp = self.activity.stamp(user_id, session_id) if self.activity is not None else 0
        ranked = cache.get(key, engine, stamp)
        if ranked is not None:
            return ranked
        before = len(degraded)
        ranked = self.rank(engine, user_id, session_id, None, degraded)
        if ranked is not None and len(degraded) == before:  # a degraded ranking is not kept
            cache.put(key, engine, stamp, ranked)
        return ranked

    def warm(self, users: list[str], stop: Any = None) -> int:
        """Rank ``users``' feeds into the ranking cache (the champion's); how many."""
        engine = self.engines.get("champion")
        if engine is None or self.rankings is None or not self.rankings.enabled:
            return 0
        return self.rankings.warm(lambda u: self.cached_rank(engine, u), users, stop)

    def rank(
        self,
        engine: Engine,
        user_id: str | None,
        session_id: str | None = None,
        category: str | None = None,
        degraded: list[str] | None = None,
    ) -> Ranked | None:
        """The shopper's candidates ranked by the model, before the business rules
        (``None``: no history to rank on). Retrieval, features and re-ranking go through
        :mod:`training.recommender.scoring`, as training's evaluation does."""
        degraded = degraded if degraded is not None else []
        user, history = self.history(engine, user_id, session_id, degraded)
        if len(history) == 0:
            return None
        scores = engine.generator_scores(history)
        allowed = None if category is None else engine.categories == category
        depths = self.cfg.generator_depth or engine.depths
        _, candidates = scoring.retrieve(scores, depths, allowed)
        candidates = candidates[: self.cfg.candidates] if self.cfg.candidates else candidates
        if len(candidates) == 0:
            return None
        rerank = engine.ranker is not None and bool(user)
        ids = engine.item_ids[candidates].tolist()
        rows, interest = self.features.candidates(
            ids, degraded, user_id if rerank else None, engine.categories[candidates].tolist()
        )
        if rerank:
            try:
                model = self._rerank(engine, user, history, scores, candidates, rows, interest)
                order = np.argsort(-model, kind="stable")
                ranked = candidates[order]
                prepared = self._prepare(engine, ranked, model[order], degraded, rows)
                return Ranked(ranked, model[order], "reranked", prepared)
            except Exception as exc:  # a broken ranker must not break the answer
                log.warning("re-ranking failed: %s", exc)
                degraded.append("ranker_failed")
        sequential = scores["sequential"][candidates]
        order = np.argsort(-sequential, kind="stable")
        ranked = candidates[order]
        prepared = self._prepare(engine, ranked, sequential[order], degraded, rows)
        return Ranked(ranked, sequential[order], "retrieval", prepared)

    @staticmethod
    def _rerank(
        engine: Engine,
        user: dict[str, Any],
        history: np.ndarray,
        scores: dict[str, np.ndarray],
        candidates: np.ndarray,
        rows: dict[str, dict[str, Any]],
        interest: dict[str, float],
    ) -> np.ndarray:
        """The re-ranker's scores of ``candidates`` (features built as in training)."""
        n = len(candidates)
        at = np.zeros(n, np.int64)
        columns = scoring.generator_columns(scores, at, candidates)
        columns |= scoring.history_columns([history], at, candidates)
        ids = engine.item_ids[candidates].tolist()
        empty: dict[str, Any] = {}
        table = np.array(  # None -> NaN
            [[(rows.get(i) or empty).get(f) for f in scoring.ITEM_FEATURES] for i in ids],
            dtype=np.float64,
        ).reshape(n, len(scoring.ITEM_FEATURES))
        item_values = dict(zip(scoring.ITEM_FEATURES, table.T, strict=True))
        categories = engine.categories[candidates].tolist()
        shares = np.array(
            [np.nan if (v := interest.get(c)) is None else v for c in categories], np.float64
        )
        columns |= scoring.shopper_columns(user, item_values, shares, n, taken=columns)
        matrix = scoring.feature_matrix(columns, engine.features)
        return np.asarray(engine.ranker.predict(matrix, num_threads=1), np.float64)

    def similar(
        self,
        engine: Engine,
        item_id: str,
        k: int,
        category: str | None,
        degraded: list[str],
        exclude: set[int] | None = None,
    ) -> Answer:
        """Items similar to ``item_id`` that are in stock (scores: similarity)."""
        neighbours, similarity = engine.similar(engine.index[item_id])
        if category is not None:
            same = engine.categories[neighbours] == category
            neighbours, similarity = neighbours[same], similarity[same]
        loose = self.rules.model_copy(
            update={"max_per_category": max(k, 1), "exclude_bought_days": 0}
        )
        items, scores = self._finish(
            engine, neighbours, similarity, k, degraded, exclude=exclude, rules=loose
        )
        return self._answer(items, scores, "similar_items", k, degraded, {})

    def bought_together(
        self,
        engine: Engine,
        basket: np.ndarray,
        k: int,
        degraded: list[str],
        exclude: set[int] | None = None,
    ) -> Answer:
        """Add-ons for a cart: co-purchase rules (score 1 + confidence), then popular
        items of its categories (score below 1)."""
        scores = engine.bought_together(basket)
        top = _top(scores, max(self.cfg.candidates or 0, 100, 3 * k))
        loose = self.rules.model_copy(update={"exclude_bought_days": 0})
        items, final = self._finish(
            engine, top, scores[top], k, degraded, exclude=exclude, rules=loose
        )
        return self._answer(items, final, "bought_together", k, degraded, {})


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best finite scores, best first (a partial selection)."""
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.argsort(-scores[part], kind="stable")]
    return part[np.isfinite(scores[part])]
