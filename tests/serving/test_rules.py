"""Business rules: in stock only, no recent purchases, diversity cap, promotion boosts."""

from __future__ import annotations

import numpy as np

from serving.rules import BusinessRules, Candidates, apply_rules


def _ranked(categories: list[str], in_stock: list[bool] | None = None) -> Candidates:
    n = len(categories)
    return Candidates(
        items=np.arange(n),
        item_ids=[f"i{k}" for k in range(n)],
        categories=categories,
        in_stock=np.array(in_stock if in_stock is not None else [True] * n),
        promo=np.zeros(n),
    )


def test_out_of_stock_and_recently_bought_are_dropped() -> None:
    ranked = _ranked(["a", "b", "c", "d"], in_stock=[True, False, True, True])
    chosen, scores = apply_rules(ranked, BusinessRules(), bought={2}, k=4)
    assert chosen == [0, 3]
    assert scores == sorted(scores, reverse=True)
    keep_all = BusinessRules(in_stock_only=False, exclude_bought_days=0)
    assert apply_rules(ranked, keep_all, bought={2}, k=4)[0] == [0, 1, 2, 3]


def test_diversity_cap_then_backfill() -> None:
    ranked = _ranked(["a", "a", "a", "a", "b"])
    rules = BusinessRules(max_per_category=2)
    assert apply_rules(ranked, rules, set(), k=3)[0] == [0, 1, 4]
    assert apply_rules(ranked, rules, set(), k=5)[0] == [0, 1, 4, 2, 3], "gaps are backfilled"


def test_promoted_items_and_categories_move_up() -> None:
    ranked = _ranked(["a", "b", "c", "d"])
    rules = BusinessRules(promoted_items={"i3": 1.0}, promoted_categories={"c": 0.6})
    assert apply_rules(ranked, rules, set(), k=4)[0] == [3, 2, 0, 1]


def test_empty_candidates() -> None:
    assert apply_rules(_ranked([]), BusinessRules(), set(), k=3) == ([], [])
