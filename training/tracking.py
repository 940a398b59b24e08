"""MLflow set-up shared by every training and promotion: where runs go, what an
experiment says it is, and runs that are named, tagged, fed and always closed.

Every run of a model family goes through :func:`tracked_run`, which names it
``<family> · <data source> · <local time>``, tags it (:func:`run_tags`) and ends it
``FINISHED``, ``FAILED`` (an exception) or ``KILLED`` (Ctrl-C), so no run stays
``RUNNING``. Metric names use ``/`` so the MLflow UI groups them (``test/…``,
``slice/…``, ``model/<name>/…``, ``curve/…``); training curves are step metrics
(:func:`log_curve`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import mlflow
import polars as pl
from mlflow import MlflowClient
from mlflow.entities import Metric
from pydantic import BaseModel

from storefront.config import PROJECT_ROOT
from storefront.plots import plt
from storefront.workspace import workspace

__all__ = [
    "FAMILY_TAG",
    "config_hash",
    "data_source",
    "day_range",
    "git_commit",
    "log_curve",
    "log_dataset",
    "plt",
    "run_name",
    "run_tags",
    "tracked_run",
    "tracking_uri",
    "use_experiment",
]

FAMILY_TAG = "storefront.family"
"""Run and registered-model tag: ``recommender``, ``demand``, ``elasticity`` or
``promotion``."""
DATA_DIR_TAG = "storefront.data_dir"
EXPERIMENT_KIND = "mlflow.experimentKind"
CLASSIC_ML = "custom_model_development"
"""The experiment kind that makes the MLflow UI open an experiment on its runs (not on
the GenAI overview)."""
NOTE = "mlflow.note.content"
SIMULATOR_MARK = "ground_truth.npz"
"""Side file of a simulated shop's feeds (the simulator's truth)."""
METRICS_PER_BATCH = 1000

DESCRIPTIONS = {
    "recommender": "Recommender trainings (`storefront train recommender`): every model "
    "judged on the same test window by full ranking. `test/…` are the served (final) "
    "model's figures, `slice/…` its cold-shopper and new-item slices, `model/<name>/…` "
    "every model's, `curve/…` training curves by epoch or round.",
    "demand": "Demand model trainings (`storefront train demand`): the global LightGBM "
    "model judged on the last horizon (`test/…`) against seasonal naive "
    "(`baseline/…`); `curve/…` its loss by boosting round.",
    "elasticity": "Price-elasticity estimations (`storefront train elasticity`): "
    "`estimates/…` summarise the per-item table pricing reads (registered as "
    "`storefront-elasticity`).",
    "promotions": "`storefront models promote`: challenger against champion on the same "
    "fresh holdout; one metric per gate check (`champion/…`, `challenger/…`, `bound/…`, "
    "`passed/…`).",
}


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


def use_experiment(uri: str | None, experiment: str, description: str | None = None) -> None:
    """Point MLflow at the store and experiment; the experiment is described (its
    ``mlflow.note.content``) and marked a classic-ML one so the UI opens on its runs.

    Args:
        uri: Tracking URI (default :func:`tracking_uri`).
        experiment: Experiment name (made when missing).
        description: Markdown shown on the experiment page (default: the family's from
            :data:`DESCRIPTIONS`, when the name is one of them).
    """
    resolved = tracking_uri(uri)
    mlflow.set_tracking_uri(resolved)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        experiment_id = mlflow.create_experiment(
            experiment, artifact_location=_artifact_location(resolved)
        )
        tags: dict[str, str] = {}
    else:
        experiment_id, tags = found.experiment_id, dict(found.tags)
    mlflow.set_experiment(experiment_id=experiment_id)
    note = description or DESCRIPTIONS.get(experiment)
    wanted = {EXPERIMENT_KIND: CLASSIC_ML} | ({NOTE: note} if note else {})
    for key, value in wanted.items():
        if tags.get(key) != value:
            mlflow.set_experiment_tag(key, value)


def git_commit() -> str:
    """The checkout's short commit, or ``unknown`` (no git, not a checkout)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
            text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def config_hash(cfg: BaseModel) -> str:
    """First 12 hex digits of the SHA-256 of the validated configuration's JSON."""
    text = json.dumps(cfg.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def data_source(data_dir: Path) -> str:
    """What the shop's feeds came from: ``simulator`` (its truth file lies beside the
    feeds), else the shop folder's name."""
    shop = workspace(data_dir)
    return "simulator" if shop.feed_file(SIMULATOR_MARK).exists() else shop.root.name


def run_name(family: str, data_dir: Path, when: dt.datetime | None = None) -> str:
    """``recommender · simulator · 2026-12-01 20:31`` (local time, to the minute)."""
    moment = (when or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    return f"{family} · {data_source(data_dir)} · {moment}"


def day_range(frame: pl.DataFrame | None, column: str) -> tuple[str, str] | None:
    """First and last day of ``column`` (a date or timestamp column), ISO dates."""
    if frame is None or frame.is_empty() or column not in frame.columns:
        return None
    values = frame.select(pl.col(column).min().alias("a"), pl.col(column).max().alias("b")).row(0)
    days = [v.date() if isinstance(v, dt.datetime) else v for v in values]
    return str(days[0]), str(days[1])


def run_tags(
    family: str, data_dir: Path, cfg: BaseModel, days: tuple[str, str] | None
) -> dict[str, str]:
    """The tags of every training run: family, git commit, data folder, config hash and
    the feed's first and last day."""
    tags = {
        FAMILY_TAG: family,
        "git_commit": git_commit(),
        DATA_DIR_TAG: str(workspace(data_dir).root),
        "data_source": data_source(data_dir),
        "config_hash": config_hash(cfg),
    }
    if days is not None:
        tags |= {"feed_first_day": days[0], "feed_last_day": days[1],
                 "feed_days": f"{days[0]} → {days[1]}"}  # fmt: skip
    return tags


@contextmanager
def tracked_run(
    name: str, tags: Mapping[str, str] | None = None, nested: bool | None = None
) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run that always ends: ``FINISHED`` when the block completes, ``FAILED``
    when it raises, ``KILLED`` on ``KeyboardInterrupt`` (re-raised either way).

    Args:
        name: The run's name (:func:`run_name`).
        tags: Run tags (:func:`run_tags`).
        nested: A child of the active run (a retrain's step), else a top-level run;
            ``None`` (default): a child when a run is active (a training or promotion
            run inside ``storefront retrain``), else top-level.

    Yields:
        The active run.
    """
    child = mlflow.active_run() is not None if nested is None else nested
    run = mlflow.start_run(run_name=name, tags=dict(tags or {}), nested=child)
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        _end(run.info.run_id, status)


def _end(run_id: str, status: str) -> None:
    """End ``run_id`` (and any run left open inside it) with ``status``."""
    while (active := mlflow.active_run()) is not None:
        mlflow.end_run(status=status)
        if active.info.run_id == run_id:
            return
    MlflowClient().set_terminated(run_id, status)


def log_dataset(
    frame: pl.DataFrame, source: Path, context: str, name: str, targets: str | None = None
) -> None:
    """Log ``frame`` as an input dataset of the active run.

    Args:
        frame: The rows the run used.
        source: The file or folder they were read from (a feed, a feature table).
        context: ``training``, ``validation`` or ``test``.
        name: Dataset name shown in the UI (``events``, ``demand``).
        targets: The label column, if any.
    """
    from mlflow.data.sources import LocalArtifactDatasetSource  # made when mlflow.data loads

    origin = LocalArtifactDatasetSource(str(Path(source).resolve()))
    dataset = mlflow.data.from_polars(frame, source=origin, name=name, targets=targets)
    mlflow.log_input(dataset, context=context)


def log_curve(curves: Mapping[str, Sequence[float]], start: int = 1) -> None:
    """Log each curve as one step metric (step ``start`` for the first value) into the
    active run, in batches (``{"curve/sequential/loss": [...]}``)."""
    run = mlflow.active_run()
    assert run is not None, "log_curve needs an active run"
    now = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), now, step)
        for key, values in curves.items()
        for step, value in enumerate(values, start=start)
        if value == value  # NaN rounds are left out
    ]
    client = MlflowClient()
    for first in range(0, len(metrics), METRICS_PER_BATCH):
        client.log_batch(run.info.run_id, metrics=metrics[first : first + METRICS_PER_BATCH])
