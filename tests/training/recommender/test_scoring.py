"""The one scoring path (training/recommender/scoring.py): candidates, their generator,
history and shopper columns, and the model's input matrix."""

from __future__ import annotations

import numpy as np
import polars as pl

from training.recommender import scoring


def test_candidate_ranks_count_the_better_scored_items() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(5, 40)), 1)  # rounded: plenty of ties
    rows = np.repeat(np.arange(5), [3, 0, 7, 1, 4])
    items = rng.integers(0, 40, len(rows))
    ranks = scoring.candidate_ranks(scores, rows, items)
    better = (scores[rows] > scores[rows, items][:, None]).sum(axis=1)
    assert (ranks == better).all()


def test_retrieve_is_each_generators_top_in_order_without_repeats() -> None:
    first = np.array([[0.9, 0.1, 0.8, 0.0, 0.5], [0.0, 0.1, 0.2, 0.3, 0.4]])
    second = np.array([[0.0, 0.9, 0.8, 0.7, 0.0], [0.5, 0.4, 0.3, 0.2, 0.1]])
    rows, items = scoring.retrieve({"a": first, "b": second}, {"a": 2, "b": 3})
    assert rows.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert items.tolist() == [0, 2, 1, 3, 4, 3, 0, 1, 2]
    allowed = np.array([False, True, True, True, False])
    rows, items = scoring.retrieve({"a": first[:1]}, {"a": 3}, allowed)
    assert items.tolist() == [2, 1, 3], "only allowed items, best first"
    assert scoring.retrieve({"a": first}, {"missing": 3})[1].size == 0


def test_history_columns_count_and_date_the_shoppers_touches() -> None:
    histories = [np.array([3, 1, 3, 2]), np.array([], np.int64), np.array([5])]
    rows = np.array([0, 0, 0, 1, 2, 2])
    items = np.array([3, 1, 4, 3, 5, 0])
    columns = scoring.history_columns(histories, rows, items)
    assert columns["times_seen"].tolist() == [2, 1, 0, 0, 1, 0]
    steps = columns["steps_since_seen"]
    assert steps[:2].tolist() == [1.0, 2.0] and steps[4] == 0.0
    assert np.isnan(steps[[2, 3, 5]]).all(), "never seen: missing, not 0"


def test_shopper_columns_name_and_derive_as_training_joins_them() -> None:
    user = {"average_order_value": 20.0, "interest_total": 3.0, "frequency": None}
    items = {"price": np.array([10.0, 5.0]), "purchases_30d": np.array([7.0, np.nan])}
    interest = np.array([2.0, np.nan])
    columns = scoring.shopper_columns(user, items, interest, 2, taken={"popularity_rank"})
    assert columns["price_vs_usual"].tolist() == [0.5, 0.25]
    assert columns["category_share"][0] == 0.5 and np.isnan(columns["category_share"][1])
    assert columns["purchases_30d_item"][0] == 7.0, "an item feature a shopper's shares"
    assert "popularity_rank_item" in columns, "and one a generator's column shares"
    assert np.isnan(columns["purchases_30d"]).all() and np.isnan(columns["frequency"]).all()
    share = pl.DataFrame({"i": [2.0], "t": [3.0]}).select(
        scoring.affinity_share(pl.col("i"), pl.col("t"))
    )
    assert share.item() == columns["category_share"][0], "the same formula in Polars"
    matrix = scoring.feature_matrix(columns, ["price", "not_a_column"])
    assert matrix.dtype == np.float32 and np.isnan(matrix[:, 1]).all()
