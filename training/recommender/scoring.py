"""One scoring path for the recommender's final stage, from plain arrays.

Training (:mod:`training.recommender.ranker`, batches of shoppers as Polars frames) and
the service (:mod:`serving.recommend`, one shopper per request) both build candidates
and the re-ranker's features with these functions, so the service ranks exactly as the
model was trained and judged:

1. :func:`retrieve`: the union of each generator's top items, generator by generator.
2. :func:`generator_columns`: every generator's score and rank of each candidate.
3. :func:`history_columns`: how often and how recently the shopper touched it.
4. :func:`shopper_columns`: the shopper's and the item's features, the shopper's
   category share (:func:`features.pipelines.affinity.affinity_share`) and the price
   against their usual spend (:func:`price_vs_usual`).
5. :func:`feature_matrix`: the columns in the model's order, for LightGBM.

Arrays are by catalogue position; ``rows`` index the shoppers of a batch (ascending).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TypeVar

import numpy as np

from features.pipelines.affinity import affinity_share
from training.recommender.metrics import top_k

USER_FEATURES = (
    "frequency", "monetary", "recency_days", "average_order_value", "discount_share",
    "paid_to_base_ratio", "views_30d", "carts_30d", "purchases_30d", "conversion_rate_30d",
    "tenure_days", "interest_total",
)  # fmt: skip
"""The shopper's features the re-ranker reads (feature view ``user_features``)."""
ITEM_FEATURES = (
    "price", "discount", "promo", "stockout", "on_hand", "days_of_cover", "popularity_rank",
    "views_7d", "carts_7d", "purchases_30d", "conversion_rate_30d", "age_days", "unit_margin",
)  # fmt: skip
"""The item's features the re-ranker reads (feature view ``item_features``)."""

T = TypeVar("T")


def item_column(name: str, taken: Collection[str]) -> str:
    """The re-ranker's column of item feature ``name``: ``<name>_item`` where the rows
    already hold a column of that name (a shopper feature such as ``purchases_30d``, or
    a generator's ``popularity_rank``), else the name itself (the join's suffix)."""
    return f"{name}_item" if name in taken else name


def price_vs_usual(price: T, average_order_value: T) -> T:
    """The item's price as a multiple of the shopper's average order value (NumPy
    arrays or Polars expressions alike)."""
    return price / average_order_value  # type: ignore[operator]


