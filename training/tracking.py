"""MLflow set-up shared by every training: where runs go, and plots as files."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow

from storefront.config import PROJECT_ROOT
from storefront.plots import plt

__all__ = ["plt", "tracking_uri", "use_experiment"]


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
