"""The baselines every model must beat on the same split: popularity, item-kNN, EASE.

Simple baselines beat many neural recommenders in published comparisons (Dacrema et
al., 2019; Steck, 2019); they are fit on the same training events and judged by the
same full ranking as everything else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import scipy.linalg as la
import scipy.sparse as sp

from training.recommender.config import EASEConfig, ItemKNNConfig, PopularityConfig


def interaction_matrix(events: pl.DataFrame, n_items: int) -> sp.csr_matrix:
    """Shoppers × items, 1 where the shopper touched the item (any event)."""
    pairs = events.select("user_id", "item").unique()
    users = pairs["user_id"].cast(pl.Categorical).to_physical().to_numpy()
    matrix = sp.csr_matrix(
        (np.ones(pairs.height), (users, pairs["item"].to_numpy())),
        shape=(int(users.max()) + 1 if len(users) else 0, n_items),
    )
    return matrix


def history_matrix(
    histories: list[np.ndarray], n_items: int, dtype: np.dtype | type = np.float64
) -> sp.csr_matrix:
    """One row per history, 1 on each item it holds (``dtype``: that of the matrix it
    will multiply, which SciPy would otherwise copy whole to the common type)."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate(histories) if histories else np.array([], dtype=np.int64)
    matrix = sp.csr_matrix(
        (np.ones(len(cols), dtype=dtype), (rows, cols)), shape=(len(histories), n_items)
    )
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


def cosine_similarity(matrix: sp.csr_matrix, shrinkage: float = 0.0) -> sp.csr_matrix:
    """Column × column cosine of a 0/1 matrix (``shrinkage`` damps rare pairs), zero
    diagonal."""
    co = (matrix.T @ matrix).tocsr().astype(np.float64)
    norms = np.sqrt(co.diagonal())
    co.setdiag(0)
    co.eliminate_zeros()
    rows, cols = co.nonzero()
    co.data = co.data / (norms[rows] * norms[cols] + shrinkage + 1e-12)
    return co.tocsr()


class Popularity:
    """The same ranking for everyone: weighted recent interactions per item."""

    name = "popularity"

    def __init__(self, cfg: PopularityConfig) -> None:
        self.cfg = cfg
        self.scores: np.ndarray = np.zeros(0)

    def fit(self, events: pl.DataFrame, n_items: int) -> Popularity:
        """Count the last ``days`` of ``events`` (weighted by event type)."""
        c = self.cfg
        since = events["timestamp"].max() - dt.timedelta(days=c.days)
        weight = (
            pl.when(pl.col("event_type") == "purchase")
            .then(c.purchase_weight)
            .when(pl.col("event_type") == "add_to_cart")
            .then(c.cart_weight)
            .otherwise(c.view_weight)
        )
        recent = events.filter(pl.col("timestamp") >= since).with_columns(w=weight)
        all_time = np.bincount(events["item"].to_numpy(), minlength=n_items).astype(float)
        self.scores = np.bincount(
            recent["item"].to_numpy(), weights=recent["w"].to_numpy(), minlength=n_items
        ) + 1e-6 * all_time / max(all_time.max(), 1)  # all-time counts break ties
        return self

    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        return np.tile(self.scores, (len(histories), 1))


class ItemKNN:
    """Item-to-item cosine similarity of co-occurrence, ``neighbours`` kept per item."""

    name = "itemknn"

    def __init__(self, cfg: ItemKNNConfig) -> None:
        self.cfg = cfg
        self.similarity: sp.csr_matrix = sp.csr_matrix((0, 0))

    def fit(self, events: pl.DataFrame, n_items: int) -> ItemKNN:
        similarity = cosine_similarity(interaction_matrix(events, n_items), self.cfg.shrinkage)
        self.similarity = self._prune(similarity, self.cfg.neighbours)
        return self

    @staticmethod
    def _prune(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
        """Keep each row's ``k`` largest entries."""
        rows, cols, vals = [], [], []
        for i in range(matrix.shape[0]):
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            if end - start == 0:
                continue
            data, idx = matrix.data[start:end], matrix.indices[start:end]
            keep = np.argsort(-data)[:k]
            rows.append(np.full(len(keep), i))
            cols.append(idx[keep])
            vals.append(data[keep])
        if not rows:
            return sp.csr_matrix(matrix.shape)
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape
        )

    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        h = history_matrix(histories, self.similarity.shape[0])
        return np.asarray((h @ self.similarity).todense())


class EASE:
    """Embarrassingly Shallow Autoencoder: ``B = I - P / diag(P)``, ``P = (XᵀX + λI)⁻¹``.

    ``P`` is the inverse of a symmetric positive definite matrix, computed in float32 from
    its Cholesky factor (LAPACK ``potrf`` + ``potri``: about n³ flops, against 2n³ for a
    general float64 inverse; 12k items take tens of seconds instead of minutes). With
    ``top_items`` set, only the most interacted-with items get weights (the others score
    0): the cost falls with the cube of that share.
    """

    name = "ease"

    def __init__(self, cfg: EASEConfig) -> None:
        self.cfg = cfg
        self.weights: np.ndarray = np.zeros((0, 0), dtype=np.float32)

    def fit(self, events: pl.DataFrame, n_items: int) -> EASE:
        x = interaction_matrix(events, n_items)
        kept = np.arange(n_items)
        if self.cfg.top_items is not None and self.cfg.top_items < n_items:
            counts = np.asarray(x.sum(axis=0)).ravel()
            kept = np.sort(np.argsort(-counts, kind="stable")[: self.cfg.top_items])
        if len(kept) > self.cfg.max_items:
            raise ValueError(
                f"EASE inverts an items x items matrix: {len(kept)} items exceeds "
                f"ease.max_items={self.cfg.max_items} (set ease.top_items)"
            )
        sub = x[:, kept]
        gram = np.asarray((sub.T @ sub).todense(), dtype=np.float32)
        gram[np.diag_indices(len(kept))] += self.cfg.l2
        p = _spd_inverse(gram)
        block = -p / np.diag(p)
        block[np.diag_indices(len(kept))] = 0.0
        if len(kept) == n_items:
            self.weights = block
        else:
            self.weights = np.zeros((n_items, n_items), dtype=np.float32)
            self.weights[np.ix_(kept, kept)] = block
        return self

    def score(self, histories: list[np.ndarray]) -> np.ndarray:
        rows = history_matrix(histories, self.weights.shape[0], self.weights.dtype)
        return np.asarray(rows @ self.weights)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix via its Cholesky factor.

    Raises:
        np.linalg.LinAlgError: The matrix is not positive definite.
    """
    factor, info = la.lapack.spotrf(matrix, lower=True, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"Cholesky factorisation failed (info={info})")
    inverse, info = la.lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverse from the Cholesky factor failed (info={info})")
    lower = np.tril(inverse)
    return lower + np.tril(inverse, -1).T
