"""Similar items and bought-together rules on hand-made sessions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from training.recommender.config import ItemToItemConfig
from training.recommender.item2item import BoughtTogether, SimilarItems

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _sessions(baskets: list[list[int]], kind: str) -> pl.DataFrame:
    rows = [
        (f"s{s}", item, kind, T0 + dt.timedelta(minutes=s))
        for s, basket in enumerate(baskets)
        for item in basket
    ]
    return pl.DataFrame(
        rows, schema=["session_id", "item", "event_type", "timestamp"], orient="row"
    )


def test_rules_keep_pairs_with_support_confidence_and_lift() -> None:
    # 0 and 1 are bought together 5 times; 0 and 2 once; 3 is bought by everyone
    baskets = [[0, 1, 3]] * 5 + [[0, 2, 3]] + [[3]] * 4
    cfg = ItemToItemConfig(min_support=2, min_confidence=0.1, min_lift=1.01)
    rules = BoughtTogether.fit(_sessions(baskets, "purchase"), 5, cfg)
    scores = rules.scores(np.array([0]))
    assert scores.argmax() == 1
    assert scores[2] == 0, "one co-purchase is below the support threshold"
    assert scores[3] == 0, "bought by everyone: lift 1, no rule"
    assert scores[0] == -np.inf, "never recommend what is in the cart"


def test_backfill_orders_items_no_rule_covers() -> None:
    rules = BoughtTogether.fit(_sessions([[0, 1]] * 3, "purchase"), 4, ItemToItemConfig())
    backfill = np.array([0.0, 0.0, 5.0, 9.0])
    scores = rules.scores(np.array([0]), backfill=backfill)
    assert list(np.argsort(-scores)[:3]) == [1, 3, 2]


def test_similar_items_blend_vectors_and_coviews() -> None:
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    coviews = _sessions([[0, 2]] * 10, "view")
    only_vectors = SimilarItems.fit(coviews, vectors, ItemToItemConfig(embedding_weight=1.0))
    only_views = SimilarItems.fit(coviews, vectors, ItemToItemConfig(embedding_weight=0.0))
    assert only_vectors.scores(0).argmax() == 1
    assert only_views.scores(0).argmax() == 2
