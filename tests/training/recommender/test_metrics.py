"""Full-ranking metrics, checked against hand-computed values."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from training.recommender.data import Cases
from training.recommender.metrics import evaluate, top_k


def _cases(histories: list[list[int]], targets: list[list[int]], bought=None, new=None) -> Cases:
    n = len(histories)
    return Cases(
        user_ids=[f"u{k}" for k in range(n)],
        histories=[np.array(h, dtype=np.int64) for h in histories],
        targets=[np.array(t, dtype=np.int64) for t in targets],
        bought=[np.array(b, dtype=np.int64) for b in (bought or [[]] * n)],
        new_items=np.array(new if new is not None else [False] * 5),
        start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )


FIXED = np.array([5.0, 4.0, 3.0, 2.0, 1.0])  # ranking 0, 1, 2, 3, 4 for everyone


def _scorer(histories: list[np.ndarray]) -> np.ndarray:
    return np.tile(FIXED, (len(histories), 1))


def test_top_k_orders_best_first() -> None:
    assert top_k(np.array([[0.1, 0.9, 0.5]]), 2).tolist() == [[1, 2]]


def test_recall_ndcg_mrr_coverage() -> None:
    cases = _cases([[3], [4]], [[1], [2, 4]])
    m = evaluate(_scorer, cases, [1, 3], n_items=5)
    assert m["recall@1"] == 0
    assert m["recall@3"] == pytest.approx((1 + 0.5) / 2)
    ideal_two = 1 + 1 / math.log2(3)
    assert m["ndcg@3"] == pytest.approx(((1 / math.log2(3)) + (1 / math.log2(4)) / ideal_two) / 2)
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert m["coverage@3"] == pytest.approx(3 / 5)


def test_excluding_bought_items_moves_the_ranking() -> None:
    cases = _cases([[0], [0]], [[1], [1]], bought=[[0], [0]])
    assert evaluate(_scorer, cases, [1], 5)["recall@1"] == 0
    assert evaluate(_scorer, cases, [1], 5, exclude_bought=True)["recall@1"] == 1


def test_cold_and_new_item_slices() -> None:
    cases = _cases([[], [1]], [[0], [4]], new=[False, False, False, False, True])
    m = evaluate(_scorer, cases, [1, 5], 5)
    assert m["cold_users.users"] == 1 and m["cold_users.recall@1"] == 1
    assert m["new_items.users"] == 1 and m["new_items.recall@5"] == 1
    assert m["new_items.recall@1"] == 0