def retrieve(
    scores: Mapping[str, np.ndarray],
    depths: Mapping[str, int],
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates: each generator's top ``depths[name]`` items per shopper, in the order
    of ``depths``, an item proposed twice kept where it came first.

    Args:
        scores: Generator name -> (shoppers, items) scores.
        depths: Generator name -> items it proposes (generators without scores skipped).
        allowed: Items that may be proposed (e.g. one category's); ``None``: all.

    Returns:
        ``(rows, items)``: the shopper (row) and catalogue position of each candidate,
        rows ascending, each row's candidates in proposal order.
    """
    names = [name for name in depths if name in scores]
    if not names:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    parts = []
    for name in names:
        matrix = np.atleast_2d(scores[name])
        if allowed is not None:
            matrix = np.where(allowed, matrix, -np.inf)
        parts.append(top_k(matrix, depths[name]))
    chosen = np.concatenate(parts, axis=1)
    width = chosen.shape[1]
    n_items = np.atleast_2d(scores[names[0]]).shape[1]
    rows = np.repeat(np.arange(chosen.shape[0], dtype=np.int64), width)
    items = chosen.ravel().astype(np.int64)
    _, first = np.unique(rows * n_items + items, return_index=True)
    keep = np.sort(first)
    rows, items = rows[keep], items[keep]
    if allowed is not None:
        fine = allowed[items]
        rows, items = rows[fine], items[fine]
    return rows, items


def candidate_ranks(scores: np.ndarray, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """0-based rank of each candidate ``(rows[k], items[k])`` among all items of its row
    by score, ties taking their first place; ``rows`` ascending. One sort per row, then
    a binary search per candidate."""
    scores = np.atleast_2d(scores)
    ordered = np.sort(-scores, axis=1)
    starts = np.searchsorted(rows, np.arange(scores.shape[0] + 1))
    out = np.empty(len(rows), dtype=np.int64)
    for row in range(scores.shape[0]):
        part = slice(starts[row], starts[row + 1])
        out[part] = np.searchsorted(ordered[row], -scores[row, items[part]], side="left")
    return out


def generator_columns(
    scores: Mapping[str, np.ndarray], rows: np.ndarray, items: np.ndarray
) -> dict[str, np.ndarray]:
    """``<generator>_score`` and ``<generator>_rank`` of each candidate."""
    columns: dict[str, np.ndarray] = {}
    for name, matrix in scores.items():
        matrix = np.atleast_2d(matrix)
        columns[f"{name}_score"] = matrix[rows, items].astype(np.float64)
        columns[f"{name}_rank"] = candidate_ranks(matrix, rows, items)
    return columns


def history_columns(
    histories: Sequence[np.ndarray], rows: np.ndarray, items: np.ndarray
) -> dict[str, np.ndarray]:
    """``times_seen`` (how often the shopper's history holds the candidate) and
    ``steps_since_seen`` (items since its last occurrence; NaN when never seen)."""
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    times = np.zeros(len(rows), dtype=np.int64)
    steps = np.full(len(rows), np.nan)
    if not lengths.sum() or not len(rows):
        return {"times_seen": times, "steps_since_seen": steps}
    seen = np.concatenate([np.asarray(h, dtype=np.int64) for h in histories])
    case = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    width = int(max(seen.max(), items.max())) + 1
    keys, inverse, counts = np.unique(case * width + seen, return_inverse=True, return_counts=True)
    last = np.full(len(keys), -1, dtype=np.int64)
    np.maximum.at(last, inverse, position)
    wanted = rows * width + items
    where = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    found = keys[where] == wanted
    times[found] = counts[where[found]]
    steps[found] = (lengths[rows[found]] - 1 - last[where[found]]).astype(np.float64)
    return {"times_seen": times, "steps_since_seen": steps}


def shopper_columns(
    user: Mapping[str, float | None],
    items: Mapping[str, np.ndarray],
    interest: np.ndarray,
    n: int,
    taken: Collection[str] = (),
) -> dict[str, np.ndarray]:
    """The feature-store columns of ``n`` candidates of one shopper.

    Args:
        user: The shopper's features (:data:`USER_FEATURES`; missing or ``None``: NaN).
        items: Item feature name -> one value per candidate (NaN where unknown).
        interest: The shopper's interest in each candidate's category (NaN: none).
        n: Number of candidates.
        taken: Columns the rows already hold (generator and history columns): an item
            feature of the same name is suffixed ``_item`` (:func:`item_column`).
    """
    columns: dict[str, np.ndarray] = {}
    for name in USER_FEATURES:
        value = user.get(name)
        columns[name] = np.full(n, np.nan if value is None else float(value))
    taken = {*taken, *columns}
    for name in ITEM_FEATURES:
        column = item_column(name, taken)
        columns[column] = np.asarray(items.get(name, np.full(n, np.nan)), np.float64)
    columns["category_share"] = affinity_share(interest, columns["interest_total"])
    columns["price_vs_usual"] = _divide(columns["price"], columns["average_order_value"])
    return columns


def _divide(price: np.ndarray, usual: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # as Polars: x / 0 is inf
        return price_vs_usual(price, usual)


def feature_matrix(columns: Mapping[str, np.ndarray], features: Sequence[str]) -> np.ndarray:
    """The re-ranker's input: ``features`` in order (a missing column is NaN), float32."""
    n = len(next(iter(columns.values()))) if columns else 0
    matrix = np.empty((n, len(features)), dtype=np.float32)
    for k, name in enumerate(features):
        matrix[:, k] = columns.get(name, np.nan)
    return matrix
