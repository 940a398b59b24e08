"""The recommender as an MLflow pyfunc model: retrieval for serving and for the registry.

The package holds the sequential model's weights and configuration, the catalogue's
side features, recent popularity and each known shopper's recent items as of training.
``predict`` takes a frame with any of ``user_id``, ``history`` (item ids, oldest first),
``item_id`` (ask for items similar to it) and ``k``, and answers per row with
``item_ids``, ``scores`` and the ``strategy`` used: ``sequential`` (a shopper with
history), ``popularity`` (cold start), or ``similar_items`` (item vectors, which carry
category and price, so new items are covered).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
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
]
"""Explicit: inferred requirements name a torch build (``+cpu``) pip cannot find."""
ARTIFACT_PATH = "recommender"
DEFAULT_K = 10


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
) -> str:
    """Log the pyfunc model into the active run; returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _save_bundle(Path(tmp), sequential, popularity, histories)
        info = mlflow.pyfunc.log_model(
            name=ARTIFACT_PATH,
            python_model=RecommenderModel(),
            artifacts=artifacts,
            pip_requirements=PIP_REQUIREMENTS,
        )
    return info.model_uri
