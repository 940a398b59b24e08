"""Baselines and the sequential model learn the structure they are built to find."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import torch

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


def test_sequential_model_does_not_collapse_on_a_catalogue_without_side_information() -> None:
    # one category, one price bucket (a shop with placeholders); every item has a fixed
    # successor, shoppers enter at popular (Zipf) items: the next item is predictable
    # from the last one, not from popularity. Two layers and two heads: the no-grad fast path
    # (left-padded rows became NaN in layer 1, then everywhere) needs an even head count.
    n, rng = 120, np.random.default_rng(1)
    successor = rng.permutation(n)
    starts = np.minimum(rng.zipf(1.3, 700) - 1, n - 1)
    walks = []
    for start in starts:
        walk = [int(start)]
        for _ in range(rng.integers(3, 7)):
            walk.append(int(successor[walk[-1]]))
        walks.append(walk)
    train, last, targets = walks[:600], walks[600:], [w[-1] for w in walks[600:]]
    catalogue = Catalogue(
        item_ids=np.array([f"i{k}" for k in range(n)]),
        category=np.zeros(n, dtype=np.int64),
        category_names=np.array(["toys"] * n),
        price_bucket=np.zeros(n, dtype=np.int64),
        first_seen=np.full(n, np.datetime64("2025-01-01")),
    )
    cfg = SequentialConfig(dim=32, layers=2, heads=2, epochs=12, batch_size=64,
                           learning_rate=0.01, max_length=8, threads=1)  # fmt: skip
    model = SequentialRecommender(catalogue, cfg, fallback=lambda h: np.zeros((len(h), n)))
    model.fit(_events(train))
    histories = [np.array(w[:-1]) for w in last]
    top = np.argsort(-model.score(histories), axis=1)[:, :10]
    popular = np.argsort(-np.bincount(np.concatenate(train), minlength=n))[:10]
    # Recall@10 = share of shoppers whose next item is in their top 10
    recall = np.mean([t in row for t, row in zip(targets, top, strict=True)])
    recall_popularity = np.mean([t in popular for t in targets])
    # coverage@10 = distinct items in anyone's top 10 / catalogue size
    coverage = len(np.unique(top)) / n
    assert recall > 0.8 and recall > 2 * recall_popularity, (recall, recall_popularity)
    assert coverage > 0.3, coverage


def test_left_padding_changes_nothing_and_scores_stay_finite() -> None:
    cfg = SequentialConfig(dim=16, layers=2, heads=2, epochs=1, max_length=10, threads=1)
    model = SequentialRecommender(_catalogue(8), cfg, fallback=lambda h: np.zeros((len(h), 8)))
    model.model.eval()
    short = torch.from_numpy(np.array([[4, 2, 7]]))
    padded = torch.from_numpy(np.array([[0] * 7 + [4, 2, 7]]))
    vectors = model.model.item_vectors()
    with torch.no_grad():  # the encoder's fast path (serving, evaluation)
        a, b = model.model(short, vectors)[:, -1], model.model(padded, vectors)[:, -1]
    assert torch.isfinite(b).all()
    assert torch.allclose(a, b, atol=1e-5)
    scores = model.score([np.array([3, 1]), np.array([0, 1, 2, 3, 4, 5, 6])])
    assert np.isfinite(scores).all()
