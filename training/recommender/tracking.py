"""MLflow tracking of recommender trainings: metrics grouped for the run page, and plots.

Metric names (``/`` groups them in the MLflow UI):

* ``test/<metric>``: the served model's figures on the test window (``test/ndcg_at_10``);
* ``slice/<slice>/<metric>``: its cold-shopper and new-item slices
  (``slice/cold_users/ndcg_at_10``, ``slice/new_items/recall_at_20``);
* ``model/<name>/<metric>``: every model's figures, slices included;
* ``item2item/<kind>/<metric>``, ``train_seconds/<name>``, ``curve/sequential/<name>``.
"""

from __future__ import annotations

from typing import Any

import mlflow

from training.tracking import plt

__all__ = ["SLICES", "log_plots", "log_results", "metric_key", "metric_name"]
SLICES = ("cold_users", "new_items")
"""Slices of the evaluation (``cold_users.ndcg@10``)."""


def metric_name(name: str) -> str:
    """MLflow-safe, grouped metric name (``cold_users.ndcg@10`` -> ``cold_users/ndcg_at_10``)."""
    return name.replace("@", "_at_").replace(".", "/")


def metric_key(group: str, name: str) -> str:
    """``group/<metric_name(name)>`` (``model/ease`` + ``ndcg@10`` -> ``model/ease/ndcg_at_10``)."""
    return f"{group}/{metric_name(name)}"


def headline_key(name: str) -> str:
    """The served model's key of metric ``name``: ``test/…`` overall, ``slice/…`` by slice."""
    if name.split(".", 1)[0] in SLICES:
        return metric_key("slice", name)
    return metric_key("test", name)


def log_results(results: dict[str, dict[str, float]], served: str | None = None) -> None:
    """Every model's metrics under ``model/<name>/``, and the served model's (``served``)
    also under ``test/`` and ``slice/``."""
    metrics = {
        metric_key(f"model/{model}", k): v
        for model, values in results.items()
        for k, v in values.items()
    }
    if served in results:
        metrics |= {headline_key(k): v for k, v in results[served].items()}
    mlflow.log_metrics(metrics)


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
