"""Business rules applied after ranking (``configs/business_rules.yaml``).

In stock only, no items the shopper bought recently, at most N items per category in
one answer, and boosts for promoted items and categories. Rules work on a ranked
candidate list and never add items that retrieval did not propose (boosts reorder).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.recommender.rules import BusinessRules

__all__ = ["BusinessRules", "Candidates", "apply_rules"]


@dataclass(frozen=True)
class Candidates:
    """A ranked list before the rules.

    Attributes:
        items: Catalogue positions, best first.
        categories: Category name of each.
        in_stock: Whether each is in stock (``True`` when unknown).
        promo: Whether each is on promotion.
        item_ids: Item id of each.
    """

    items: np.ndarray
    item_ids: list[str]
    categories: list[str]
    in_stock: np.ndarray
    promo: np.ndarray


def apply_rules(
    ranked: Candidates, rules: BusinessRules, bought: set[int], k: int
) -> tuple[list[int], list[float]]:
    """The top ``k`` after the rules, with their final scores (normalised rank + boosts).

    Args:
        ranked: Candidates, best first.
        rules: The shop's rules.
        bought: Positions the shopper bought recently (excluded when configured).
        k: How many to return.

    Returns:
        Positions into ``ranked.items`` and their scores, best first.
    """
    n = len(ranked.items)
    if n == 0:
        return [], []
    scores = 1.0 - np.arange(n) / n
    boost = np.array(
        [
            rules.promoted_items.get(item, 0.0) + rules.promoted_categories.get(cat, 0.0)
            for item, cat in zip(ranked.item_ids, ranked.categories, strict=True)
        ]
    )
    scores = scores + boost + rules.promo_flag_boost * ranked.promo
    keep = np.ones(n, bool)
    if rules.in_stock_only:
        keep &= ranked.in_stock
    if rules.exclude_bought_days > 0 and bought:
        keep &= ~np.isin(ranked.items, list(bought))
    order = [int(i) for i in np.argsort(-scores, kind="stable") if keep[i]]
    chosen: list[int] = []
    per_category: dict[str, int] = {}
    overflow: list[int] = []
    for i in order:
        cat = ranked.categories[i]
        if per_category.get(cat, 0) < rules.max_per_category:
            per_category[cat] = per_category.get(cat, 0) + 1
            chosen.append(i)
            if len(chosen) == k:
                break
        else:
            overflow.append(i)
    chosen += overflow[: k - len(chosen)]  # backfill only when diversity leaves gaps
    return chosen, [float(scores[i]) for i in chosen]
