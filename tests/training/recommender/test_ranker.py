"""The re-ranker's generator ranks: the same as the service computes them."""

from __future__ import annotations

import numpy as np

from serving.recommend import _ranks
from training.recommender.ranker import candidate_ranks


def test_candidate_ranks_count_the_better_scored_items_as_the_service_does() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(5, 40)), 1)  # rounded: plenty of ties
    rows = np.repeat(np.arange(5), [3, 0, 7, 1, 4])
    items = rng.integers(0, 40, len(rows))
    ranks = candidate_ranks(scores, rows, items)
    better = (scores[rows] > scores[rows, items][:, None]).sum(axis=1)
    assert (ranks == better).all()
    for row in range(5):
        mine = rows == row
        assert (ranks[mine] == _ranks(scores[row], items[mine])).all()
