"""The recommender as an MLflow pyfunc model: retrieval for serving and for the registry.

The package holds the sequential model's weights and configuration, the catalogue's
side features, recent popularity and each known shopper's recent items as of training.
``predict`` takes a frame with any of ``user_id``, ``history`` (item ids, oldest first),
``item_id`` (ask for items similar to it) and ``k``, and answers per row with
``item_ids``, ``scores`` and the ``strategy`` used: ``sequential`` (a shopper with
history), ``popularity`` (cold start), or ``similar_items`` (item vectors, which carry
category and price, so new items are covered).

A version also carries what the HTTP service needs beyond retrieval (``serving.npz``,
``ranker.txt``, ``ranker.json``; see :class:`ServingExtras`): the co-occurrence
generators, the LightGBM re-ranker, similar items blended with co-views, bought-together
rules and shoppers' recent purchases, so a model loaded by alias brings them all.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from training.recommender.config import SequentialConfig
from training.recommender.data import Catalogue
from training.recommender.sequential import SequentialRecommender

PIP_REQUIREMENTS = [
    "torch==2.13.0",
    "numpy==2.4.6",
    "pandas==2.3.3",
    "polars==2.1.0",
    "mlflow==3.17.2",
    "scipy==1.17.1",
]
"""Explicit: inferred requirements name a torch build (``+cpu``) pip cannot find."""
ARTIFACT_PATH = "recommender"
DEFAULT_K = 10
SERVING_FILES = ("serving.npz", "ranker.txt", "ranker.json")


@dataclass
class ServingExtras:
    """What serving needs besides retrieval, all by catalogue position.

    Attributes:
        ranker_model: The LightGBM re-ranker as text (``Booster.model_to_string``), or
            ``None`` when training ran without the feature store.
        ranker_features: The re-ranker's feature columns, in order.
        candidates: How many top items each generator contributes.
        generators: Sparse item x item scorers by name (``itemknn`` co-occurrence,
            ``ease`` with each row's largest weights): a history's scores are the sum
            of its items' rows.
        similar_items: (n, m) each item's most similar items (co-views blended with
            item vectors), best first.
        similar_scores: (n, m) their scores.
        bought_together: Sparse (a, b) -> P(b | a) over rules passing every threshold.
        item_popularity: Purchases then views per item (category backfill).
        purchases: Each shopper's purchased item positions with their times
            (seconds since the epoch), oldest first.
    """

    ranker_model: str | None
    ranker_features: list[str]
    candidates: dict[str, int]
    generators: dict[str, sp.csr_matrix]
    similar_items: np.ndarray
    similar_scores: np.ndarray
    bought_together: sp.csr_matrix
    item_popularity: np.ndarray
    purchases: dict[str, tuple[np.ndarray, np.ndarray]]

    def save(self, folder: Path) -> dict[str, str]:
        """Write ``serving.npz`` and the ranker files; returns them by name."""
        arrays: dict[str, np.ndarray] = {
            "similar_items": self.similar_items,
            "similar_scores": self.similar_scores,
            "item_popularity": self.item_popularity,
        }
        for name, matrix in {**self.generators, "bought_together": self.bought_together}.items():
            matrix = matrix.tocsr().astype(np.float32)
            arrays |= {f"{name}.data": matrix.data, f"{name}.indices": matrix.indices}
            arrays |= {f"{name}.indptr": matrix.indptr, f"{name}.shape": np.array(matrix.shape)}
        users = list(self.purchases)
        arrays["purchase_users"] = np.array(users, dtype=str)
        arrays["purchase_lengths"] = np.array([len(self.purchases[u][0]) for u in users])
        for k, name in enumerate(("purchase_items", "purchase_times")):
            parts = [self.purchases[u][k] for u in users]
            arrays[name] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        np.savez_compressed(folder / "serving.npz", **arrays)
        (folder / "ranker.txt").write_text(self.ranker_model or "")
        meta = {
            "features": self.ranker_features,
            "candidates": self.candidates,
            "generators": sorted(self.generators),
        }
        (folder / "ranker.json").write_text(json.dumps(meta))
        return {name: str(folder / name) for name in SERVING_FILES}

    @classmethod
    def load(cls, paths: dict[str, str]) -> ServingExtras:
        """Read what :meth:`save` wrote (paths by file name)."""
        data = np.load(paths["serving.npz"], allow_pickle=False)
        meta = json.loads(Path(paths["ranker.json"]).read_text())

        def matrix(name: str) -> sp.csr_matrix:
            shape = tuple(int(x) for x in data[f"{name}.shape"])
            parts = (data[f"{name}.data"], data[f"{name}.indices"], data[f"{name}.indptr"])
            return sp.csr_matrix(parts, shape=shape)

        ends = np.cumsum(data["purchase_lengths"])
        items, times = data["purchase_items"].astype(np.int64), data["purchase_times"]
        purchases = {
            str(user): (items[end - n : end], times[end - n : end])
            for user, end, n in zip(
                data["purchase_users"], ends, data["purchase_lengths"], strict=True
            )
        }
        text = Path(paths["ranker.txt"]).read_text()
        return cls(
            ranker_model=text or None,
            ranker_features=list(meta["features"]),
            candidates={k: int(v) for k, v in meta["candidates"].items()},
            generators={name: matrix(name) for name in meta["generators"]},
            similar_items=data["similar_items"],
            similar_scores=data["similar_scores"],
            bought_together=matrix("bought_together"),
            item_popularity=data["item_popularity"],
            purchases=purchases,
        )


def _save_bundle(
    folder: Path,
    sequential: SequentialRecommender,
    popularity: np.ndarray,
    histories: dict[str, np.ndarray],
) -> dict[str, str]:
    """Write the artifacts; returns them by name for ``log_model``."""
    cat = sequential.catalogue
    users = list(histories)
    lengths = np.array([len(histories[u]) for u in users], dtype=np.int64)
    np.savez_compressed(
        folder / "bundle.npz",
        item_ids=cat.item_ids.astype(str),
        category=cat.category,
        category_names=cat.category_names.astype(str),
        price_bucket=cat.price_bucket,
        first_seen=cat.first_seen,
        popularity=popularity,
        user_ids=np.array(users, dtype=str),
        history_lengths=lengths,
        history_items=np.concatenate([histories[u] for u in users]) if users else np.zeros(0),
    )
    torch.save(sequential.model.state_dict(), folder / "sequential.pt")
    (folder / "sequential.json").write_text(sequential.cfg.model_dump_json())
    return {name: str(folder / name) for name in ("bundle.npz", "sequential.pt", "sequential.json")}


class RecommenderModel(mlflow.pyfunc.PythonModel):
    """Pyfunc wrapper: see the module docstring for the input and output frames."""

    def load_context(self, context: Any) -> None:
        data = np.load(context.artifacts["bundle.npz"], allow_pickle=False)
        catalogue = Catalogue(
            item_ids=data["item_ids"],
            category=data["category"],
            category_names=data["category_names"],
            price_bucket=data["price_bucket"],
            first_seen=data["first_seen"],
        )
        cfg = SequentialConfig.model_validate_json(
            Path(context.artifacts["sequential.json"]).read_text()
        )
        self.popularity = data["popularity"]
        self.sequential = SequentialRecommender(catalogue, cfg, self._popular)
        self.sequential.model.load_state_dict(torch.load(context.artifacts["sequential.pt"]))
        self.sequential.model.eval()
        self.index = {item: k for k, item in enumerate(catalogue.item_ids)}
        ends = np.cumsum(data["history_lengths"])
        items = data["history_items"].astype(np.int64)
        self.histories = {
            user: items[end - length : end]
            for user, end, length in zip(
                data["user_ids"], ends, data["history_lengths"], strict=True
            )
        }
        vectors = self.sequential.item_embeddings()
        self.item_vectors = vectors
        self.extras = (
            ServingExtras.load(context.artifacts)
            if all(name in context.artifacts for name in SERVING_FILES)
            else None
        )
        self.unit_vectors = vectors / np.maximum(
            np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9
        )

    def _popular(self, histories: list[np.ndarray]) -> np.ndarray:
        return np.tile(self.popularity, (len(histories), 1))

    def _history(self, row: dict[str, Any]) -> np.ndarray:
        known = self.histories.get(str(row.get("user_id")), np.zeros(0, dtype=np.int64))
        given = row.get("history")
        extra = [self.index[i] for i in (given if given is not None else []) if i in self.index]
        return np.concatenate([known, np.asarray(extra, dtype=np.int64)])

    def _answer(self, scores: np.ndarray, k: int, strategy: str, skip: int | None = None) -> dict:
        if skip is not None:
            scores = scores.copy()
            scores[skip] = -np.inf
        top = np.argsort(-scores)[:k]
        return {
            "item_ids": [str(self.sequential.catalogue.item_ids[i]) for i in top],
            "scores": [float(scores[i]) for i in top],
            "strategy": strategy,
        }

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        answers = []
        for row in model_input.to_dict("records"):
            k = int(row.get("k") or DEFAULT_K)
            item = row.get("item_id")
            if isinstance(item, str) and item:
                if item not in self.index:
                    answers.append(self._answer(self.popularity, k, "popularity"))
                    continue
                i = self.index[item]
                answers.append(
                    self._answer(
                        self.unit_vectors @ self.unit_vectors[i], k, "similar_items", skip=i
                    )
                )
                continue
            history = self._history(row)
            if len(history) == 0:
                answers.append(self._answer(self.popularity, k, "popularity"))
            else:
                scores = self.sequential.score([history])[0]
                answers.append(self._answer(scores, k, "sequential"))
        return pd.DataFrame(answers)


def log_recommender(
    sequential: SequentialRecommender,
    popularity: np.ndarray,
    histories: dict[str, np.ndarray],
    extras: ServingExtras | None = None,
) -> str:
    """Log the pyfunc model into the active run; returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _save_bundle(Path(tmp), sequential, popularity, histories)
        if extras is not None:
            artifacts |= extras.save(Path(tmp))
        info = mlflow.pyfunc.log_model(
            name=ARTIFACT_PATH,
            python_model=RecommenderModel(),
            artifacts=artifacts,
            pip_requirements=PIP_REQUIREMENTS,
        )
    return info.model_uri
