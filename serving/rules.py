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
        item_ids: Item id of each.
        categories: Category name of each.
        in_stock: Whether each is in stock (``True`` when unknown).
        promo: Whether each is on promotion.
        scores: The ranking model's score of each (non-increasing); ``None``: by rank
            (1 for the first down to 1/n).
    """

    items: np.ndarray
    item_ids: list[str]
    categories: list[str]
    in_stock: np.ndarray
    promo: np.ndarray
    scores: np.ndarray | None = None


def apply_rules(
    ranked: Candidates,
    rules: BusinessRules,
    bought: set[int],
    k: int,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[int], list[float]]:
    """The top ``k`` after the rules, with their scores.

    A candidate's score is the model's plus its boosts, a boost counted in units of the
    candidates' score range (a boost of 1 lifts the last candidate to the first's
    score). Items the diversity cap moved down take the score of the item above them,
    so scores never increase down the list.

    Args:
        ranked: Candidates, best first.
        rules: The shop's rules.
        bought: Positions the shopper bought recently (excluded when configured).
        k: How many to return.
        exclude: Positions the caller asked not to show.

    Returns:
        Positions into ``ranked.items`` and their scores, best first.
    """
    n = len(ranked.items)
    if n == 0:
        return [], []
    spread = 1.0  # by rank, scores run from 1 down to 1/n: a boost counts as it is
    base = 1.0 - np.arange(n) / n
    if ranked.scores is not None:
        base = np.asarray(ranked.scores, dtype=np.float64)
        finite = base[np.isfinite(base)]
        spread = float(finite.max() - finite.min()) if len(finite) > 1 else 1.0
    boost = np.zeros(n)
    if rules.promoted_items or rules.promoted_categories:
        boost = np.fromiter(
            (
                rules.promoted_items.get(item, 0.0) + rules.promoted_categories.get(cat, 0.0)
                for item, cat in zip(ranked.item_ids, ranked.categories, strict=True)
            ),
            np.float64,
            n,
        )
    scores = base + (boost + rules.promo_flag_boost * ranked.promo) * (spread or 1.0)
    keep = np.ones(n, bool)
    if rules.in_stock_only:
        keep &= ranked.in_stock
    if rules.exclude_bought_days > 0 and bought:
        keep &= ~np.isin(ranked.items, list(bought))
    if exclude:
        keep &= ~np.isin(ranked.items, list(exclude))
    by_score = np.argsort(-scores, kind="stable")
    order: list[int] = by_score[keep[by_score]].tolist()
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
    final = np.minimum.accumulate(scores[chosen]) if chosen else np.zeros(0)
    return chosen, [float(s) for s in final]
