"""MLflow tracking of recommender trainings: params, metrics and plots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib
import mlflow

from storefront.config import PROJECT_ROOT

matplotlib.use("Agg")  # plots are files, never windows
from matplotlib import pyplot as plt


def tracking_uri(configured: str | None) -> str:
    """The configured URI, else ``$MLFLOW_TRACKING_URI``, else ``mlflow.db`` in the project."""
    return (
        configured
        or os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"
    )


def _artifact_location(uri: str) -> str | None:
    """A SQLite store keeps artifacts in ``mlruns/`` beside the database file (not in
    whatever folder the command runs from); servers choose their own."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri()
    return None


def use_experiment(uri: str | None, experiment: str) -> None:
    """Point MLflow at the store and experiment."""
    resolved = tracking_uri(uri)
    mlflow.set_tracking_uri(resolved)
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=_artifact_location(resolved))
    mlflow.set_experiment(experiment)


def metric_key(model: str, name: str) -> str:
    """MLflow-safe metric name (``ease.ndcg@10`` -> ``ease.ndcg_at_10``)."""
    return f"{model}.{name}".replace("@", "_at_")


def log_results(results: dict[str, dict[str, float]]) -> None:
    """Every model's metrics, prefixed by the model's name."""
    mlflow.log_metrics(
        {metric_key(model, k): v for model, metrics in results.items() for k, v in metrics.items()}
    )


def _by_k(results: dict[str, dict[str, float]], metric: str, ks: list[int]) -> Any:
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, metrics in results.items():
        ax.plot(
            ks, [metrics.get(f"{metric}@{k}", float("nan")) for k in ks], marker="o", label=model
        )
    ax.set_xlabel("K")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by K (test window, full ranking)")
    ax.legend()
    fig.tight_layout()
    return fig


def _slices(results: dict[str, dict[str, float]], metric: str) -> Any:
    fig, ax = plt.subplots(figsize=(7, 4))
    models = list(results)
    slices = [("all", ""), ("cold shoppers", "cold_users."), ("new items", "new_items.")]
    width = 0.8 / len(slices)
    for k, (label, prefix) in enumerate(slices):
        values = [results[m].get(f"{prefix}{metric}", 0.0) for m in models]
        ax.bar([i + k * width for i in range(len(models))], values, width, label=label)
    ax.set_xticks([i + width for i in range(len(models))], models)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: all vs cold shoppers vs new items")
    ax.legend()
    fig.tight_layout()
    return fig


def log_plots(results: dict[str, dict[str, float]], ks: list[int]) -> None:
    """Metric-by-K curves, coverage, and cold vs warm slices, as run artifacts."""
    for name, fig in (
        ("ndcg_by_k.png", _by_k(results, "ndcg", ks)),
        ("recall_by_k.png", _by_k(results, "recall", ks)),
        ("coverage_by_k.png", _by_k(results, "coverage", ks)),
        ("cold_vs_warm.png", _slices(results, "recall@20")),
    ):
        mlflow.log_figure(fig, f"plots/{name}")
        plt.close(fig)
