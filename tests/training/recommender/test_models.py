"""Baselines and the sequential model learn the structure they are built to find."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from training.recommender.baselines import EASE, ItemKNN, Popularity
from training.recommender.config import (
    EASEConfig,
    ItemKNNConfig,
    PopularityConfig,
    SequentialConfig,
)
from training.recommender.data import Catalogue
from training.recommender.sequential import SequentialRecommender

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _events(baskets: list[list[int]], kind: str = "view") -> pl.DataFrame:
    rows = [
        (f"u{u}", item, kind, T0 + dt.timedelta(minutes=10 * u + k))
        for u, basket in enumerate(baskets)
        for k, item in enumerate(basket)
    ]
    return pl.DataFrame(rows, schema=["user_id", "item", "event_type", "timestamp"], orient="row")


# items 0-1 go together, 2-3 go together; item 4 is popular with everyone
PAIRS = [[0, 1, 4]] * 20 + [[2, 3, 4]] * 20


def test_item_knn_and_ease_complete_the_pair() -> None:
    events = _events(PAIRS)
    for model in (ItemKNN(ItemKNNConfig(neighbours=3)), EASE(EASEConfig(l2=1.0))):
        scores = model.fit(events, 5).score([np.array([0]), np.array([2])])
        assert scores[0].argsort()[-1] in (1, 4) and scores[0][1] > scores[0][3], model.name
        assert scores[1][3] > scores[1][1], model.name


def test_popularity_ranks_recent_weighted_interactions() -> None:
    events = _events(PAIRS).vstack(_events([[3]], kind="purchase"))
    scores = Popularity(PopularityConfig()).fit(events, 5).score([np.array([], dtype=np.int64)])
    assert scores[0].argmax() == 4
    assert scores[0][3] > scores[0][2], "a purchase weighs more than a view"


def _catalogue(n: int) -> Catalogue:
    return Catalogue(
        item_ids=np.array([f"i{k}" for k in range(n)]),
        category=np.array([k % 2 for k in range(n)]),
        category_names=np.array([f"c{k % 2}" for k in range(n)]),
        price_bucket=np.zeros(n, dtype=np.int64),
        first_seen=np.full(n, np.datetime64("2025-01-01")),
    )


def test_sequential_model_learns_what_comes_next() -> None:
    # shoppers walk the cycle 0 -> 1 -> ... -> 5 -> 0, entering anywhere, for 3-6 steps
    rng = np.random.default_rng(0)
    walks = [[(s + k) % 6 for k in range(rng.integers(3, 7))] for s in rng.integers(0, 6, 300)]
    events = _events(walks)
    cfg = SequentialConfig(dim=16, layers=1, heads=1, epochs=30, dropout=0.0, id_dropout=0.0,
                           batch_size=64, learning_rate=0.01, max_length=6)  # fmt: skip
    model = SequentialRecommender(_catalogue(8), cfg, fallback=lambda h: np.zeros((len(h), 8)))
    model.fit(events)
    scores = model.score([np.array([0, 1]), np.array([2, 3, 4]), np.array([5])])
    assert scores.argmax(axis=1).tolist() == [2, 5, 0]
    assert model.history[-1]["loss"] < model.history[0]["loss"]


def test_unseen_items_take_meaning_from_their_category() -> None:
    # items 0-5 seen (categories alternate); items 6 and 7 never appear in training
    events = _events([[0, 2, 4], [1, 3, 5]] * 100)
    cfg = SequentialConfig(dim=16, layers=1, heads=1, epochs=15, id_dropout=0.5, max_length=3)
    model = SequentialRecommender(_catalogue(8), cfg, fallback=lambda h: np.zeros((len(h), 8)))
    model.fit(events)
    scores = model.score([np.array([0, 2]), np.array([1, 3])])
    assert scores[0][6] > scores[0][7], "an unseen even-category item follows even items"
    assert scores[1][7] > scores[1][6]


def test_shoppers_without_history_get_the_fallback() -> None:
    cfg = SequentialConfig(dim=8, layers=1, heads=1, epochs=1, max_length=3)
    model = SequentialRecommender(
        _catalogue(4), cfg, fallback=lambda h: np.tile([0.0, 0.0, 9.0, 0.0], (len(h), 1))
    )
    model.fit(_events([[0, 1, 2]] * 5))
    assert model.score([np.array([], dtype=np.int64)])[0].argmax() == 2
