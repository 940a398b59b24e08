"""Full-ranking metrics: every catalogue item is a candidate, no sampled negatives."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from training.recommender.data import Cases

Scorer = Callable[[list[np.ndarray]], np.ndarray]
"""Histories (item positions, oldest first) -> scores (n_histories, n_items)."""

BATCH = 1024


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best items per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def rank_all(scorer: Scorer, cases: Cases, k: int, exclude_bought: bool = False) -> np.ndarray:
    """Top-k lists for every case, scored in batches."""
    out = []
    for start in range(0, len(cases.histories), BATCH):
        scores = np.array(scorer(cases.histories[start : start + BATCH]), dtype=np.float64)
        if exclude_bought:
            for row, bought in enumerate(cases.bought[start : start + BATCH]):
                scores[row, bought] = -np.inf
        out.append(top_k(scores, k))
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


def _scores(ranked: np.ndarray, targets: list[np.ndarray], ks: list[int]) -> dict[str, float]:
    discounts = 1 / np.log2(np.arange(2, ranked.shape[1] + 2))
    hits = np.array([np.isin(row, t) for row, t in zip(ranked, targets, strict=True)])
    sizes = np.array([len(t) for t in targets])
    out: dict[str, float] = {"users": float(len(targets))}
    if not len(targets):
        return out
    for k in ks:
        h = hits[:, :k]
        ideal = np.array([discounts[: min(k, s)].sum() for s in sizes])
        out[f"recall@{k}"] = float((h.sum(axis=1) / sizes).mean())
        out[f"ndcg@{k}"] = float(((h * discounts[:k]).sum(axis=1) / ideal).mean())
    first = np.where(hits[:, :10].any(axis=1), hits[:, :10].argmax(axis=1) + 1, np.inf)
    out["mrr@10"] = float((1 / first).mean())
    return out


def evaluate(
    scorer: Scorer, cases: Cases, ks: list[int], n_items: int, exclude_bought: bool = False
) -> dict[str, float]:
    """Recall@K, NDCG@K, MRR@10 and catalogue coverage, overall and per slice.

    Slices: ``cold_users.*`` (no history before the window) and ``new_items.*`` (only
    targets that are items new in the window, for shoppers who chose one).
    """
    return judge(rank_all(scorer, cases, max(ks), exclude_bought), cases, ks, n_items)


def judge(ranked: np.ndarray, cases: Cases, ks: list[int], n_items: int) -> dict[str, float]:
    """The metrics of ready-made top lists (one row per case, best first)."""
    metrics = _scores(ranked, cases.targets, ks)
    for k in ks:
        metrics[f"coverage@{k}"] = float(len(np.unique(ranked[:, :k])) / n_items)
    cold = cases.cold_users
    for name, value in _scores(
        ranked[cold], [cases.targets[i] for i in np.flatnonzero(cold)], ks
    ).items():
        metrics[f"cold_users.{name}"] = value
    new_targets = [t[cases.new_items[t]] for t in cases.targets]
    chose_new = np.array([len(t) > 0 for t in new_targets])
    new = _scores(ranked[chose_new], [t for t in new_targets if len(t)], ks)
    for name, value in new.items():
        metrics[f"new_items.{name}"] = value
    return metrics
