"""MLflow tracking of recommender trainings: metrics and plots."""

from __future__ import annotations

from typing import Any

import mlflow

from training.tracking import plt

__all__ = ["log_plots", "log_results", "metric_key"]


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
